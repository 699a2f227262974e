/**
 * What the popup shows for a page, from the host's `lookup` answer.
 *
 * Kept apart from the DOM so the rules are tested: a page that is saved shows
 * its state and is not saved again; one whose save is still queued (the
 * service was offline) shows "Queued offline" and is not saved again either.
 */
import { describeUnconfirmed } from "./words.js";

/** Normalize a lookup result (PROTOCOL.md 3) into the popup's item. */
export function itemFromLookup(lookup) {
  const tags = Array.isArray(lookup?.tags) ? lookup.tags.filter((t) => typeof t === "string") : [];
  return {
    saved: Boolean(lookup?.saved),
    pending: Number.isInteger(lookup?.pending) ? lookup.pending : 0,
    itemId: typeof lookup?.item_id === "string" ? lookup.item_id : null,
    archived: lookup?.status === "archived",
    favorite: Boolean(lookup?.favorite),
    tags,
    // null: a helper app older than `has_article` (ask for the copy instead)
    hasArticle: typeof lookup?.has_article === "boolean" ? lookup.has_article : null,
  };
}

/** Should opening the popup save the page? Only when it is neither saved nor waiting to be. */
export function needsSave(item) {
  return !item.saved && item.pending === 0;
}

/** The status line: {state, text} for data-state and the words. */
export function headline(item, { justSaved = false } = {}) {
  if (item.saved && item.pending === 0) {
    if (justSaved) return { state: "saved", text: "Saved" };
    return { state: "saved", text: item.archived ? "Saved \u00b7 archived" : "Already saved" };
  }
  if (item.saved || item.pending > 0) {
    return { state: "queued", text: item.saved ? "Saved \u00b7 changes queued" : "Queued offline" };
  }
  return { state: "removed", text: "Not in your list" };
}

/** The status line while a write waits for the service (a `retrying` event). */
export function retryHeadline(event) {
  if (event?.reason === "rate_limited") return { state: "queued", text: "Queued: the service is busy" };
  return { state: "queued", text: "Queued offline" };
}

/**
 * What the popup shows right after its save (`request`) settled, when the
 * answer says it all: a write recovered after the helper app restarted
 * (port.js) carries the new host's `lookup`, which decides the words exactly
 * as a normal `lookup` does, and `writeOutcome` whether the save went through
 * (if not, `describeUnconfirmed` says so); one recovered without a lookup (the
 * helper app did not come back) is still in its queue. Returns null for a
 * normal answer: then the caller reads the page's state with `lookup` itself.
 */
export function afterSave(request, result) {
  if (!result?.recovered) return null;
  if (!result.lookup) {
    const tags = Array.isArray(request?.tags) ? [...request.tags] : [];
    const item = { ...itemFromLookup(null), pending: 1, tags };
    return { item, line: { state: "queued", text: "Queued offline" }, detail: null };
  }
  const item = itemFromLookup(result.lookup);
  const line = headline(item, { justSaved: true });
  const detail = writeOutcome(request, result) === "failed" ? describeUnconfirmed(request) : null;
  return { item, line, detail };
}

function sameTags(a, b) {
  const norm = (list) => [...new Set(list.map((t) => t.toLowerCase()))].sort().join("\n");
  return norm(a) === norm(b);
}

/** Whether the item carries a tag (tags compare without case). */
function carries(item) {
  const have = new Set(item.tags.map((t) => t.toLowerCase()));
  return (tag) => have.has(tag.toLowerCase());
}

/**
 * Per write op (test/itemstate.test.js checks there is one for each): does the
 * item, as `lookup` shows it, carry the change the request asked for? `null`
 * where no `lookup` of one page can tell (tags across the list, Mastodon).
 */
export const CHANGE_SHOWN = Object.freeze({
  save: (item) => item.saved,
  delete: (item) => !item.saved,
  archive: (item) => item.saved && item.archived,
  readd: (item) => item.saved && !item.archived,
  favorite: (item) => item.saved && item.favorite,
  unfavorite: (item) => item.saved && !item.favorite,
  tags_add: (item, asked) => item.saved && asked.every(carries(item)),
  tags_remove: (item, asked) => item.saved && !asked.some(carries(item)),
  tags_replace: (item, asked) => item.saved && sameTags(item.tags, asked),
  tags_clear: (item) => item.saved && item.tags.length === 0,
  tag_rename: null,
  tag_delete: null,
  bookmark: null,
  unbookmark: null,
});

/** Does the item, as `lookup` shows it, carry the change `request` asked for? */
function showsChange(request, item) {
  const shown = CHANGE_SHOWN[request?.op];
  if (!shown) return true; // nothing to check it against: the helper app's word stands
  return shown(item, Array.isArray(request?.tags) ? request.tags : []);
}

/**
 * How a write ended, for the badge: "done" (the service has it), "waiting"
 * (the helper app keeps it queued: recovered without a lookup, or the lookup
 * still counts it pending) or "failed" (recovered, and the lookup shows the
 * change did not happen). Only recovered writes (port.js) can be anything but
 * "done": a write that failed normally rejects instead.
 */
export function writeOutcome(request, result) {
  if (!result?.recovered) return "done";
  if (!result.lookup) return "waiting";
  const item = itemFromLookup(result.lookup);
  if (item.pending > 0) return "waiting";
  return showsChange(request, item) ? "done" : "failed";
}
