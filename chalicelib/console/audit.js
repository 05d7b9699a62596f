// The audit view: the workspace's audit records, filtered by the API's own filters (actor, action, target, a
// time window) and paged, newest first; "Verify the chain" shows what GET /api/audit/verify answers.
import { api } from "./api.js";
import { h, field, render } from "./dom.js";
import { showProblem, clearProblem, navigate } from "./app.js";

const PAGE_SIZE = 25;
const FILTERS = ["actor", "action", "target", "since", "until"];
const LABELS = { actor: "Actor", action: "Action", target: "Target", since: "From (UTC)", until: "To (UTC)" };
const HINTS = {
  actor: "key:… or operator",
  action: "e.g. plugin.install",
  target: "an id, or plugin@version",
  since: "2026-12-01T10:00:00Z",
  until: "2026-12-01T18:00:00Z",
};
// Survives leaving the view: coming back shows the same filters and page.
const state = { filters: {}, limit: PAGE_SIZE, tokens: [null] };

// The filters live in the address (#/audit?actor=…&since=…): bookmarkable, Back works, a record's actor,
// action or target is a link to the log filtered by it.
function paramsToState(params) {
  const filters = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || ""]).filter(([, v]) => v));
  const limit = Number(params.get("limit"));
  const next = Number.isInteger(limit) && limit >= 1 && limit <= 100 ? limit : PAGE_SIZE;
  if (JSON.stringify(filters) !== JSON.stringify(state.filters) || next !== state.limit) state.tokens = [null];
  state.filters = filters;
  state.limit = next;
}

function address(filters) {
  const params = new URLSearchParams(filters);
  if (state.limit !== PAGE_SIZE) params.set("limit", String(state.limit));
  const query = params.toString();
  return `#/audit${query ? `?${query}` : ""}`;
}

function filterLink(name, value) {
  return h("a", { href: address({ ...state.filters, [name]: value }), title: `Only records with this ${name}` }, value);
}

// A record's detail in words: "version: 1.3.0 · granted: ai:complete, tasks:read".
function detailText(detail) {
  const shown = (value) => (Array.isArray(value) ? value.map(shown).join(", ") || "none" : value !== null && typeof value === "object" ? JSON.stringify(value) : String(value));
  return Object.entries(detail || {}).map(([key, value]) => `${key}: ${shown(value)}`).join(" · ");
}

function recordRow(rec) {
  const detail = detailText(rec.detail);
  return h(
    "tr",
    { "data-seq": rec.seq, class: `outcome-${rec.outcome}` },
    h("td", { "data-label": "Seq" }, String(Number(rec.seq))),
    h("td", { "data-label": "Time (UTC)" }, h("time", { datetime: rec.time }, rec.time.replace("T", " ").slice(0, 19))),
    h("td", { "data-label": "Actor", class: "wrap" }, filterLink("actor", rec.actor)),
    h("td", { "data-label": "Action" }, filterLink("action", rec.action)),
    h("td", { "data-label": "Target", class: "wrap" }, rec.target ? filterLink("target", rec.target) : "—"),
    h("td", { "data-label": "Outcome" }, h("span", { class: `outcome ${rec.outcome}` }, rec.outcome)),
    h("td", { "data-label": "Detail", class: "wrap" }, detail ? h("span", { class: "detail" }, detail) : "—"),
  );
}

function recordsTable(items) {
  return h(
    "table",
    { class: "audit-log" },
    h("caption", {}, "Audit records, newest first"),
    h("thead", {}, h("tr", {}, ["Seq", "Time (UTC)", "Actor", "Action", "Target", "Outcome", "Detail"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, items.map(recordRow)),
  );
}

// Walks the whole chain: a long log is verified in parts, each call continuing where the last stopped.
async function verifyChain(result, button) {
  button.disabled = true;
  result.className = "verify-result";
  result.textContent = "Verifying the chain…";
  try {
    let answer = await api("/api/audit/verify");
    let checked = answer.checked;
    while (answer.ok && !answer.complete && answer.next_token) {
      result.textContent = `Verifying the chain… ${checked} records checked so far.`;
      answer = await api("/api/audit/verify", { query: { next_token: answer.next_token } });
      checked = answer.checked;
    }
    result.dataset.ok = String(answer.ok);
    if (answer.ok) {
      result.className = "verify-result ok";
      render(result, h("strong", {}, "✓ The chain is intact."), ` ${checked} records checked, none modified, reordered or missing.`);
    } else {
      result.className = "verify-result broken";
      render(
        result,
        h("strong", {}, answer.first_bad_seq ? `✗ The chain breaks at record ${Number(answer.first_bad_seq)}.` : "✗ The chain is broken."),
        " ",
        h("span", { class: "reason" }, answer.reason || ""),
        ` (${checked} records checked before it.)`,
      );
      if (answer.first_bad_seq) result.dataset.firstBadSeq = answer.first_bad_seq;
    }
  } catch (err) {
    result.textContent = "";
    showProblem(err);
  } finally {
    button.disabled = false;
  }
}

let mounted = null;

export async function auditView(container, params) {
  paramsToState(params);
  if (mounted && container.contains(mounted.form)) return mounted.refresh(); // same view: keep focus where it is
  const inputs = Object.fromEntries(
    FILTERS.map((k) => [k, h("input", { type: "text", name: k, autocomplete: "off", spellcheck: "false" })]),
  );
  const form = h(
    "form",
    { class: "filters audit-filters", role: "search", "aria-label": "Filter the audit log" },
    FILTERS.map((k) => field(LABELS[k], inputs[k], HINTS[k])),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Filter"), h("a", { href: "#/audit", class: "clear" }, "Clear filters")),
  );
  const results = h("div", { id: "audit-results", "aria-live": "polite", "aria-busy": "true" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  const verifyButton = h("button", { type: "button", name: "verify" }, "Verify the chain");
  const verifyResult = h("p", { class: "verify-result", id: "verify-result", role: "status" });
  verifyButton.addEventListener("click", () => verifyChain(verifyResult, verifyButton));

  let latest = 0; // only the answer to the last request is shown

  async function load() {
    const ticket = ++latest;
    results.setAttribute("aria-busy", "true");
    const page = state.tokens.length - 1;
    try {
      const data = await api("/api/audit", { query: { ...state.filters, limit: state.limit, next_token: state.tokens[page] } });
      if (ticket !== latest) return;
      clearProblem();
      render(results, data.items.length ? recordsTable(data.items) : h("p", { class: "empty" }, "No audit record matches these filters."));
      render(
        pager,
        h("button", { type: "button", name: "previous", disabled: page === 0, onclick: () => { state.tokens.pop(); load(); } }, "Newer records"),
        h("span", { class: "page-number" }, `Page ${page + 1}`),
        h("button", { type: "button", name: "next", disabled: !data.next_token, onclick: () => { state.tokens.push(data.next_token); load(); } }, "Older records"),
      );
    } catch (err) {
      if (ticket !== latest) return;
      render(results, h("p", { class: "empty" }, "The records could not be read (see the message above)."));
      render(pager);
      showProblem(err);
    } finally {
      if (ticket === latest) results.setAttribute("aria-busy", "false");
    }
  }

  function refresh() {
    for (const k of FILTERS) inputs[k].value = state.filters[k] || "";
    return load();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const filters = Object.fromEntries(FILTERS.map((k) => [k, inputs[k].value.trim()]).filter(([, v]) => v));
    navigate(address(filters));
  });

  mounted = { form, refresh };
  render(
    container,
    h("h1", {}, "Audit log"),
    h(
      "p",
      { class: "meta" },
      "Every change in this workspace, who made it and how it ended. Each record carries a keyed hash of its content and of the record before it.",
    ),
    h("div", { class: "verify" }, verifyButton, verifyResult),
    form,
    results,
    pager,
  );
  await refresh();
}
