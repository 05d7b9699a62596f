// Running an installation by hand and reading what it did: a JSON payload checked before it is sent, the
// outcome (the plugin's result or its error, a failure being a status and not an API error), and the
// invocation log (status, duration, CPU, peak memory, log excerpt), newest first, a page at a time.
import { api } from "./api.js";
import { h, field, render } from "./dom.js";
import { showProblem, clearProblem } from "./app.js";

const base = (id) => `/api/installations/${encodeURIComponent(id)}`;
const ms = (n) => `${Math.round(n)} ms`;
const mb = (n) => `${n.toFixed(1)} MB`;

// The message for a payload text, or "" when it is a JSON object (what the API takes).
function payloadProblem(text) {
  if (!text.trim()) return "";
  try {
    const value = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? "" : "Must be a JSON object, like {\"name\": \"world\"}.";
  } catch (err) {
    return `Not valid JSON: ${err.message}`;
  }
}

function outcome(result) {
  const failed = result.status !== "succeeded";
  return h(
    "div",
    { class: `outcome ${failed ? "outcome-failed" : "outcome-ok"}`, "data-status": result.status },
    h("p", {}, h("strong", {}, `Status: ${result.status}`), ` · ${ms(result.duration_ms)} · CPU ${ms(result.cpu_ms)} · peak memory ${mb(result.peak_memory_mb)}`),
    result.error
      ? h("pre", { class: "plugin-error" }, [result.error.type, result.error.message].filter(Boolean).join(": "))
      : h("pre", { class: "plugin-result" }, JSON.stringify(result.result, null, 2)),
  );
}

// ``invoked()`` runs after each answer (the log shows the new invocation).
export function invokeSection(inst, entrypoints, invoked) {
  const names = Object.keys(entrypoints || {});
  const textarea = h("textarea", { name: "payload", rows: 4, spellcheck: "false" }, "{}");
  const entry = names.length > 1 ? h("select", { name: "entrypoint" }, names.map((n) => h("option", { value: n, selected: n === "main" }, n))) : null;
  const wrapper = field("Payload (a JSON object, the event the handler receives)", textarea);
  const slot = wrapper.querySelector(".field-error");
  const result = h("div", { class: "result", "aria-live": "polite" });
  const check = () => {
    const message = payloadProblem(textarea.value);
    slot.textContent = message;
    slot.hidden = !message;
    textarea.setAttribute("aria-invalid", message ? "true" : "false");
    return !message;
  };
  textarea.addEventListener("input", check);
  const form = h(
    "form",
    { class: "card invoke", "aria-labelledby": "invoke-title", novalidate: true },
    h("h2", { id: "invoke-title" }, "Invoke"),
    entry ? field("Entry point", entry) : null,
    wrapper,
    h("button", { type: "submit", class: "primary" }, `Invoke ${inst.plugin_id}`),
    result,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!check()) {
      textarea.focus();
      return;
    }
    const body = { payload: textarea.value.trim() ? JSON.parse(textarea.value) : {} };
    if (entry) body.entrypoint = entry.value;
    try {
      const answer = await api(`${base(inst.installation_id)}/invoke`, { method: "POST", body });
      clearProblem();
      render(result, outcome(answer));
      await invoked();
    } catch (err) {
      showProblem(err);
    }
  });
  return form;
}

function logItem(inv) {
  return h(
    "li",
    { class: "card invocation", "data-invocation": inv.invocation_id, "data-status": inv.status },
    h(
      "p",
      {},
      h("strong", { class: `status-${inv.status}` }, inv.status),
      ` · ${inv.entrypoint} · ${inv.trigger} · `,
      h("time", { datetime: inv.started_at }, inv.started_at.replace("T", " ").slice(0, 19)),
      ` · version ${inv.version}`,
    ),
    h(
      "dl",
      { class: "figures" },
      h("dt", {}, "Duration"),
      h("dd", { "data-figure": "duration" }, ms(inv.duration_ms)),
      h("dt", {}, "CPU"),
      h("dd", { "data-figure": "cpu" }, ms(inv.cpu_ms)),
      h("dt", {}, "Peak memory"),
      h("dd", { "data-figure": "memory" }, mb(inv.peak_memory_mb)),
    ),
    inv.error ? h("p", { class: "plugin-error" }, [inv.error.type, inv.error.message].filter(Boolean).join(": ")) : null,
    inv.log_excerpt ? h("pre", { class: "log", "aria-label": "Log excerpt" }, inv.log_excerpt) : h("p", { class: "meta" }, "No log output."),
  );
}

// The log's pages: the tokens of the pages before the one shown, so Newer needs no extra listing.
// Returns { element, refresh() } where refresh() shows the first page again.
export function logSection(installationId, firstPage, limit) {
  const list = h("div", {});
  const pager = h("div", { class: "pager" });
  const tokens = [null];
  const show = (page, index) => {
    render(
      list,
      page.items.length
        ? h("ol", { class: "invocations", "aria-label": "Invocations, newest first" }, page.items.map(logItem))
        : h("p", { class: "empty" }, index === 0 ? "No invocations yet." : "No older invocations."),
    );
    tokens[index + 1] = page.next_token;
    render(
      pager,
      h("button", { type: "button", name: "newer", disabled: index === 0, onclick: () => go(index - 1) }, "Newer"),
      h("span", { class: "page-number" }, `Page ${index + 1}`),
      h("button", { type: "button", name: "older", disabled: !page.next_token, onclick: () => go(index + 1) }, "Older"),
    );
  };
  async function go(index) {
    try {
      show(await api(`${base(installationId)}/invocations`, { query: { limit, next_token: tokens[index] } }), index);
      clearProblem();
    } catch (err) {
      showProblem(err);
    }
  }
  show(firstPage, 0);
  return {
    element: h("section", { class: "log-section", "aria-labelledby": "log-title" }, h("h2", { id: "log-title" }, "Invocation log"), list, pager),
    refresh: () => go(0),
  };
}
