// A plugin's page: versions, publisher, changelog, every permission in plain words with the publisher's reason,
// and (for admins) the install form: consent to each scope, then the configuration its schema asks for.
import { api, everyItem } from "./api.js";
import { h, render, formatDate } from "./dom.js";
import { can, showProblem, clearProblem, navigate } from "./app.js";
import { verifiedBadge, installsText } from "./marketplace.js";
import { schemaForm } from "./schema_form.js";

function permissions(version) {
  if (!version.permissions.length) return h("p", {}, "This version asks for no permissions.");
  return h(
    "ul",
    { class: "permissions" },
    version.permissions.map((p) =>
      h(
        "li",
        { "data-scope": p.scope },
        h("strong", {}, p.description),
        " ",
        h("code", {}, p.scope),
        p.scope === "http:fetch"
          ? h("p", { class: "reason hosts" }, (version.allowed_hosts || []).length ? `Hosts: ${version.allowed_hosts.join(", ")}` : "Hosts: none named.")
          : null,
        p.note ? h("p", { class: "reason" }, `Publisher's reason: ${p.note}`) : h("p", { class: "reason" }, "No reason given by the publisher."),
      ),
    ),
  );
}

function versionsTable(plugin) {
  return h(
    "table",
    { class: "versions" },
    h("caption", {}, "Versions"),
    h("thead", {}, h("tr", {}, ["Version", "State", "Published", "Runs"].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      plugin.versions.map((v) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, v.version),
          h("td", {}, v.deprecated ? `${v.state}, deprecated` : v.state),
          h("td", {}, formatDate(v.published_at)),
          h("td", {}, v.deployment || "—"),
        ),
      ),
    ),
  );
}

function installForm(plugin, version) {
  const consents = version.permissions.map((p) => {
    const box = h("input", { type: "checkbox", name: "grant", value: p.scope, id: `consent-${p.scope.replace(/\W/g, "-")}` });
    return { scope: p.scope, box, row: h("li", {}, box, " ", h("label", { for: box.id }, `Allow: ${p.description} (${p.scope})`)) };
  });
  const consentError = h("p", { class: "field-error", id: "consent-error", hidden: true });
  const config = schemaForm(version.config_schema);
  const form = h(
    "form",
    { class: "card install", "aria-labelledby": "install-title", novalidate: true }, // our inline messages, not the browser's bubbles
    h("h2", { id: "install-title" }, `Install ${plugin.name} ${version.version}`),
    consents.length
      ? h(
          "fieldset",
          { class: "consent", "aria-describedby": consentError.id },
          h("legend", {}, "Permissions to grant (accept each one)"),
          h("ul", {}, consents.map((c) => c.row)),
          consentError,
        )
      : null,
    config.element,
    h("button", { type: "submit", class: "primary" }, "Install"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const missing = consents.filter((c) => !c.box.checked);
    consentError.textContent = missing.length ? `Accept every permission to install (${missing.map((c) => c.scope).join(", ")} not accepted).` : "";
    consentError.hidden = !missing.length;
    const values = config.read();
    if (missing.length) {
      missing[0].box.focus();
      return;
    }
    if (values === null) return;
    try {
      const installed = await api("/api/plugins/install", {
        method: "POST",
        body: { plugin_id: plugin.plugin_id, version: version.version, grant: consents.map((c) => c.scope), config: values },
      });
      clearProblem();
      navigate(`#/installed?just=${encodeURIComponent(installed.installation_id)}`);
    } catch (err) {
      showProblem(err);
    }
  });
  return form;
}

// This workspace's installation of the plugin, if any (a workspace installs a plugin once).
async function installationOf(pluginId) {
  return (await everyItem("/api/installations")).find((i) => i.plugin_id === pluginId) || null;
}

function installedNote(inst) {
  return h(
    "p",
    { class: "card installed-note", "data-installation": inst.installation_id },
    `Installed in this workspace: version ${inst.version}, ${inst.state.replace("_", " ")}. `,
    h("a", { href: `#/installed/${encodeURIComponent(inst.installation_id)}` }, can.manage() ? `Manage ${inst.plugin_id}` : `Open ${inst.plugin_id}`),
  );
}

export async function pluginView(container, pluginId) {
  const [plugin, installed] = await Promise.all([
    api(`/api/plugins/${encodeURIComponent(pluginId)}`),
    can.seeInstalled() ? installationOf(pluginId) : null,
  ]);
  const installable = plugin.versions.filter((v) => v.state === "approved");
  const shown = installable[0] || plugin.versions[0];
  render(
    container,
    h("p", {}, h("a", { href: "#/marketplace" }, "← Marketplace")),
    h("h1", {}, plugin.name),
    h("p", { class: "meta" }, `by ${plugin.publisher} `, verifiedBadge(plugin.publisher_verified), ` · ${installsText(plugin.install_count)}`),
    h("p", {}, plugin.description),
    plugin.deprecated ? h("p", { class: "warning" }, `Deprecated: ${plugin.deprecation_message || ""}`) : null,
    shown
      ? h(
          "section",
          { "aria-labelledby": "perm-title" },
          h("h2", { id: "perm-title" }, `What version ${shown.version} may do`),
          permissions(shown),
          h("h2", {}, "Changelog"),
          shown.changelog ? h("pre", { class: "changelog" }, shown.changelog) : h("p", {}, "No changelog."),
        )
      : null,
    versionsTable(plugin),
    installed ? installedNote(installed) : null,
    can.install() && installable.length ? installForm(plugin, shown) : null,
    can.install() && !installable.length ? h("p", {}, "No version of this plugin is approved for installing yet.") : null,
  );
}
