// The marketplace: search, filter by category, sort and page through the listing, in one request per change.
import { api } from "./api.js";
import { h, field, render, formatDate } from "./dom.js";
import { showProblem, clearProblem, navigate } from "./app.js";

const PAGE_SIZE = 12;
// Survives leaving the view, so coming back shows the same search and page.
const state = { query: "", category: "", sort: "name", limit: PAGE_SIZE, tokens: [null], categories: new Set() };

export const installsText = (n) => `${n} install${n === 1 ? "" : "s"}`;

export function verifiedBadge(verified) {
  return verified ? h("span", { class: "badge verified", title: "The platform verified this publisher" }, "✓ Verified") : null;
}

function card(plugin) {
  return h(
    "li",
    { class: "card plugin-card", "data-plugin": plugin.plugin_id },
    h("h3", {}, h("a", { href: `#/plugin/${encodeURIComponent(plugin.plugin_id)}` }, plugin.name)),
    h("p", { class: "meta" }, `by ${plugin.publisher} `, verifiedBadge(plugin.publisher_verified)),
    h("p", {}, plugin.description),
    h(
      "p",
      { class: "meta" },
      plugin.latest_version ? `v${plugin.latest_version} · ` : "",
      `${installsText(plugin.install_count)} · updated ${formatDate(plugin.updated_at)}`,
    ),
    plugin.categories.length ? h("ul", { class: "tags", "aria-label": "Categories" }, plugin.categories.map((c) => h("li", {}, c))) : null,
    plugin.deprecated ? h("p", { class: "warning" }, `Deprecated: ${plugin.deprecation_message || ""}`) : null,
  );
}

// The search lives in the address (#/marketplace?query=…&category=…&sort=…&limit=…): bookmarkable, and Back works.
function paramsToState(params) {
  const limit = Number(params.get("limit"));
  const next = {
    query: params.get("query") || "",
    category: params.get("category") || "",
    sort: params.get("sort") || "name",
    limit: Number.isInteger(limit) && limit >= 1 && limit <= 100 ? limit : PAGE_SIZE,
  };
  if (["query", "category", "sort", "limit"].some((k) => next[k] !== state[k])) state.tokens = [null];
  Object.assign(state, next);
}

let mounted = null;

export async function marketplaceView(container, params) {
  paramsToState(params);
  if (mounted && container.contains(mounted.form)) return mounted.refresh(); // same view: keep focus where it is
  const search = h("input", { type: "search", name: "query", placeholder: "Name, description, publisher" });
  const category = h("select", { name: "category" });
  const sort = h(
    "select",
    { name: "sort" },
    [["name", "Name"], ["installs", "Most installed"], ["recent", "Recently updated"]].map(([v, label]) => h("option", { value: v }, label)),
  );
  const results = h("div", { id: "results", "aria-live": "polite", "aria-busy": "true" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  const form = h(
    "form",
    { class: "filters", role: "search" },
    field("Search", search),
    field("Category", category),
    field("Sort by", sort),
    h("button", { type: "submit", class: "primary" }, "Search"),
  );

  function fillCategories() {
    render(
      category,
      h("option", { value: "" }, "All categories"),
      [...new Set([...state.categories, state.category].filter(Boolean))].sort().map((c) => h("option", { value: c }, c)),
    );
    category.value = state.category;
  }

  let latest = 0; // only the answer to the last request is shown, whatever order the answers come back in

  async function load() {
    const ticket = ++latest;
    results.setAttribute("aria-busy", "true");
    const page = state.tokens.length - 1;
    try {
      const data = await api("/api/plugins/list", {
        query: { query: state.query, category: state.category, sort: state.sort, limit: state.limit, next_token: state.tokens[page] },
      });
      if (ticket !== latest) return;
      data.items.forEach((p) => p.categories.forEach((c) => state.categories.add(c)));
      fillCategories();
      clearProblem();
      render(
        results,
        data.items.length
          ? h("ul", { class: "grid", "aria-label": "Plugins" }, data.items.map(card))
          : h("p", { class: "empty" }, "No plugin matches this search."),
      );
      render(
        pager,
        h("button", { type: "button", name: "previous", disabled: page === 0, onclick: () => { state.tokens.pop(); load(); } }, "Previous page"),
        h("span", { class: "page-number" }, `Page ${page + 1}`),
        h("button", { type: "button", name: "next", disabled: !data.next_token, onclick: () => { state.tokens.push(data.next_token); load(); } }, "Next page"),
      );
      // The first-render figure: navigation start → the list on screen (read by the browser tests).
      if (!performance.getEntriesByName("marketplace-rendered").length) performance.mark("marketplace-rendered");
    } catch (err) {
      if (ticket !== latest) return;
      render(results);
      render(pager);
      showProblem(err);
    } finally {
      if (ticket === latest) results.setAttribute("aria-busy", "false");
    }
  }

  function refresh() {
    search.value = state.query;
    sort.value = state.sort;
    fillCategories();
    return load();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    if (search.value.trim()) params.set("query", search.value.trim());
    if (category.value) params.set("category", category.value);
    if (sort.value !== "name") params.set("sort", sort.value);
    if (state.limit !== PAGE_SIZE) params.set("limit", String(state.limit));
    const address = params.toString(); // not params.size: WebKit 2.38 lacks it
    navigate(`#/marketplace${address ? `?${address}` : ""}`);
  });
  for (const select of [category, sort]) select.addEventListener("change", () => form.requestSubmit());

  mounted = { form, refresh };
  render(container, h("h1", {}, "Marketplace"), form, results, pager);
  await refresh();
}
