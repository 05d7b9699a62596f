// The publisher's view: my plugins and every version's review, scan and deployment state (one call,
// GET /api/publisher/plugins), and a new version: a zip dropped on the drop zone or chosen with the file input,
// signed in this browser (signing.js says how, and why the key never leaves it), uploaded with a progress bar
// to its presigned URL, then submitted; a refusal is the API's problem with each of its reasons.
import { api } from "./api.js";
import { h, field, render, formatDate } from "./dom.js";
import { showProblem, clearProblem } from "./app.js";
import { canSignEd25519, newKeyPair, sha256Hex, signDigest, uploadWithProgress } from "./signing.js";

const REVIEW = { pending: "Waiting for review", approved: "Approved", rejected: "Rejected", yanked: "Yanked" };
const DEPLOY = { deploying: "Deploying", ready: "Ready", failed: "Deployment failed" };

function versionItem(pluginId, v) {
  const report = `#/review/${encodeURIComponent(pluginId)}/${encodeURIComponent(v.version)}`;
  return h(
    "li",
    { class: "version", "data-version": v.version, "data-state": v.state, "data-deployment": v.deployment || "" },
    h("p", {}, h("strong", {}, v.version), " · ", h("span", { class: `review review-${v.state}` }, REVIEW[v.state] || v.state)),
    v.review_reason ? h("p", { class: "meta reviewer-reason" }, `Reviewer's reason: ${v.review_reason}`) : null,
    h(
      "p",
      { class: "meta" },
      `Scan: ${v.scan_status || "none"} · Deployment: ${v.deployment ? DEPLOY[v.deployment] : "not deployed"}`,
      v.deployment_reason ? ` (${v.deployment_reason})` : "",
      ` · published ${formatDate(v.published_at)} · `,
      h("a", { href: report, "aria-label": `Report of ${pluginId} ${v.version}` }, "Report"),
    ),
  );
}

function pluginCard(plugin) {
  return h(
    "li",
    { class: "card publisher-plugin", "data-plugin": plugin.plugin_id },
    h("h3", {}, plugin.name, " ", h("span", { class: "meta" }, plugin.plugin_id)),
    h("p", { class: "meta" }, plugin.latest_version ? `Listed: v${plugin.latest_version}` : "Not listed yet (no approved version)"),
    h("ul", { class: "versions-list", "aria-label": `Versions of ${plugin.plugin_id}` }, plugin.versions.map((v) => versionItem(plugin.plugin_id, v))),
  );
}

const signCommand = (hex) =>
  `printf %s ${hex || "<sha256>"} > digest.txt && openssl pkeyutl -sign -inkey publisher.pem -rawin -in digest.txt | base64 -w0`;

// A key pair made here for a publisher without one: the public half registered, the private half shown once to
// be saved (as the CLI writes it to a file); nothing of it is kept, in this tab or on the server.
function newKeySection() {
  const result = h("div", { class: "new-key", "aria-live": "polite" });
  const button = h("button", { type: "button" }, "Create a signing key");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const pair = await newKeyPair();
      const key = await api("/api/publisher/keys", { method: "POST", body: { public_key: pair.publicKey } });
      clearProblem();
      const pem = h("textarea", { name: "new-private-key", rows: 5, readonly: true, spellcheck: "false" }, pair.pem);
      const file = URL.createObjectURL(new Blob([pair.pem], { type: "application/x-pem-file" }));
      render(
        result,
        h("p", { class: "warning", "data-key-id": key.key_id }, `Registered key ${key.key_id}. Save its private half now: it is shown only this once and kept nowhere.`),
        field("Private key (PEM)", pem),
        h("a", { href: file, download: `${key.key_id}.pem` }, `Download ${key.key_id}.pem`),
      );
    } catch (err) {
      showProblem(err);
    } finally {
      button.disabled = false;
    }
  });
  return h(
    "details",
    { class: "card new-key-section" },
    h("summary", {}, "No signing key yet? Create one in this browser"),
    h("p", { class: "hint" }, "The key pair is made here; only its public half is sent, to be registered for your publisher."),
    button,
    result,
  );
}

function uploadForm(onSubmitted, signsHere) {
  let zip = null;
  const digest = h("code", { class: "digest", "data-digest": "" });
  const command = h("pre", { class: "command" }, signCommand(""));
  const chosen = h("p", { class: "chosen", "aria-live": "polite" }, "No zip chosen.");
  const zipInput = h("input", { type: "file", name: "artifact", accept: ".zip,application/zip" });
  const choose = (file) => {
    zip = file || null;
    chosen.textContent = zip ? `Chosen: ${zip.name} (${zip.size} bytes)` : "No zip chosen.";
    digest.textContent = "";
    command.textContent = signCommand("");
    if (zip && !signsHere) {
      sha256Hex(zip).then((hex) => {
        digest.textContent = hex;
        command.textContent = signCommand(hex);
      });
    }
  };
  zipInput.addEventListener("change", () => choose(zipInput.files[0]));
  const zone = h(
    "div",
    { class: "dropzone", "data-dropzone": "" },
    h("p", {}, "Drop a plugin zip here, or choose it:"),
    field("Plugin zip", zipInput),
    chosen,
  );
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("dragover");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragover"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("dragover");
    const files = e.dataTransfer ? e.dataTransfer.files : null;
    choose(files && files[0]);
    if (files && files.length) zipInput.files = files; // the input names the dropped zip too
  });

  const keyInput = h("input", { type: "file", name: "signing-key", accept: ".pem,.key,text/plain" });
  const signature = h("input", { type: "text", name: "signature", autocomplete: "off", spellcheck: "false" });
  const signing = signsHere
    ? field("Signing key (Ed25519 private key, PEM)", keyInput, "Read and used in this browser only: it signs the zip's SHA-256 here and is never sent.")
    : h(
        "div",
        { class: "sign-elsewhere" },
        h("p", { class: "hint" }, "This browser cannot sign with Ed25519. Sign the zip's SHA-256 below with your key and paste the signature:"),
        h("p", {}, "SHA-256: ", digest),
        command,
        field("Signature (base64)", signature),
      );
  const progress = h("progress", { max: 1, value: 0, "aria-label": "Upload progress" });
  const status = h("p", { class: "status", role: "status" });
  const submit = h("button", { type: "submit", class: "primary" }, "Upload and submit for review");
  const form = h(
    "form",
    { class: "card upload", "aria-labelledby": "upload-title" },
    h("h2", { id: "upload-title" }, "Publish a new version"),
    zone,
    signing,
    progress,
    status,
    submit,
  );
  const fail = (control, message) => {
    const slot = control.closest(".field").querySelector(".field-error");
    slot.textContent = message;
    slot.hidden = false;
    control.setAttribute("aria-invalid", "true");
    control.focus();
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const slot of form.querySelectorAll(".field-error")) slot.hidden = true;
    for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
    if (!zip) return fail(zipInput, "Choose or drop a plugin zip.");
    if (signsHere && !keyInput.files[0]) return fail(keyInput, "Choose your signing key file.");
    if (!signsHere && !signature.value.trim()) return fail(signature, "Paste the signature of the SHA-256 above.");
    submit.disabled = true;
    progress.value = 0;
    try {
      status.textContent = "Signing…";
      const sig = signsHere ? await signDigest(keyInput.files[0], await sha256Hex(zip)) : signature.value.trim();
      status.textContent = "Uploading…";
      const ticket = await api("/api/plugins/uploads", { method: "POST" });
      if (zip.size > ticket.max_bytes) throw new Error(`The zip is ${zip.size} bytes; the limit is ${ticket.max_bytes}.`);
      await uploadWithProgress(ticket, zip, (loaded, total) => {
        progress.max = total || 1;
        progress.value = loaded;
      });
      status.textContent = "Submitting…";
      const detail = await api("/api/plugins/versions", { method: "POST", body: { upload_id: ticket.upload_id, signature: sig } });
      clearProblem();
      const newest = detail.versions.find((v) => v.state === "pending") || detail.versions[0];
      await onSubmitted(`Submitted ${detail.plugin_id} ${newest.version}: ${REVIEW[newest.state] || newest.state}.`);
    } catch (err) {
      status.textContent = "Not published.";
      showProblem(err);
    } finally {
      submit.disabled = false;
    }
  });
  return { form, status };
}

export async function publisherView(container) {
  const list = h("div", { class: "publisher-plugins" });
  const heading = h("h1", {}, "Publishing");
  async function reload(message) {
    const mine = await api("/api/publisher/plugins");
    heading.textContent = `Publishing as ${mine.publisher_id}`;
    render(
      list,
      h("h2", {}, "Your plugins"),
      mine.items.length
        ? h("ul", { class: "grid wide", "aria-label": "Your plugins" }, mine.items.map(pluginCard))
        : h("p", { class: "empty" }, "You have not published a plugin yet."),
    );
    if (message) upload.status.textContent = message;
  }
  const signsHere = await canSignEd25519();
  const upload = uploadForm(reload, signsHere);
  render(container, heading, upload.form, signsHere ? newKeySection() : null, list);
  await reload();
}
