// The console's shell: sign-in, navigation by role, hash routes, and one place that shows API problems.
import { api, ApiError, session } from "./api.js";
import { h, field, render } from "./dom.js";
import { marketplaceView } from "./marketplace.js";
import { pluginView } from "./plugin.js";
import { managerView } from "./manager.js";
import { auditView } from "./audit.js";
import { installationView } from "./installation.js";
import { tasksView, taskView } from "./tasks.js";
import { webhooksView } from "./webhooks.js";
import { webhookLogView } from "./webhook_log.js";
import { publisherView } from "./publisher.js";
import { reviewQueueView, reportView } from "./review.js";

const main = () => document.getElementById("main");

// What each role sees: installing and managing are the admin's; members see what is installed.
export const can = {
  install: () => session.caller?.role === "admin",
  manage: () => session.caller?.role === "admin",
  seeInstalled: () => ["admin", "member"].includes(session.caller?.role),
  readAudit: () => ["admin", "reviewer"].includes(session.caller?.role),
  invoke: () => ["admin", "member"].includes(session.caller?.role),
  useTasks: () => ["admin", "member"].includes(session.caller?.role),
  publish: () => ["admin", "publisher"].includes(session.caller?.role) && !!session.caller?.publisher_id,
  review: () => session.caller?.role === "reviewer",
};

// Every API error is shown as its problem's title and detail, in the alert region (read out by screen readers).
export function showProblem(err) {
  const alerts = document.getElementById("alerts");
  if (!(err instanceof ApiError)) {
    render(alerts, h("div", { class: "problem" }, h("strong", {}, "Something went wrong"), h("p", {}, String(err))));
    return;
  }
  const { title, detail, errors } = err.problem;
  render(
    alerts,
    h(
      "div",
      { class: "problem", "data-status": err.status },
      h("strong", { class: "problem-title" }, title || `HTTP ${err.status}`),
      detail ? h("p", { class: "problem-detail" }, detail) : null,
      Array.isArray(errors) && errors.length
        ? h("ul", {}, errors.map((e) => h("li", {}, [e.pointer || e.loc || "", " ", e.message || e.msg || ""].join(" ").trim())))
        : null,
      h("button", { type: "button", class: "link", onclick: clearProblem }, "Dismiss"),
    ),
  );
}

export function clearProblem() {
  render(document.getElementById("alerts"));
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function signInView() {
  const input = h("input", { type: "password", name: "api-key", autocomplete: "off", required: true, spellcheck: "false" });
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    field("API key", input, "Kept in this tab only, and forgotten when it closes."),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      session.caller = await api("/api/me", { key: input.value.trim() });
      session.key = input.value.trim();
      clearProblem();
      shell();
      navigate("#/marketplace");
    } catch (err) {
      showProblem(err);
      input.focus();
    }
  });
  render(main(), form);
  input.focus();
}

function signOut() {
  session.key = null;
  session.caller = null;
  clearProblem();
  shell();
  location.hash = "";
  signInView();
}

function shell() {
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  if (!session.caller) {
    render(nav);
    render(who);
    return;
  }
  const link = (hash, label) => h("a", { href: hash, "data-nav": hash }, label);
  render(
    nav,
    h(
      "ul",
      {},
      h("li", {}, link("#/marketplace", "Marketplace")),
      can.seeInstalled() ? h("li", {}, link("#/installed", "Installed")) : null,
      can.readAudit() ? h("li", {}, link("#/audit", "Audit")) : null,
      can.useTasks() ? h("li", {}, link("#/tasks", "Tasks")) : null,
      can.manage() ? h("li", {}, link("#/webhooks", "Webhooks")) : null,
      can.publish() ? h("li", {}, link("#/publisher", "Publishing")) : null,
      can.review() ? h("li", {}, link("#/review", "Review")) : null,
    ),
  );
  render(
    who,
    h("span", { class: "role", title: `Workspace ${session.caller.workspace_id}` }, `${session.caller.workspace_id} · ${session.caller.role}`),
    h("button", { type: "button", class: "link", onclick: signOut }, "Sign out"),
  );
}

function markCurrent(hash) {
  for (const a of document.querySelectorAll("#nav a")) {
    if (hash.startsWith(a.dataset.nav)) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

// Every view the console has; a role that may not see one gets the marketplace instead.
const VIEWS = new Set(["marketplace", "plugin", "installed", "tasks", "publisher", "review", "audit", "webhooks"]);

async function route() {
  if (!session.caller) return signInView();
  const hash = location.hash.startsWith("#/") ? location.hash : "#/marketplace";
  const [, view, ...rest] = hash.split("?")[0].split("/");
  const arg = rest.map(decodeURIComponent).join("/");
  markCurrent(hash);
  clearProblem();
  try {
    if (view === "plugin" && arg) await pluginView(main(), arg);
    else if (view === "installed" && arg && can.seeInstalled()) await installationView(main(), arg, new URLSearchParams(hash.split("?")[1] || ""));
    else if (view === "installed" && can.seeInstalled()) await managerView(main(), new URLSearchParams(hash.split("?")[1] || ""));
    else if (view === "tasks" && arg && can.useTasks()) await taskView(main(), arg);
    else if (view === "tasks" && can.useTasks()) await tasksView(main());
    else if (view === "publisher" && can.publish()) await publisherView(main());
    else if (view === "review" && rest.length === 2 && (can.review() || can.publish())) await reportView(main(), ...rest.map(decodeURIComponent));
    else if (view === "review" && can.review()) await reviewQueueView(main());
    else if (view === "audit" && can.readAudit()) await auditView(main(), new URLSearchParams(hash.split("?")[1] || ""));
    else if (view === "webhooks" && can.manage() && arg) await webhookLogView(main(), arg, new URLSearchParams(hash.split("?")[1] || ""));
    else if (view === "webhooks" && can.manage()) await webhooksView(main());
    else if (!VIEWS.has(view)) render(main(), h("h1", {}, "This page could not be shown"), h("p", {}, `The console has no page at ${hash}.`), h("p", {}, h("a", { href: "#/marketplace" }, "Back to the marketplace")));
    else await marketplaceView(main(), new URLSearchParams(hash.split("?")[1] || ""));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) signOut(); // the key was revoked or expired
    else render(main(), h("h1", {}, "This page could not be shown"), h("p", {}, h("a", { href: "#/marketplace" }, "Back to the marketplace")));
    showProblem(err);
  }
}

async function start() {
  if (session.key && !session.caller) {
    try {
      session.caller = await api("/api/me");
    } catch (err) {
      session.key = null;
      showProblem(err);
    }
  }
  shell();
  // "Skip to content" moves the focus only: following its #main would change the hash, which is the route.
  document.querySelector("a.skip").addEventListener("click", (event) => {
    event.preventDefault();
    main().focus();
  });
  window.addEventListener("hashchange", route);
  await route();
}

start();
