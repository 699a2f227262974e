/**
 * The list page's logic, apart from the DOM (list/list.js draws it; tests drive this).
 *
 * Views map to the host's `list` filters; the selection knows shift-click
 * ranges; a bulk action is a list of write requests sent together, so the
 * host's batcher sends them to a Pocket-compatible service as one call; an
 * undo of a delete is the requests that bring the item back as it was.
 */
import { itemRequest, saveRequest, tagsRequest } from "./requests.js";

export const LIST_PAGE = "list/list.html";
export const VIEWS = Object.freeze(["unread", "archive", "favorites", "all"]);
export const SORTS = Object.freeze(["newest", "oldest", "title", "relevance"]);
export const PAGE_SIZE = 50;
export const UNTAGGED = "_untagged_";
const WORDS_PER_MINUTE = 230;

/** The `list` request for a view, tag, search, sort and cursor. */
export function listRequest({ view = "unread", tag = null, search = "", sort = null, cursor = null, limit = PAGE_SIZE } = {}) {
  const request = { op: "list", limit };
  if (view === "favorites") {
    request.state = "all";
    request.favorite = true;
  } else {
    request.state = VIEWS.includes(view) ? view : "unread";
  }
  if (tag) request.tag = tag;
  const words = String(search ?? "").trim();
  if (words) request.search = words.slice(0, 500);
  if (sort && SORTS.includes(sort) && (sort !== "relevance" || words)) request.sort = sort;
  if (cursor) request.cursor = cursor;
  return request;
}

/** "4 min read" from a word count; null when the service does not know it. */
export function readingTime(wordCount) {
  if (!Number.isFinite(wordCount) || wordCount <= 0) return null;
  return `${Math.max(1, Math.round(wordCount / WORDS_PER_MINUTE))} min read`;
}

/** A short date: "today", "yesterday", "3 days ago", or "12 Mar 2025". */
export function shortDate(seconds, now = Date.now()) {
  const then = new Date(seconds * 1000);
  const startOf = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const days = Math.round((startOf(new Date(now)) - startOf(then)) / 86_400_000);
  if (days <= 0) return "today";
  if (days === 1) return "yesterday";
  if (days < 7) return `${days} days ago`;
  return then.toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric" });
}

/** What the empty list says, by view and search: what to do next. */
export function emptyMessage({ view = "unread", tag = null, search = "" } = {}) {
  if (String(search).trim()) return `Nothing matches \u201c${String(search).trim()}\u201d. Try fewer or shorter words.`;
  if (tag) return "No items with this tag in this view.";
  switch (view) {
    case "archive":
      return "Nothing archived yet. Archive an item (e) when you have read it.";
    case "favorites":
      return "No favorites yet. Mark an item with f to find it here.";
    case "all":
    case "unread":
    default:
      return "Your list is empty. Save a page with the toolbar button, the right-click menu or Alt+Shift+K.";
  }
}

/** Checked items, with shift-click ranges over the order shown. */
export class Selection {
  constructor() {
    this.ids = new Set();
    this.anchor = null;
  }

  get size() {
    return this.ids.size;
  }

  has(id) {
    return this.ids.has(id);
  }

  /** Toggle one item; with `range`, set every item from the last one toggled to this one. */
  toggle(id, order, { range = false } = {}) {
    const on = !this.ids.has(id);
    if (range && this.anchor !== null && order.includes(this.anchor)) {
      const [a, b] = [order.indexOf(this.anchor), order.indexOf(id)].sort((x, y) => x - y);
      const value = this.ids.has(this.anchor);
      for (const each of order.slice(a, b + 1)) {
        if (value) this.ids.add(each);
        else this.ids.delete(each);
      }
    } else if (on) {
      this.ids.add(id);
    } else {
      this.ids.delete(id);
    }
    this.anchor = id;
    return this.ids.has(id);
  }

  clear() {
    this.ids.clear();
    this.anchor = null;
  }

  /** Forget ids no longer shown. */
  keepOnly(order) {
    for (const id of [...this.ids]) if (!order.includes(id)) this.ids.delete(id);
  }
}

/** The requests of one bulk action over items: archive, readd, favorite, unfavorite, delete, tag. */
export function bulkRequests(action, items, tags = []) {
  if (action === "tag") return items.map((item) => tagsRequest("tags_add", { item_id: item.item_id }, tags));
  return items.map((item) => itemRequest(action, { item_id: item.item_id }));
}

/** Settled results of a bulk action, paired with its items: done count and each failure. */
export function bulkOutcome(items, settled) {
  const failed = [];
  settled.forEach((result, i) => {
    if (result.status === "rejected") {
      failed.push({ item: items[i], message: String(result.reason?.message ?? result.reason ?? "failed") });
    }
  });
  return { done: items.length - failed.length, failed };
}

/**
 * The requests that undo a delete: save the url again with its title and
 * tags, then favorite and archive it if it was (by url: the host orders them
 * after the save in the same batch).
 */
export function undoDeleteRequests(item) {
  const requests = [saveRequest({ url: item.url, title: item.title || null, tags: item.tags ?? [] })];
  if (item.favorite) requests.push(itemRequest("favorite", { url: item.url }));
  if (item.status === "archived") requests.push(itemRequest("archive", { url: item.url }));
  return requests;
}

/** The keyboard: a key (and whether an input has focus) to an action name, or null. */
export function keyAction(event, { typing = false } = {}) {
  if (event.ctrlKey || event.metaKey || event.altKey) return null;
  if (typing) return event.key === "Escape" ? "leave-input" : null;
  const keys = {
    j: "next",
    ArrowDown: "next",
    k: "previous",
    ArrowUp: "previous",
    o: "open",
    Enter: "open",
    e: "archive",
    f: "favorite",
    t: "tags",
    "#": "delete",
    Delete: "delete",
    x: "select",
    "/": "search",
    "?": "help",
    Escape: "escape",
  };
  return keys[event.key] ?? null;
}

/** The host's items of a page appended to those shown, without repeats. */
export function appendPage(shown, page) {
  const seen = new Set(shown.map((item) => item.item_id));
  return [...shown, ...page.filter((item) => !seen.has(item.item_id))];
}

function escapeXml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Omnibox suggestions for items: Chrome reads descriptions as XML, Firefox as text. */
export function omniboxSuggestions(items, { xml = true } = {}) {
  return items.map((item) => {
    const title = item.title || item.url;
    const description = xml
      ? `${escapeXml(title)} <dim>${escapeXml(item.domain)}</dim>`
      : `${title} \u2014 ${item.domain}`;
    return { content: item.url, description };
  });
}
