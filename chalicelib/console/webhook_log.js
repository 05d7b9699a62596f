// One endpoint: its actions (test ping, rotate the secret, enable or disable, delete after a confirmation) and its
// delivery log, newest first and paged, each delivery with its latest attempt (status, latency, response excerpt)
// and every earlier attempt on demand; redeliver one, or recover every failed delivery since a time.
import { api } from "./api.js";
import { h, field, render, confirmDialog } from "./dom.js";
import { showProblem, clearProblem, navigate } from "./app.js";
import { secretOnce } from "./webhooks.js";

const PAGE_SIZE = 20;

function when(iso) {
  return iso ? `${new Date(iso).toISOString().slice(0, 19).replace("T", " ")} UTC` : "";
}

function attemptText(a) {
  const answer = a.status_code ? `HTTP ${a.status_code}` : a.error || "no answer";
  return `#${a.attempt} ${when(a.at)} (${a.trigger}): ${answer} in ${Math.round(a.latency_ms)} ms`;
}

function excerpt(a) {
  return a.response_excerpt ? h("pre", { class: "excerpt", "aria-label": `Response to attempt ${a.attempt}` }, a.response_excerpt) : null;
}

function attemptItem(a) {
  return h("li", { class: "attempt", "data-attempt": a.attempt }, h("span", { class: "attempt-line" }, attemptText(a)), excerpt(a));
}

function deliveryItem(path, d, act) {
  const every = h("details", { class: "attempts" }, h("summary", {}, `Every attempt of ${d.event_type} (${d.attempt_count})`));
  const list = h("ol", {}, h("li", {}, "Loading…"));
  every.append(list);
  every.addEventListener("toggle", async () => {
    if (!every.open || every.dataset.loaded) return;
    try {
      const detail = await api(`${path}/deliveries/${encodeURIComponent(d.delivery_id)}`);
      render(list, detail.attempts.map(attemptItem));
      every.dataset.loaded = "true";
    } catch (err) {
      render(list);
      showProblem(err);
    }
  });
  const last = d.last_attempt;
  return h(
    "li",
    { class: "card delivery", "data-delivery": d.delivery_id, "data-status": d.status },
    h("h3", {}, h("code", {}, d.event_type), " ", h("span", { class: `state state-${d.status}` }, d.status)),
    h("p", { class: "meta" }, `${when(d.created_at)} · ${d.attempt_count} attempt${d.attempt_count === 1 ? "" : "s"}`),
    last ? h("p", { class: "last-attempt" }, `Last: ${attemptText(last)}`) : h("p", { class: "meta" }, "Not attempted yet."),
    last ? excerpt(last) : null,
    d.reason ? h("p", { class: "meta" }, `Why: ${d.reason}`) : null,
    d.attempt_count > 1 ? every : null,
    h("div", { class: "actions" }, h("button", { type: "button", name: "redeliver", onclick: () => act(`Redelivery of ${d.delivery_id} queued`, () => api(`${path}/deliveries/${encodeURIComponent(d.delivery_id)}/redeliver`, { method: "POST" })) }, `Redeliver ${d.event_type}`)),
  );
}

function recoverForm(path, act) {
  const since = h("input", { type: "text", name: "since", required: true, autocomplete: "off", value: new Date(Date.now() - 86400000).toISOString().slice(0, 16) + "Z" });
  const form = h(
    "form",
    { class: "recover", "aria-label": "Recover failed deliveries" },
    field("Failed deliveries since", since, "A UTC time such as 2026-12-01T09:00Z; every failed delivery since then is sent again."),
    h("button", { type: "submit" }, "Recover failed deliveries"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const at = new Date(since.value.trim());
    if (Number.isNaN(at.getTime())) {
      const error = form.querySelector(".field-error");
      error.textContent = "Not a time: write it as 2026-12-01T09:00Z.";
      error.hidden = false;
      since.setAttribute("aria-invalid", "true");
      return;
    }
    since.removeAttribute("aria-invalid");
    form.querySelector(".field-error").hidden = true;
    act(null, async () => {
      const result = await api(`${path}/recover`, { method: "POST", body: { since: at.toISOString() } });
      return `Recovery queued ${result.queued} failed deliver${result.queued === 1 ? "y" : "ies"} again.`;
    });
  });
  return form;
}

export async function webhookLogView(container, webhookId, params) {
  const path = `/api/webhooks/${encodeURIComponent(webhookId)}`;
  const limit = Math.min(Math.max(Number(params.get("limit")) || PAGE_SIZE, 1), 100);
  const tokens = [null];
  const status = h("p", { class: "status", role: "status", id: "log-status" });
  const secretSlot = h("div", {});
  const head = h("div", { class: "webhook-head" });
  const log = h("div", { id: "deliveries", "aria-busy": "true" });
  const pager = h("nav", { class: "pager", "aria-label": "Delivery log pages" });

  // An action, then the endpoint and the log as they are now; the action's own message (or its result) is said.
  async function act(message, fn) {
    try {
      const said = await fn();
      clearProblem();
      await load();
      status.textContent = typeof said === "string" ? said : `${message}.`;
    } catch (err) {
      showProblem(err);
    }
  }

  function header(hook) {
    const toggle =
      hook.state === "enabled"
        ? h("button", { type: "button", name: "disable", onclick: () => act("Disabled", () => api(`${path}/disable`, { method: "POST" })) }, "Disable")
        : h("button", { type: "button", name: "enable", onclick: () => act("Enabled", () => api(`${path}/enable`, { method: "POST" })) }, "Enable");
    const ping = async () => {
      const result = await api(`${path}/test`, { method: "POST" });
      const a = result.attempts[result.attempts.length - 1];
      return `Test ping ${result.status}: ${attemptText(a)}.`;
    };
    const rotate = async () => {
      const rotated = await api(`${path}/rotate-secret`, { method: "POST" });
      render(secretSlot, rotated.secret ? secretOnce("New signing secret", rotated.secret) : h("p", { class: "card secret" }, `Receivers now verify with the public key ${rotated.public_key}.`));
      return `Secret rotated: the previous one keeps signing beside it until ${when(rotated.overlap_until)}.`;
    };
    const remove = async () => {
      if (!(await confirmDialog(`Delete the endpoint ${hook.url}? Nothing more is sent to it, and its delivery log goes with it.`, "Delete"))) return;
      try {
        await api(path, { method: "DELETE" });
        navigate("#/webhooks");
      } catch (err) {
        showProblem(err);
      }
    };
    return [
      h("h1", {}, hook.url),
      h("p", {}, "State: ", h("span", { class: `state state-${hook.state}`, "data-state": hook.state }, hook.state)),
      hook.disabled_reason ? h("p", { class: "meta" }, `Why: ${hook.disabled_reason}`) : null,
      h("p", { class: "meta" }, `Event types: ${hook.event_types.join(", ")}`),
      hook.description ? h("p", {}, hook.description) : null,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "primary", name: "ping", onclick: () => act(null, ping) }, "Send test ping"),
        h("button", { type: "button", name: "rotate", onclick: () => act(null, rotate) }, "Rotate secret"),
        toggle,
        h("button", { type: "button", class: "danger", name: "delete", onclick: remove }, "Delete"),
      ),
    ];
  }

  async function load() {
    log.setAttribute("aria-busy", "true");
    const page = tokens.length - 1;
    const [hook, deliveries] = await Promise.all([
      api(path),
      api(`${path}/deliveries`, { query: { limit, next_token: tokens[page] } }),
    ]);
    render(head, header(hook));
    render(
      log,
      deliveries.items.length
        ? h("ul", { class: "deliveries", "aria-label": "Deliveries, newest first" }, deliveries.items.map((d) => deliveryItem(path, d, act)))
        : h("p", { class: "empty" }, "Nothing has been delivered to this endpoint yet."),
    );
    const turn = (fn) => () => {
      fn();
      act("Page loaded", () => null);
    };
    render(
      pager,
      h("button", { type: "button", name: "previous", disabled: page === 0, onclick: turn(() => tokens.pop()) }, "Previous page"),
      h("span", { class: "page-number" }, `Page ${page + 1}`),
      h("button", { type: "button", name: "next", disabled: !deliveries.next_token, onclick: turn(() => tokens.push(deliveries.next_token)) }, "Next page"),
      h("button", { type: "button", name: "refresh", onclick: () => act("Delivery log refreshed", () => null) }, "Refresh"),
    );
    log.setAttribute("aria-busy", "false");
  }

  render(
    container,
    h("p", {}, h("a", { href: "#/webhooks" }, "All endpoints")),
    head,
    status,
    secretSlot,
    h("h2", {}, "Delivery log"),
    recoverForm(path, act),
    log,
    pager,
  );
  await load();
}
