// A configuration form generated from a plugin's JSON Schema (a top-level object): one labelled control per
// property, validated inline as the user types and on submit; secret fields (x-plugyard-secret or writeOnly)
// are password inputs whose value is sent once and never shown again. Given the current configuration, the form
// starts from its values; a secret already set is shown as set (never its value): left empty it keeps its stored
// value (the API keeps secret fields a new configuration leaves out), typed in it is replaced.
import { h, field } from "./dom.js";

export const isSecret = (spec) => spec["x-plugyard-secret"] === true || spec.writeOnly === true;

function control(name, spec, required, current) {
  const base = { name, required: required || null };
  const initial = current === undefined ? spec.default : current;
  if (Array.isArray(spec.enum)) {
    return h(
      "select",
      base,
      required ? null : h("option", { value: "" }, "—"),
      spec.enum.map((v) => h("option", { value: String(v), selected: initial === v }, String(v))),
    );
  }
  if (spec.type === "boolean") return h("input", { ...base, type: "checkbox", required: null, checked: initial === true });
  if (spec.type === "integer" || spec.type === "number") {
    return h("input", {
      ...base,
      type: "number",
      step: spec.type === "integer" ? "1" : "any",
      min: spec.minimum,
      max: spec.maximum,
      value: initial,
      inputmode: spec.type === "integer" ? "numeric" : "decimal",
    });
  }
  if (spec.type === "string") {
    return h("input", {
      ...base,
      type: isSecret(spec) ? "password" : spec.format === "uri" ? "url" : "text",
      autocomplete: isSecret(spec) ? "new-password" : "off",
      value: isSecret(spec) ? null : initial,
      minlength: spec.minLength,
      maxlength: spec.maxLength,
    });
  }
  // Arrays and nested objects: JSON text, parsed and checked for its type.
  return h("textarea", { ...base, rows: 3, "data-json": spec.type || "any" }, initial === undefined ? "" : JSON.stringify(initial));
}

// The message for one value, or "" when it is valid; only the schema keywords a form can explain.
function problemOf(spec, raw, el, required) {
  if (spec.type === "boolean") return "";
  if (raw === "") return required ? "Required." : "";
  if (el.dataset.json) {
    try {
      const v = JSON.parse(raw);
      if (spec.type === "array" && !Array.isArray(v)) return "Must be a JSON array.";
      if (spec.type === "object" && (typeof v !== "object" || v === null || Array.isArray(v))) return "Must be a JSON object.";
    } catch {
      return "Must be valid JSON.";
    }
    return "";
  }
  if (spec.type === "integer" || spec.type === "number") {
    const n = Number(raw);
    if (!Number.isFinite(n)) return "Must be a number.";
    if (spec.type === "integer" && !Number.isInteger(n)) return "Must be a whole number.";
    if (spec.minimum !== undefined && n < spec.minimum) return `Must be at least ${spec.minimum}.`;
    if (spec.maximum !== undefined && n > spec.maximum) return `Must be at most ${spec.maximum}.`;
    return "";
  }
  if (spec.minLength !== undefined && raw.length < spec.minLength) return `Must be at least ${spec.minLength} characters.`;
  if (spec.maxLength !== undefined && raw.length > spec.maxLength) return `Must be at most ${spec.maxLength} characters.`;
  if (spec.pattern && !new RegExp(spec.pattern, "u").test(raw)) return `Must match the pattern ${spec.pattern}.`;
  return "";
}

function valueOf(spec, el) {
  if (spec.type === "boolean") return el.checked;
  if (el.value === "") return undefined;
  if (el.dataset.json) return JSON.parse(el.value);
  if (spec.type === "integer" || spec.type === "number") return Number(el.value);
  if (Array.isArray(spec.enum)) return spec.enum.find((v) => String(v) === el.value);
  return el.value;
}

// Returns { element, read() } where read() gives the config object, or null after marking each invalid field.
// ``values``: the current public configuration; ``setSecrets``: the names of the secret fields already stored.
export function schemaForm(schema, { values = {}, setSecrets = [] } = {}) {
  const properties = (schema && schema.properties) || {};
  const required = new Set((schema && schema.required) || []);
  const kept = new Set(setSecrets);
  const rows = Object.entries(properties).map(([name, spec]) => {
    const isSet = isSecret(spec) && kept.has(name);
    const needed = required.has(name) && !isSet; // a secret already set may stay as it is
    const el = control(name, spec, needed, isSecret(spec) ? undefined : values[name]);
    const label = `${spec.title || name}${required.has(name) ? " (required)" : ""}`;
    const secretHint = isSet
      ? "Secret: set (stored encrypted, never shown). Leave empty to keep it, or type a new value to replace it."
      : "Secret: stored encrypted, never shown again.";
    const hint = [spec.description, isSecret(spec) ? secretHint : ""].filter(Boolean).join(" ");
    if (isSet) el.dataset.secretSet = "true";
    const wrapper = field(label, el, hint || null);
    const check = () => {
      const message = problemOf(spec, el.value, el, needed);
      const slot = wrapper.querySelector(".field-error");
      slot.textContent = message;
      slot.hidden = !message;
      el.setAttribute("aria-invalid", message ? "true" : "false");
      return !message;
    };
    el.addEventListener("input", check);
    el.addEventListener("blur", check);
    return { name, spec, el, check, wrapper };
  });
  const element = h(
    "fieldset",
    { class: "config" },
    h("legend", {}, "Configuration"),
    rows.length ? rows.map((r) => r.wrapper) : h("p", { class: "hint" }, "This plugin has no settings."),
  );
  return {
    element,
    read() {
      const invalid = rows.filter((r) => !r.check());
      if (invalid.length) {
        invalid[0].el.focus();
        return null;
      }
      const config = {};
      for (const r of rows) {
        const v = valueOf(r.spec, r.el);
        if (v !== undefined) config[r.name] = v;
      }
      return config;
    },
  };
}
