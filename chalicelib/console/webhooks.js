// The webhook configurator: the workspace's endpoints and the form that registers one, with event types chosen
// from the API's catalog (each type's data schema one click away). A signing secret is shown once, right after
// the call that made it, and is never kept: leaving the view forgets it.
import { api, everyItem } from "./api.js";
import { h, field, render, formatDate, uid } from "./dom.js";
import { showProblem, clearProblem } from "./app.js";

let catalog = null; // the event catalog does not change while the console runs: read once

async function eventCatalog() {
  catalog = catalog || (await api("/api/events/catalog"));
  return catalog;
}

// The secret (or, for an Ed25519 endpoint, nothing to copy) with a copy button; the caller places it on the page.
export function secretOnce(title, secret) {
  const value = h("input", { type: "text", id: "secret-value", readonly: true, value: secret, spellcheck: "false", autocomplete: "off" });
  const said = h("p", { class: "status", role: "status", id: "secret-copied" });
  const copy = async () => {
    try {
      // The Clipboard API where the browser offers it; the older copy command where it does not (WebKit on WPE).
      if (navigator.clipboard) await navigator.clipboard.writeText(secret);
      else if (!(value.select(), document.execCommand("copy"))) throw new Error("the browser refused to copy");
      said.textContent = "Copied to the clipboard.";
    } catch (err) {
      value.select(); // the text is selected for the keyboard instead, and the page says so
      said.textContent = `Not copied (${err.message || err}): the secret is selected, press Ctrl+C.`;
    }
  };
  const box = h(
    "section",
    { class: "card secret", "aria-labelledby": "secret-title" },
    h("h2", { id: "secret-title" }, title),
    h("p", {}, "Store it now in your receiver's configuration: it is shown this once and never again."),
    field("Signing secret", value),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "primary", name: "copy-secret", onclick: copy }, "Copy secret"),
      h("button", { type: "button", name: "secret-done", onclick: () => box.remove() }, "I have stored it"),
    ),
    said,
  );
  return box;
}

function eventTypeChoice(type) {
  const id = uid("evt");
  return h(
    "li",
    { class: "event-type" },
    h("input", { type: "checkbox", name: "event_types", value: type.type, id }),
    " ",
    h("label", { for: id }, h("code", {}, type.type), ` — ${type.description}`),
    h(
      "details",
      { class: "schema" },
      h("summary", {}, `Schema of ${type.type}`),
      h("pre", { tabindex: "0", "aria-label": `JSON Schema of ${type.type}` }, JSON.stringify(type.data_schema, null, 2)),
    ),
  );
}

function registerForm(types, onRegistered) {
  const url = h("input", { type: "url", name: "url", required: true, placeholder: "https://example.com/hooks/plugyard", autocomplete: "off" });
  const description = h("input", { type: "text", name: "description", maxlength: "500" });
  const more = h("input", { type: "text", name: "more_event_types", placeholder: "workspace.deploy.finished", autocomplete: "off" });
  const typesError = h("p", { class: "field-error", id: "event-types-error", hidden: true });
  const form = h(
    "form",
    { class: "card register", "aria-labelledby": "register-title" },
    h("h2", { id: "register-title" }, "Register an endpoint"),
    field("Endpoint URL", url, "Where Plugyard POSTs each event, signed (Standard Webhooks)."),
    h(
      "fieldset",
      { "aria-describedby": "event-types-error" },
      h("legend", {}, "Event types"),
      h("ul", {}, types.map(eventTypeChoice)),
      typesError,
    ),
    field("Other event types", more, "Comma-separated: workspace.<name> or plugin.<plugin_id>.<name>."),
    field("Description", description),
    h("button", { type: "submit", class: "primary" }, "Register endpoint"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = [...form.querySelectorAll("input[name=event_types]:checked")].map((c) => c.value);
    const extra = more.value.split(",").map((t) => t.trim()).filter(Boolean);
    typesError.hidden = chosen.length + extra.length > 0;
    typesError.textContent = typesError.hidden ? "" : "Choose at least one event type.";
    if (!typesError.hidden) return;
    try {
      const created = await api("/api/webhooks/register", {
        method: "POST",
        body: { url: url.value.trim(), event_types: [...chosen, ...extra], description: description.value },
      });
      form.reset();
      clearProblem();
      await onRegistered(created);
    } catch (err) {
      showProblem(err);
    }
  });
  return form;
}

function endpointCard(hook) {
  return h(
    "li",
    { class: "card webhook", "data-webhook": hook.webhook_id },
    h("h3", {}, h("a", { href: `#/webhooks/${encodeURIComponent(hook.webhook_id)}` }, hook.url)),
    h("p", {}, "State: ", h("span", { class: `state state-${hook.state}`, "data-state": hook.state }, hook.state)),
    hook.disabled_reason ? h("p", { class: "meta" }, `Why: ${hook.disabled_reason}`) : null,
    hook.description ? h("p", {}, hook.description) : null,
    h("ul", { class: "tags", "aria-label": "Event types" }, hook.event_types.map((t) => h("li", {}, t))),
    h("p", { class: "meta" }, `Registered ${formatDate(hook.created_at)}`),
  );
}

export async function webhooksView(container) {
  const status = h("p", { class: "status", role: "status", id: "webhooks-status" });
  const secretSlot = h("div", {});
  const list = h("div", { id: "webhooks", "aria-busy": "true" });
  async function reload() {
    list.setAttribute("aria-busy", "true");
    const items = await everyItem("/api/webhooks");
    render(
      list,
      items.length
        ? h("ul", { class: "grid", "aria-label": "Endpoints" }, items.map(endpointCard))
        : h("p", { class: "empty" }, "No endpoint is registered in this workspace yet."),
    );
    list.setAttribute("aria-busy", "false");
  }
  const [events] = await Promise.all([eventCatalog(), reload()]);
  const types = events.types.filter((t) => t.delivery === "async");
  const form = registerForm(types, async (created) => {
    status.textContent = `Registered ${created.url}.`;
    render(
      secretSlot,
      created.secret
        ? secretOnce(`Signing secret for ${created.url}`, created.secret)
        : h("p", { class: "card secret" }, `Receivers verify with the public key ${created.public_key}.`),
    );
    await reload();
    document.getElementById("secret-value")?.focus();
  });
  render(container, h("h1", {}, "Webhooks"), status, secretSlot, h("h2", {}, "Endpoints"), list, form);
}
