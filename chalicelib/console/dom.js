// A tiny element builder: h("button", {class: "x", onclick: fn}, "text", child…). Text is always set as text,
// never parsed as HTML, so nothing the API returns can inject markup.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// Replace a container's content.
export function render(container, ...children) {
  container.replaceChildren();
  append(container, children);
}

let ids = 0;
export function uid(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}

// A labelled form control: the label is tied to the control by id, a hint and an error slot by aria-describedby.
export function field(label, control, hint) {
  control.id = control.id || uid("f");
  const hintEl = hint ? h("p", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  const errorEl = h("p", { class: "field-error", id: `${control.id}-error`, hidden: true });
  control.setAttribute("aria-describedby", [hintEl ? hintEl.id : "", errorEl.id].join(" ").trim());
  return h("div", { class: "field" }, h("label", { for: control.id }, label), hintEl, control, errorEl);
}

export function formatDate(iso) {
  return iso ? new Date(iso).toISOString().slice(0, 10) : "";
}

// Ask before something that cannot be undone: resolves true only when the user confirms.
export function confirmDialog(message, confirmLabel) {
  // A native <dialog>: modal, focus kept inside, Escape cancels.
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-labelledby": "confirm-text" },
      h("p", { id: "confirm-text" }, message),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "danger", value: "yes", onclick: () => dialog.close("yes") }, confirmLabel),
        h("button", { type: "button", value: "no", onclick: () => dialog.close("no") }, "Cancel"),
      ),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "yes");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
