/**
 * What the popup shows for a page, from the host's `lookup` answer.
 *
 * Kept apart from the DOM so the rules are tested: a page that is saved shows
 * its state and is not saved again; one whose save is still queued (the
 * service was offline) shows "Queued offline" and is not saved again either.
 */

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
