// The task view: the workspace's tasks (paged), create, run and complete them; one task's page with the actions
// installed plugins offer on it (GET /api/tasks/{id}/panel, one call) and what plugins wrote onto it, kept
// current over the live WebSocket without a reload.
import { api } from "./api.js";
import { h, field, render, formatDate } from "./dom.js";
import { showProblem, clearProblem, navigate } from "./app.js";
import { openLive } from "./live.js";

const PAGE_SIZE = 20;
// Survives leaving the list: coming back shows the same page.
const state = { tokens: [null] };

const taskHref = (id) => `#/tasks/${encodeURIComponent(id)}`;
const statusBadge = (status) => h("span", { class: `task-status status-${status}`, "data-status": status }, status);

// Run a pending (or vetoed) task, complete a running one: the lifecycle buttons a task offers in its state.
function lifecycleButtons(task, after) {
  const path = `/api/tasks/${encodeURIComponent(task.task_id)}`;
  const act = async (button, step, body) => {
    button.disabled = true;
    try {
      const answer = await api(`${path}/${step}`, { method: "POST", body });
      clearProblem();
      await after(step === "run" ? answer.task : answer, answer);
    } catch (err) {
      showProblem(err);
      button.disabled = false;
    }
  };
  const buttons = [];
  if (task.status === "pending" || task.status === "vetoed") {
    const run = h("button", { type: "button", name: "run", "aria-label": `Run ${task.title}` }, "Run");
    run.addEventListener("click", () => act(run, "run"));
    buttons.push(run);
  }
  if (task.status === "running") {
    const done = h("button", { type: "button", name: "complete", class: "primary", "aria-label": `Complete ${task.title}` }, "Complete");
    done.addEventListener("click", () => act(done, "complete", {}));
    buttons.push(done);
  }
  return buttons.length ? h("div", { class: "actions" }, buttons) : null;
}

function createForm(onCreated) {
  const title = h("input", { name: "title", required: true, maxlength: 200, autocomplete: "off" });
  const form = h(
    "form",
    { class: "card create-task", "aria-labelledby": "create-task-title" },
    h("h2", { id: "create-task-title" }, "New task"),
    field("Title", title),
    h("button", { type: "submit", class: "primary" }, "Create task"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const task = await api("/api/tasks", { method: "POST", body: { title: title.value.trim() } });
      clearProblem();
      title.value = "";
      await onCreated(task);
    } catch (err) {
      showProblem(err);
      title.focus();
    }
  });
  return form;
}

export async function tasksView(container) {
  const status = h("p", { class: "status", role: "status" });
  const list = h("div", { id: "task-list", "aria-busy": "true" });
  const pager = h("nav", { class: "pager", "aria-label": "Task pages" });

  async function load(message) {
    list.setAttribute("aria-busy", "true");
    const page = await api("/api/tasks", { query: { limit: PAGE_SIZE, next_token: state.tokens.at(-1) } });
    const reload = (msg) => load(msg).catch(showProblem);
    render(
      list,
      page.items.length
        ? h(
            "ul",
            { class: "task-list", "aria-label": "Tasks" },
            page.items.map((task) =>
              h(
                "li",
                { class: "card task", "data-task": task.task_id },
                h("h3", {}, h("a", { href: taskHref(task.task_id) }, task.title)),
                h("p", { class: "meta" }, statusBadge(task.status), ` · created ${formatDate(task.created_at)}`),
                lifecycleButtons(task, (t) => reload(`${t.title}: ${t.status}.`)),
              ),
            ),
          )
        : h("p", { class: "empty" }, "No tasks on this page yet."),
    );
    const previous = h("button", { type: "button", name: "previous", disabled: state.tokens.length === 1 }, "Previous");
    previous.addEventListener("click", () => {
      state.tokens.pop();
      reload();
    });
    const next = h("button", { type: "button", name: "next", disabled: !page.next_token }, "Next");
    next.addEventListener("click", () => {
      state.tokens.push(page.next_token);
      reload();
    });
    render(pager, previous, h("span", { class: "page-number" }, `Page ${state.tokens.length}`), next);
    list.setAttribute("aria-busy", "false");
    status.textContent = message || "";
  }

  const form = createForm(async (task) => navigate(taskHref(task.task_id)));
  render(container, h("h1", {}, "Tasks"), form, status, list, pager);
  await load();
}

// What one annotation says: a summary as text, labels as a list, anything else as its JSON.
function annotationBody(note) {
  const parts = [];
  if (typeof note.summary === "string") parts.push(h("p", { class: "summary" }, note.summary));
  if (Array.isArray(note.labels)) {
    parts.push(
      note.labels.length
        ? h("ul", { class: "tags labels", "aria-label": "Labels" }, note.labels.map((l) => h("li", {}, String(l))))
        : h("p", { class: "meta" }, "No labels."),
    );
  }
  const rest = Object.fromEntries(Object.entries(note).filter(([k]) => !["plugin", "plugin_id", "summary", "labels", "hook", "installation_id"].includes(k)));
  if (Object.keys(rest).length) parts.push(h("pre", { class: "output" }, JSON.stringify(rest, null, 2)));
  return parts;
}

function annotationsList(annotations) {
  if (!annotations.length) return h("p", { class: "empty" }, "Nothing yet: plugins write here when they act on this task.");
  return h(
    "ul",
    { class: "annotations", "aria-label": "Plugin output" },
    annotations.map((note) => {
      const source = note.plugin || note.plugin_id || "a plugin";
      return h("li", { class: "card annotation", "data-plugin": source }, h("h3", {}, source), annotationBody(note));
    }),
  );
}

function actionsList(taskId, actions, output) {
  if (!actions.length) return h("p", { class: "empty" }, "No installed plugin offers an action on tasks.");
  return h(
    "ul",
    { class: "task-actions", "aria-label": "Plugin actions" },
    actions.map((a) => {
      const button = h("button", { type: "button", "data-action": `${a.plugin_id}:${a.action}` }, `${a.title} (${a.plugin_name})`);
      button.addEventListener("click", async () => {
        button.disabled = true;
        output.textContent = `Running ${a.title}…`;
        try {
          const run = await api(`/api/tasks/${encodeURIComponent(taskId)}/actions`, {
            method: "POST",
            body: { installation_id: a.installation_id, action: a.action },
          });
          clearProblem();
          const inv = run.invocation;
          render(
            output,
            h("p", {}, h("strong", {}, `${a.title}: ${inv.status}`), ` in ${Math.round(inv.duration_ms)} ms`),
            h("pre", { class: "output", "data-invocation": inv.invocation_id }, JSON.stringify(inv.status === "succeeded" ? inv.result : inv.error, null, 2)),
          );
        } catch (err) {
          output.textContent = "";
          showProblem(err);
        } finally {
          button.disabled = false;
        }
      });
      return h("li", {}, button, a.description ? h("p", { class: "meta" }, a.description) : null);
    }),
  );
}

const LIVE_TEXT = {
  connecting: () => "Connecting to live updates…",
  open: () => "Live updates on: what plugins write appears here as it happens.",
  retrying: (s) => `Live updates interrupted; reconnecting in ${s} s…`,
  failed: (err) => `Live updates unavailable: ${err.problem?.detail || err.message}`,
};

export async function taskView(container, taskId) {
  const panel = await api(`/api/tasks/${encodeURIComponent(taskId)}/panel`);
  let task = panel.task;
  const heading = h("h1", {}, task.title);
  const statusLine = h("p", { class: "meta", id: "task-state" });
  const lifecycle = h("div", {});
  const produced = h("div", { id: "plugin-output" });
  const output = h("div", { id: "action-output", role: "status" });
  const live = h("p", { id: "live-status", class: "live-status", role: "status", "data-state": "connecting" });
  const announce = h("p", { id: "live-announce", class: "visually-hidden", "aria-live": "polite" });

  let seen = 0; // the time of the newest state shown: events arrive unordered, an older one must not undo it
  function show(next) {
    const at = Date.parse(next.updated_at || next.created_at) || 0;
    if (at < seen) return;
    seen = at;
    task = next;
    heading.textContent = task.title;
    render(statusLine, "Status: ", statusBadge(task.status), ` · updated ${new Date(task.updated_at || task.created_at).toISOString().replace("T", " ").slice(0, 19)} UTC`);
    render(lifecycle, lifecycleButtons(task, (t) => show({ ...task, ...t })));
    render(produced, annotationsList(task.annotations || []));
  }

  const page = h(
    "article",
    { class: "task-page", "data-task": task.task_id },
    h("p", {}, h("a", { href: "#/tasks" }, "All tasks")),
    heading,
    statusLine,
    lifecycle,
    h("section", { "aria-labelledby": "actions-title" }, h("h2", { id: "actions-title" }, "Actions from your plugins"), actionsList(task.task_id, panel.actions, output), output),
    h("section", { "aria-labelledby": "produced-title" }, h("h2", { id: "produced-title" }, "What plugins produced"), live, announce, produced),
  );
  render(container, page);
  show(task);

  openLive({
    types: ["task.*"],
    alive: () => page.isConnected,
    onState: (st, detail) => {
      live.dataset.state = st;
      live.textContent = LIVE_TEXT[st](detail);
      if (st === "failed") showProblem(detail); // the API refused a ticket: its problem, like any other
    },
    onEvent: (event) => {
      const data = event.data || {};
      if (data.task_id !== task.task_id) return;
      // The event carries the task's status and annotations as they are now; the rest of the task is unchanged.
      const changes = { status: data.status, updated_at: event.time };
      if (Array.isArray(data.annotations)) changes.annotations = data.annotations;
      show({ ...task, ...changes });
      announce.textContent = event.type === "task.updated" ? `${data.updated_by || "A plugin"} updated this task.` : `Task ${data.status}.`;
    },
  });
}
