// One installation in the plugin manager: the version it runs and its state (an upgrade waiting for consent is
// said plainly: the current version keeps running), the configuration form from the version's JSON Schema,
// the newer versions with what each adds and removes in plain words, rollback, and (invocations.js) invoke with
// a payload and the invocation log. Two calls load it, side by side: the installation's versions and its log.
import { api } from "./api.js";
import { h, render, confirmDialog } from "./dom.js";
import { can, showProblem, clearProblem } from "./app.js";
import { schemaForm } from "./schema_form.js";
import { invokeSection, logSection } from "./invocations.js";

const base = (id) => `/api/installations/${encodeURIComponent(id)}`;

function scopeItems(scopes) {
  return scopes.map((s) =>
    h(
      "li",
      { "data-scope": s.scope },
      h("strong", {}, s.description),
      " ",
      h("code", {}, s.scope),
      s.note ? h("p", { class: "reason" }, `Publisher's reason: ${s.note}`) : null,
    ),
  );
}

// What moving to a version changes, in plain words; "nothing" said as such rather than left blank. A rollback
// grants nothing new: scopes its version requests beyond the grants are refused to it, not asked for.
export function changeList(change, { rollback = false } = {}) {
  const items = [];
  const add = (label, children) => children.length && items.push(h("li", {}, h("span", { class: "change-label" }, label), h("ul", {}, children)));
  add(rollback ? "Requests permissions it would not be granted (its calls needing them are refused):" : "Asks for new permissions:", scopeItems(change.scopes_added));
  add("No longer needs (these grants are dropped):", scopeItems(change.scopes_removed));
  add("May also reach these hosts:", change.hosts_added.map((x) => h("li", {}, h("code", {}, x))));
  add("No longer reaches:", change.hosts_removed.map((x) => h("li", {}, h("code", {}, x))));
  add("Also receives these events:", change.events_added.map((x) => h("li", {}, h("code", {}, x))));
  add("No longer receives:", change.events_removed.map((x) => h("li", {}, h("code", {}, x))));
  return items.length
    ? h("ul", { class: "changes", "data-version": change.version }, items)
    : h("p", { class: "changes", "data-version": change.version }, "No change to its permissions, hosts or events.");
}

function header(inst) {
  return [
    h("p", {}, h("a", { href: "#/installed" }, "← Installed plugins")),
    h("h1", { tabindex: "-1", id: "installation-title" }, `${inst.plugin_id} ${inst.version}`),
    h(
      "p",
      {},
      "State: ",
      h("span", { class: `state state-${inst.state}`, "data-state": inst.state }, inst.state.replace("_", " ")),
      ` · runs version `,
      h("strong", { "data-running": inst.version }, inst.version),
    ),
    inst.disabled_reason ? h("p", { class: "meta" }, `Why: ${inst.disabled_reason}`) : null,
    h("p", { class: "meta" }, `Granted: ${inst.granted.join(", ") || "nothing"}`),
    inst.run_under_old_grants
      ? h("p", { class: "warning" }, "This version runs under an earlier version's grants: calls needing a scope it was not granted are refused.")
      : null,
  ];
}

function pendingSection(options, act) {
  const inst = options.installation;
  const pending = inst.pending_upgrade;
  const offered = options.upgrades.find((u) => u.version === pending.version);
  const scopes = pending.new_scopes.map((s) => s.scope);
  return h(
    "section",
    { class: "card pending", "aria-labelledby": "pending-title", "data-pending": pending.version },
    h("h2", { id: "pending-title" }, `The upgrade to ${pending.version} waits for your consent`),
    h("p", {}, `Until you decide, version ${inst.version} keeps running with its current grants and keeps receiving its events.`),
    offered ? changeList(offered) : h("ul", { class: "changes" }, h("li", {}, "Asks for new permissions:", h("ul", {}, scopeItems(pending.new_scopes)))),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "primary", name: "consent", onclick: () => act(`upgraded to ${pending.version}`, "consent", { grant: scopes }) }, "Consent to the new permissions"),
      h("button", { type: "button", name: "decline", onclick: () => act(`kept ${inst.version}`, "decline") }, "Keep the current version and grants"),
      h(
        "button",
        { type: "button", name: "keep-grants", onclick: () => act(`upgraded to ${pending.version} under the current grants`, "upgrade", { version: pending.version, keep_grants: true }) },
        `Run ${pending.version} under the current grants`,
      ),
    ),
    h("p", { class: "hint" }, `Under the current grants, ${pending.version}'s calls needing ${scopes.join(", ")} are refused.`),
  );
}

function versionsSection(options, act) {
  const inst = options.installation;
  const upgrades = inst.pending_upgrade ? [] : options.upgrades;
  const rows = upgrades.map((u) =>
    h(
      "li",
      { class: "card upgrade", "data-version": u.version },
      h("h3", {}, `Version ${u.version}`),
      u.changelog ? h("pre", { class: "changelog" }, u.changelog) : null,
      changeList(u),
      h(
        "button",
        { type: "button", name: "upgrade", value: u.version, onclick: () => act(u.needs_consent ? `upgrade to ${u.version} requested` : `upgraded to ${u.version}`, "upgrade", { version: u.version }) },
        u.needs_consent ? `Upgrade to ${u.version} (asks for new permissions)` : `Upgrade to ${u.version}`,
      ),
    ),
  );
  const back = options.rollback;
  // After a rollback, the version before the last change is a newer one: going there undoes the rollback.
  const forward = Boolean(back) && options.upgrades.some((u) => u.version === back.version);
  const backLabel = back && (forward ? `Undo the rollback: return to ${back.version}` : `Roll back to ${back.version}`);
  return h(
    "section",
    { "aria-labelledby": "versions-title" },
    h("h2", { id: "versions-title" }, "Versions"),
    rows.length ? h("ul", { class: "upgrades" }, rows) : h("p", {}, inst.pending_upgrade ? "Decide on the waiting upgrade first." : "It runs the newest approved version."),
    back
      ? h(
          "div",
          { class: "rollback", "data-version": back.version },
          h("h3", {}, backLabel),
          changeList(back, { rollback: true }),
          h(
            "button",
            {
              type: "button",
              name: "rollback",
              onclick: async () => {
                const question = forward
                  ? `Return ${inst.plugin_id} from ${inst.version} to ${back.version}, undoing the last rollback?`
                  : `Roll back ${inst.plugin_id} from ${inst.version} to ${back.version}?`;
                if (await confirmDialog(question, backLabel)) {
                  await act(forward ? `returned to ${back.version}` : `rolled back to ${back.version}`, "rollback");
                }
              },
            },
            backLabel,
          ),
        )
      : null,
  );
}

function configSection(options, done) {
  const inst = options.installation;
  const form = schemaForm(options.current.config_schema, { values: inst.config, setSecrets: inst.secret_fields });
  const el = h(
    "form",
    { class: "card configure", "aria-labelledby": "configure-title", novalidate: true },
    h("h2", { id: "configure-title" }, "Configure"),
    form.element,
    h("button", { type: "submit", class: "primary" }, "Save configuration"),
  );
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    const config = form.read();
    if (config === null) return;
    try {
      await api(`${base(inst.installation_id)}/config`, { method: "PUT", body: { config } });
      clearProblem();
      await done("Configuration saved.");
    } catch (err) {
      showProblem(err);
    }
  });
  return el;
}

export async function installationView(container, installationId, params) {
  const limit = Number(params.get("limit")) || 10;
  async function show(message) {
    const [options, firstPage] = await Promise.all([
      api(`${base(installationId)}/versions`),
      api(`${base(installationId)}/invocations`, { query: { limit } }),
    ]);
    const inst = options.installation;
    const act = async (label, action, body) => {
      try {
        await api(`${base(installationId)}/${action}`, { method: "POST", body });
        clearProblem();
        await show(`${inst.plugin_id}: ${label}.`);
      } catch (err) {
        showProblem(err);
      }
    };
    const reload = (text) => show(text).catch(showProblem);
    const log = logSection(installationId, firstPage, limit);
    render(
      container,
      header(inst),
      h("p", { class: "status", role: "status", id: "installation-status" }, message || ""),
      can.manage() && inst.pending_upgrade ? pendingSection(options, act) : null,
      !can.manage() && inst.pending_upgrade ? h("p", { class: "warning" }, `An upgrade to ${inst.pending_upgrade.version} waits for an admin's consent; ${inst.version} keeps running.`) : null,
      can.manage() ? configSection(options, reload) : null,
      can.manage() ? versionsSection(options, act) : null,
      can.invoke() ? invokeSection(inst, options.current.entrypoints, log.refresh) : null,
      log.element,
    );
    if (message) document.getElementById("installation-title").focus();
  }
  await show();
}
