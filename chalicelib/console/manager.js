// The plugin manager: the workspace's installations with their state; admins enable, disable and uninstall
// (after a confirmation). Each links to its own page (installation.js): configure, upgrade, roll back, invoke.
import { api, everyItem } from "./api.js";
import { h, render, formatDate, confirmDialog } from "./dom.js";
import { can, showProblem, clearProblem } from "./app.js";

function row(inst, reload) {
  const act = async (label, fn) => {
    try {
      await fn();
      clearProblem();
      await reload(`${inst.plugin_id}: ${label}.`);
    } catch (err) {
      showProblem(err);
    }
  };
  const path = `/api/installations/${encodeURIComponent(inst.installation_id)}`;
  const actions = can.manage()
    ? h(
        "div",
        { class: "actions" },
        inst.state === "enabled"
          ? h("button", { type: "button", onclick: () => act("disabled", () => api(`${path}/disable`, { method: "POST", body: {} })) }, `Disable ${inst.plugin_id}`)
          : h("button", { type: "button", onclick: () => act("enabled", () => api(`${path}/enable`, { method: "POST" })) }, `Enable ${inst.plugin_id}`),
        h(
          "button",
          {
            type: "button",
            class: "danger",
            onclick: async () => {
              if (await confirmDialog(`Uninstall ${inst.plugin_id}? Its grants are revoked and its data is no longer reachable.`, "Uninstall")) {
                await act("uninstalled", () => api(path, { method: "DELETE" }));
              }
            },
          },
          `Uninstall ${inst.plugin_id}`,
        ),
      )
    : null;
  return h(
    "li",
    { class: "card installation", "data-installation": inst.installation_id, "data-plugin": inst.plugin_id },
    h("h3", {}, h("a", { href: `#/plugin/${encodeURIComponent(inst.plugin_id)}` }, inst.plugin_id), ` ${inst.version}`),
    h("p", {}, "State: ", h("span", { class: `state state-${inst.state}`, "data-state": inst.state }, inst.state.replace("_", " "))),
    inst.pending_upgrade
      ? h("p", { class: "pending-note", "data-pending": inst.pending_upgrade.version }, `Upgrade to ${inst.pending_upgrade.version} waits for consent; ${inst.version} keeps running.`)
      : null,
    inst.disabled_reason ? h("p", { class: "meta" }, `Why: ${inst.disabled_reason}`) : null,
    h("p", { class: "meta" }, `Installed ${formatDate(inst.installed_at)} by ${inst.installed_by}`),
    h("p", { class: "meta" }, `Granted: ${inst.granted.join(", ") || "nothing"}`),
    inst.secret_fields.length ? h("p", { class: "meta" }, `Secret settings (stored encrypted): ${inst.secret_fields.join(", ")}`) : null,
    h("p", {}, h("a", { href: `#/installed/${encodeURIComponent(inst.installation_id)}`, class: "manage" }, can.manage() ? `Manage ${inst.plugin_id}` : `Open ${inst.plugin_id}`)),
    actions,
  );
}

// ``params``: ``just`` is the installation the install form just made, said in the status line.
export async function managerView(container, params = new URLSearchParams()) {
  const status = h("p", { class: "status", role: "status" });
  const list = h("div", {});
  async function reload(message) {
    const items = await everyItem("/api/installations");
    render(
      list,
      items.length
        ? h("ul", { class: "grid", "aria-label": "Installed plugins" }, items.map((i) => row(i, reload)))
        : h("p", { class: "empty" }, "Nothing is installed in this workspace yet."),
    );
    status.textContent = message || "";
    return items;
  }
  render(container, h("h1", {}, "Installed plugins"), status, list);
  const items = await reload();
  const just = items.find((i) => i.installation_id === params.get("just"));
  if (just) status.textContent = `Installed ${just.plugin_id} ${just.version} (${just.state.replace("_", " ")}).`;
}
