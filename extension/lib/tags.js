/**
 * Tags as the user types them, and as the protocol wants them.
 *
 * PROTOCOL.md 3: tags are strings, trimmed, non-empty, without commas, at most
 * 100 characters. The user may type several at once separated by commas
 * ("news, later"), so a comma here splits instead of being refused.
 */

export const MAX_TAG_LENGTH = 100;
export const MAX_TAGS = 100;

/**
 * Split typed text into tags: `{ tags, problems }`.
 *
 * Duplicates (also against `existing`) are dropped silently; a tag that is too
 * long is left out and named in `problems`, so the popup can say why.
 */
export function parseTags(text, existing = []) {
  const seen = new Set(existing.map((t) => t.toLowerCase()));
  const tags = [];
  const problems = [];
  for (const piece of String(text ?? "").split(/[,\n]/)) {
    const tag = piece.trim().replace(/\s+/g, " ");
    if (!tag) continue;
    if (tag.length > MAX_TAG_LENGTH) {
      problems.push(`"${tag.slice(0, 20)}..." is longer than ${MAX_TAG_LENGTH} characters`);
      continue;
    }
    const key = tag.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    tags.push(tag);
  }
  return { tags, problems };
}

/**
 * Known tags that start with what was typed, minus the ones already chosen, best first.
 * `known` may come most used first (`tags` with `counts`); pass `byUse` to keep that order.
 */
export function completeTags(known, typed, chosen = [], limit = 8, { byUse = false } = {}) {
  const prefix = String(typed ?? "").trim().toLowerCase();
  const taken = new Set(chosen.map((t) => t.toLowerCase()));
  const found = [...new Set(known)].filter((t) => !taken.has(t.toLowerCase()) && t.toLowerCase().startsWith(prefix));
  if (!byUse) found.sort((a, b) => a.length - b.length || a.localeCompare(b));
  return found.slice(0, limit);
}

/**
 * The suggestions under a tag field, chosen with the arrow keys (an ARIA listbox,
 * not a datalist, whose order and keys each browser decides for itself).
 */
export class Suggestions {
  constructor() {
    this.items = [];
    this.active = -1;
  }

  /** New matches; nothing is chosen until an arrow key says so. */
  show(items) {
    this.items = items;
    this.active = -1;
  }

  /** Arrow down (+1) or up (-1), wrapping; returns the chosen tag. */
  move(delta) {
    if (!this.items.length) return null;
    const n = this.items.length;
    this.active = this.active < 0 && delta < 0 ? n - 1 : (this.active + delta + n) % n;
    return this.items[this.active];
  }

  get chosen() {
    return this.active >= 0 ? this.items[this.active] : null;
  }

  /** The field's text with its last comma-separated part replaced by `tag`. */
  static complete(text, tag) {
    const parts = String(text ?? "").split(",");
    parts[parts.length - 1] = parts.length > 1 ? ` ${tag}` : tag;
    return parts.join(",");
  }
}

/** Default tags as stored in the options: the same rules as typed tags. */
export function normalizeTagList(list) {
  return parseTags(Array.isArray(list) ? list.join(",") : String(list ?? "")).tags;
}
