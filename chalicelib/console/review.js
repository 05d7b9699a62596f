// The reviewer's views: the queue (GET /api/review/queue), and one version's report (GET …/report: manifest, file
// list, scan findings and the permission diff against the previous release) with the decision: approve, reject
// with a reason, or yank an approved version. A version's own publisher reads the same report, without decisions.
import { api } from "./api.js";
import { h, field, render, formatDate } from "./dom.js";
import { can, showProblem, clearProblem } from "./app.js";
import { verifiedBadge } from "./marketplace.js";

const reportHash = (pluginId, version) => `#/review/${encodeURIComponent(pluginId)}/${encodeURIComponent(version)}`;

function queueItem(item) {
  return h(
    "li",
    { class: "card queue-item", "data-plugin": item.plugin_id, "data-version": item.version },
    h("h3", {}, h("a", { href: reportHash(item.plugin_id, item.version) }, `${item.plugin_id} ${item.version}`)),
    h("p", { class: "meta" }, `by ${item.publisher} `, verifiedBadge(item.publisher_verified), ` · submitted ${formatDate(item.published_at)} · ${item.size_bytes} bytes`),
    h("p", { class: "meta" }, `Asks for: ${item.permissions.join(", ") || "no scopes"}`),
    h("p", { class: `scan scan-${item.scan_status}` }, `Scan: ${item.scan_status}`, item.scan_findings ? ` (${item.scan_findings} findings)` : ""),
  );
}

export async function reviewQueueView(container) {
  const queue = await api("/api/review/queue");
  render(
    container,
    h("h1", {}, "Review queue"),
    queue.items.length
      ? h("ul", { class: "grid", "aria-label": "Versions waiting for review" }, queue.items.map(queueItem))
      : h("p", { class: "empty" }, "No version is waiting for review."),
  );
}

function changes(label, added, removed) {
  if (!added.length && !removed.length) return null;
  return h(
    "div",
    { class: "diff", "data-diff": label },
    h("h3", {}, label),
    h(
      "ul",
      {},
      added.map((x) => h("li", { class: "added" }, h("span", { class: "mark" }, "Added: "), x)),
      removed.map((x) => h("li", { class: "removed" }, h("span", { class: "mark" }, "Removed: "), x)),
    ),
  );
}

function diffSection(d) {
  const parts = [
    changes("Scopes", d.scopes_added, d.scopes_removed),
    changes("Hosts it may fetch", d.hosts_added, d.hosts_removed),
    changes("Events it subscribes to", d.events_added, d.events_removed),
  ].filter(Boolean);
  return h(
    "section",
    { "aria-labelledby": "diff-title", class: "card" },
    h("h2", { id: "diff-title" }, "Permission changes"),
    h("p", { class: "meta", "data-previous": d.previous_version || "" }, d.previous_version ? `Compared with ${d.previous_version}, the previous release.` : "First release: everything it asks for is new."),
    parts.length ? parts : h("p", {}, "No change in scopes, hosts or events."),
  );
}

function scanSection(scan) {
  return h(
    "section",
    { "aria-labelledby": "scan-title", class: "card" },
    h("h2", { id: "scan-title" }, "Scan"),
    h("p", { class: `scan scan-${scan.status}`, "data-scan": scan.status }, `Status: ${scan.status} · ${scan.files_scanned} files scanned`),
    scan.reason ? h("p", { class: "warning" }, scan.reason) : null,
    scan.findings.length
      ? h(
          "ul",
          { class: "findings", "aria-label": "Findings" },
          scan.findings.map((f) =>
            h("li", {}, h("strong", {}, `${f.severity} · ${f.kind}`), ` ${f.path}${f.line ? `:${f.line}` : ""}${f.column ? `:${f.column}` : ""} — ${f.detail}`),
          ),
        )
      : h("p", {}, "No findings."),
    scan.truncated ? h("p", { class: "meta" }, "More findings than listed.") : null,
  );
}

function decisionForm(report, decided) {
  const reason = h("textarea", { name: "reason", rows: 2, maxlength: 2000 });
  const ack = h("input", { type: "checkbox", name: "acknowledge-scan-failure" });
  const pending = report.state === "pending";
  const buttons = pending
    ? [h("button", { type: "submit", class: "primary", value: "approve" }, "Approve"), h("button", { type: "submit", class: "danger", value: "reject" }, "Reject")]
    : [h("button", { type: "submit", class: "danger", value: "yank" }, "Yank")];
  const form = h(
    "form",
    { class: "card decision", "aria-labelledby": "decision-title" },
    h("h2", { id: "decision-title" }, "Decision"),
    field("Reason", reason, pending ? "Shown to the publisher; required to reject." : "Required: installations on this version are disabled."),
    pending && report.scan.status === "failed"
      ? h("div", { class: "field" }, h("label", {}, ack, " I checked this version by hand although its scan failed"))
      : null,
    h("div", { class: "actions" }, buttons),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const decision = event.submitter ? event.submitter.value : "approve";
    const slot = form.querySelector(".field-error");
    slot.hidden = true;
    reason.removeAttribute("aria-invalid");
    if (decision !== "approve" && !reason.value.trim()) {
      slot.textContent = `A reason is required to ${decision}.`;
      slot.hidden = false;
      reason.setAttribute("aria-invalid", "true");
      reason.focus();
      return;
    }
    const path = `/api/review/${encodeURIComponent(report.plugin_id)}/${encodeURIComponent(report.version)}/${decision}`;
    try {
      const result = await api(path, { method: "POST", body: { reason: reason.value.trim(), acknowledge_scan_failure: ack.checked } });
      clearProblem();
      decided(result);
    } catch (err) {
      showProblem(err);
    }
  });
  return form;
}

export async function reportView(container, pluginId, version) {
  const report = await api(`/api/plugins/${encodeURIComponent(pluginId)}/versions/${encodeURIComponent(version)}/report`);
  const status = h("p", { class: "status", role: "status" });
  function draw(message) {
    const decidable = can.review() && ["pending", "approved"].includes(report.state);
    render(
      container,
      can.review() ? h("p", {}, h("a", { href: "#/review" }, "← Review queue")) : h("p", {}, h("a", { href: "#/publisher" }, "← Publishing")),
      h("h1", { tabindex: -1 }, `${report.plugin_id} ${report.version}`),
      h("p", {}, "State: ", h("strong", { class: `review review-${report.state}`, "data-state": report.state }, report.state), ` · by ${report.publisher} `, verifiedBadge(report.publisher_verified)),
      h("p", { class: "meta digest" }, `${report.size_bytes} bytes · sha256 ${report.artifact_sha256}`),
      status,
      decidable ? decisionForm(report, (result) => {
        Object.assign(report, { state: result.state });
        draw(`${result.plugin_id} ${result.version}: ${result.state}.`);
        container.querySelector("h1").focus();
      }) : null,
      diffSection(report.diff),
      h(
        "section",
        { "aria-labelledby": "changelog-title", class: "card report-changelog" },
        h("h2", { id: "changelog-title" }, "Changelog"),
        report.manifest.changelog ? h("pre", { class: "changelog" }, report.manifest.changelog) : h("p", {}, "The publisher wrote no changelog."),
      ),
      scanSection(report.scan),
      h(
        "section",
        { "aria-labelledby": "files-title", class: "card" },
        h("h2", { id: "files-title" }, `Files (${report.files.length})`),
        h("ul", { class: "files" }, report.files.map((f) => h("li", { "data-path": f.path }, h("code", {}, f.path), ` · ${f.size} bytes · sha256 ${f.sha256.slice(0, 16)}…`))),
      ),
      h("section", { "aria-labelledby": "manifest-title", class: "card" }, h("h2", { id: "manifest-title" }, "Manifest"), h("pre", { class: "manifest" }, JSON.stringify(report.manifest, null, 2))),
    );
    status.textContent = message || "";
  }
  draw();
}
