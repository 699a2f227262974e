/**
 * "Your list": views, tags, search as you type, infinite scroll, per-item and
 * bulk actions, the keyboard. Reads are the host's `list` and `tags` ops;
 * writes go through the background like the popup's (lib/relay.js), and a
 * bulk action sends all its writes at once so the host sends them as one batch.
 */
import { ext } from "../lib/browser.js";
import {
  Selection,
  UNTAGGED,
  appendPage,
  bulkOutcome,
  bulkRequests,
  emptyMessage,
  keyAction,
  listRequest,
  readingTime,
  shortDate,
  undoDeleteRequests,
} from "../lib/listview.js";
import { readerUrl } from "../lib/reader.js";
import { BackgroundClient } from "../lib/relay.js";
import { itemRequest, tagsListRequest, tagsRequest } from "../lib/requests.js";
import { parseTags } from "../lib/tags.js";
import { describeError } from "../lib/words.js";

const client = new BackgroundClient();
const $ = (id) => document.getElementById(id);
const SEARCH_DELAY_MS = 150;
const TOAST_MS = 10000;

const state = { view: "unread", tag: null, search: "", sort: "", items: [], cursor: null, total: 0, current: -1 };
const selection = new Selection();
let generation = 0;
let loading = false;
let searchTimer = null;
let toastTimer = null;
let undoAction = null;
let openTabs = new Map(); // url -> tab id, for "Keep a copy" of an open page

// -- loading -------------------------------------------------------------------

async function load({ more = false } = {}) {
  if (more && (!state.cursor || loading)) return;
  const mine = more ? generation : ++generation;
  loading = true;
  $("main").setAttribute("aria-busy", "true");
  try {
    const request = listRequest({ ...state, cursor: more ? state.cursor : null });
    const page = await client.request(request);
    if (mine !== generation) return;
    state.items = more ? appendPage(state.items, page.items) : page.items;
    state.cursor = page.next_cursor;
    state.total = page.total;
    if (!more) selection.clear();
    // After an action the keyboard stays where it was; a new filter starts at the top.
    state.current = state.items.length ? Math.min(Math.max(state.current, 0), state.items.length - 1) : -1;
    showError(null);
    render();
  } catch (error) {
    if (mine === generation) showError(describeError(error, {}));
  } finally {
    if (mine === generation) {
      loading = false;
      $("main").setAttribute("aria-busy", "false");
      document.body.dataset.loaded = String(Number(document.body.dataset.loaded ?? 0) + 1);
    }
  }
}

async function loadTags() {
  try {
    const { tags } = await client.request(tagsListRequest("", { counts: true }));
    renderTags(tags);
  } catch (error) {
    console.warn("tuckaway: tags", error);
  }
}

function reload() {
  load();
  loadTags();
}

/** The web pages open in tabs now: a row whose page is open can keep a copy of it. */
async function loadOpenTabs() {
  try {
    const tabs = await ext.tabs.query({});
    openTabs = new Map(tabs.filter((t) => typeof t.url === "string").map((t) => [t.url, t.id]));
  } catch {
    openTabs = new Map();
  }
}

// -- rendering -------------------------------------------------------------------

function render() {
  const list = $("items");
  list.replaceChildren(...state.items.map((item, i) => row(item, i)));
  const shown = state.items.length;
  $("count").textContent = shown
    ? `${state.total.toLocaleString()} item${state.total === 1 ? "" : "s"}`
    : "";
  $("empty").hidden = shown > 0;
  $("empty").textContent = emptyMessage(state);
  renderSelection();
}

function row(item, index) {
  const li = document.createElement("li");
  li.className = "row";
  li.dataset.id = item.item_id;
  li.classList.toggle("current", index === state.current);
  li.classList.toggle("selected", selection.has(item.item_id));
  li.classList.toggle("archived", item.status === "archived");

  const check = document.createElement("input");
  check.type = "checkbox";
  check.checked = selection.has(item.item_id);
  check.setAttribute("aria-label", `Select ${item.title || item.url}`);
  check.addEventListener("click", (event) => {
    selection.toggle(item.item_id, order(), { range: event.shiftKey });
    render();
  });

  const body = document.createElement("div");
  const title = document.createElement("a");
  title.className = "title";
  title.href = item.url;
  title.textContent = item.title || item.url;
  title.addEventListener("click", (event) => {
    event.preventDefault();
    openItem(item);
  });
  title.addEventListener("focus", () => setCurrent(index, { focus: false }));
  const meta = document.createElement("div");
  meta.className = "meta";
  const bits = [item.domain, shortDate(item.time_added), readingTime(item.word_count)];
  if (item.favorite) bits.unshift("\u2605 favorite");
  if (item.status === "archived" && state.view !== "archive") bits.push("archived");
  for (const text of bits.filter(Boolean)) {
    const span = document.createElement("span");
    span.textContent = text;
    meta.append(span);
  }
  for (const tag of item.tags) {
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.textContent = tag;
    meta.append(chip);
  }
  body.append(title, meta);
  if (item.excerpt) {
    const excerpt = document.createElement("p");
    excerpt.className = "excerpt";
    excerpt.textContent = item.excerpt.slice(0, 300);
    body.append(excerpt);
  }

  const actions = document.createElement("div");
  actions.className = "actions";
  const label = item.title || item.url;
  if (item.has_article) actions.append(button("Read", `Read the copy: ${label}`, () => readItem(item)));
  else if (openTabs.has(item.url)) actions.append(button("Keep a copy", `Keep a copy of the open page: ${label}`, () => keepCopy(item)));
  actions.append(
    button(item.status === "archived" ? "Unread" : "Archive", `${item.status === "archived" ? "Move to unread" : "Archive"}: ${label}`, () => toggleArchive(item)),
    button(item.favorite ? "\u2605" : "\u2606", `${item.favorite ? "Unfavorite" : "Favorite"}: ${label}`, () => toggleFavorite(item), item.favorite),
    button("Tags", `Edit tags: ${label}`, () => editTags(item)),
    button("Delete", `Delete: ${label}`, () => deleteItem(item)),
  );
  li.append(check, body, actions);
  return li;
}

function button(text, label, onClick, pressed = null) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.setAttribute("aria-label", label);
  if (pressed !== null) b.setAttribute("aria-pressed", String(pressed));
  b.addEventListener("click", onClick);
  return b;
}

function renderTags(tags) {
  const entries = [{ tag: UNTAGGED, label: "Untagged", count: null }, ...tags.map((t) => ({ ...t, label: t.tag }))];
  $("tags").replaceChildren(
    ...entries.map(({ tag, label, count }) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.tag = tag;
      if (state.tag === tag) b.setAttribute("aria-current", "page");
      const name = document.createElement("span");
      name.textContent = label;
      b.append(name);
      if (count !== null) {
        const n = document.createElement("span");
        n.className = "count";
        n.textContent = String(count);
        b.append(n);
      }
      b.addEventListener("click", () => setFilter({ tag: state.tag === tag ? null : tag }));
      li.append(b);
      return li;
    }),
  );
}

function renderSelection() {
  selection.keepOnly(order());
  $("bulk").hidden = selection.size === 0;
  $("bulk-count").textContent = `${selection.size} selected`;
  $("select-all").checked = selection.size > 0 && selection.size === state.items.length;
}

function showError(text) {
  $("error").textContent = text ?? "";
  $("error").hidden = !text;
}

function order() {
  return state.items.map((item) => item.item_id);
}

// -- filters ----------------------------------------------------------------------

function setFilter(change) {
  Object.assign(state, change, { current: 0 });
  for (const b of document.querySelectorAll("#views button")) {
    if (b.dataset.view === state.view) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  }
  for (const b of document.querySelectorAll("#tags button")) {
    if (b.dataset.tag === state.tag) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  }
  load();
}

// -- item actions ---------------------------------------------------------------

async function write(requests) {
  return Promise.allSettled(requests.map((request) => client.request(request)));
}

function readItem(item) {
  ext.tabs.create({ url: ext.runtime.getURL(readerUrl({ item_id: item.item_id })) }).catch((error) => showError(describeError(error, {})));
}

/**
 * Keep a copy of a saved page open in a tab: the site's permission is asked
 * for here (it needs this click), then the background reads the page.
 */
async function keepCopy(item) {
  const tabId = openTabs.get(item.url);
  let origin;
  try {
    origin = `${new URL(item.url).origin}/*`;
  } catch {
    return;
  }
  const allowed = await ext.permissions.request({ origins: [origin] }).catch(() => false);
  if (!allowed) {
    showError("Tuckaway needs your permission to read that page to keep a copy of it.");
    return;
  }
  try {
    await client.send({ kind: "keep-copy", tabId });
    showToast("Copy kept");
  } catch (error) {
    showError(describeError(error, {}));
  }
  reload();
}

function openItem(item) {
  ext.tabs.create({ url: item.url }).catch((error) => showError(describeError(error, {})));
}

async function toggleArchive(item) {
  const op = item.status === "archived" ? "readd" : "archive";
  await single(itemRequest(op, { item_id: item.item_id }), op === "archive" ? "Archived" : "Moved to unread", () =>
    toggleArchive({ ...item, status: op === "archive" ? "archived" : "unread" }),
  );
}

async function toggleFavorite(item) {
  const op = item.favorite ? "unfavorite" : "favorite";
  await single(itemRequest(op, { item_id: item.item_id }), null);
}

async function deleteItem(item) {
  await single(itemRequest("delete", { item_id: item.item_id }), "Deleted", async () => {
    const [saved, ...rest] = await write(undoDeleteRequests(item));
    if (saved.status === "rejected") showError(describeError(saved.reason, {}));
    else if (rest.some((r) => r.status === "rejected")) showError("Restored, but not every detail came back.");
  });
}

/** One write; on success refresh, and offer `undo` in a toast when given. */
async function single(request, toast, undo = null) {
  const [result] = await write([request]);
  if (result.status === "rejected") {
    showError(describeError(result.reason, {}));
    return;
  }
  if (toast) showToast(toast, undo);
  reload();
}

function editTags(item) {
  const li = document.querySelector(`.row[data-id="${CSS.escape(item.item_id)}"]`);
  if (!li || li.querySelector(".edit-tags")) return;
  const form = document.createElement("form");
  form.className = "edit-tags";
  const input = document.createElement("input");
  input.type = "text";
  input.value = item.tags.join(", ");
  input.setAttribute("aria-label", `Tags of ${item.title || item.url}, separated by commas`);
  const save = document.createElement("button");
  save.type = "submit";
  save.textContent = "Save tags";
  form.append(input, save);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const tags = parseTags(input.value).tags;
    const request = tags.length
      ? tagsRequest("tags_replace", { item_id: item.item_id }, tags)
      : itemRequest("tags_clear", { item_id: item.item_id });
    await single(request, null);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      form.remove();
      focusCurrent();
    }
  });
  li.children[1].append(form);
  input.focus();
}

// -- bulk -------------------------------------------------------------------------

async function bulk(action) {
  const items = state.items.filter((item) => selection.has(item.item_id));
  if (!items.length) return;
  let tags = [];
  if (action === "tag") {
    tags = parseTags($("bulk-tags").value).tags;
    if (!tags.length) {
      $("bulk-tags").focus();
      return;
    }
    $("bulk-tags").value = "";
  }
  const progress = $("bulk-progress");
  progress.hidden = false;
  progress.max = items.length;
  progress.value = 0;
  const requests = bulkRequests(action, items, tags);
  // Sent together: the host records them in one commit and a service gets one call.
  const settled = await Promise.allSettled(
    requests.map((request) =>
      client.request(request).finally(() => {
        progress.value += 1;
      }),
    ),
  );
  progress.hidden = true;
  const { done, failed } = bulkOutcome(items, settled);
  const report = $("bulk-report");
  report.hidden = failed.length === 0;
  report.replaceChildren();
  if (failed.length) {
    const p = document.createElement("p");
    p.textContent = `${done} done, ${failed.length} failed:`;
    const ul = document.createElement("ul");
    for (const { item, message } of failed) {
      const li = document.createElement("li");
      li.textContent = `${item.title || item.url}: ${message}`;
      ul.append(li);
    }
    report.append(p, ul);
  }
  if (action === "delete" && done) {
    const gone = items.filter((_, i) => settled[i].status === "fulfilled");
    showToast(`Deleted ${gone.length}`, () => write(gone.flatMap(undoDeleteRequests)));
  } else if (done) {
    showToast(`${done} updated`);
  }
  selection.clear();
  reload();
}

// -- toast ------------------------------------------------------------------------

function showToast(text, undo = null) {
  clearTimeout(toastTimer);
  undoAction = undo;
  $("toast-text").textContent = text;
  $("toast-undo").hidden = !undo;
  $("toast").hidden = false;
  toastTimer = setTimeout(hideToast, TOAST_MS);
}

function hideToast() {
  $("toast").hidden = true;
  undoAction = null;
}

async function undo() {
  const action = undoAction;
  hideToast();
  if (!action) return;
  await action();
  reload();
}

// -- keyboard ---------------------------------------------------------------------

function setCurrent(index, { focus = true } = {}) {
  if (!state.items.length) return;
  state.current = Math.max(0, Math.min(index, state.items.length - 1));
  for (const [i, li] of [...$("items").children].entries()) li.classList.toggle("current", i === state.current);
  if (focus) focusCurrent();
  if (state.current >= state.items.length - 5) load({ more: true });
}

function focusCurrent() {
  const li = $("items").children[state.current];
  li?.querySelector(".title")?.focus();
  li?.scrollIntoView({ block: "nearest" });
}

function onKey(event) {
  if ($("help").open) return; // the dialog has the keyboard (Escape closes it)
  const typing = event.target instanceof HTMLInputElement && event.target.type !== "checkbox";
  const action = keyAction(event, { typing: typing || event.target instanceof HTMLSelectElement });
  if (!action) return;
  const item = state.items[state.current];
  const handlers = {
    next: () => setCurrent(state.current + 1),
    previous: () => setCurrent(state.current - 1),
    open: () => item && openItem(item),
    archive: () => item && toggleArchive(item),
    favorite: () => item && toggleFavorite(item),
    tags: () => item && editTags(item),
    delete: () => item && deleteItem(item),
    select: () => {
      if (!item) return;
      selection.toggle(item.item_id, order());
      render();
      focusCurrent();
    },
    search: () => $("search").focus(),
    help: () => $("help").showModal(),
    "leave-input": () => {
      event.target.blur();
      focusCurrent();
    },
    escape: () => {
      selection.clear();
      renderSelection();
      render();
    },
  };
  if (action === "open" && event.target instanceof HTMLButtonElement) return;
  if (action !== "escape") event.preventDefault();
  handlers[action]?.();
}

// -- wiring -----------------------------------------------------------------------

function start() {
  const params = new URLSearchParams(location.search);
  if (params.get("q")) {
    state.search = params.get("q");
    $("search").value = state.search;
  }
  $("search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => setFilter({ search: $("search").value }), SEARCH_DELAY_MS);
  });
  $("sort").addEventListener("change", () => setFilter({ sort: $("sort").value }));
  for (const b of document.querySelectorAll("#views button")) {
    b.addEventListener("click", () => setFilter({ view: b.dataset.view }));
  }
  for (const b of document.querySelectorAll("[data-bulk]")) b.addEventListener("click", () => bulk(b.dataset.bulk));
  $("bulk-clear").addEventListener("click", () => {
    selection.clear();
    render();
  });
  $("select-all").addEventListener("change", (event) => {
    selection.clear();
    if (event.target.checked) for (const id of order()) selection.toggle(id, order());
    render();
  });
  $("toast-undo").addEventListener("click", undo);
  $("help-button").addEventListener("click", () => $("help").showModal());
  document.addEventListener("keydown", onKey);
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) load({ more: true });
  }).observe($("more"));
  loadOpenTabs().then(reload);
}

start();
