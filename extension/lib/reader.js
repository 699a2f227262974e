/**
 * The reader page's logic apart from the DOM (reader/reader.js draws it):
 * its address, fetching a kept copy chunk by chunk (`article` replies stay
 * under 1 MiB, protocol.md), the reading settings and reading positions.
 */
import { articleRequest } from "./requests.js";

export const READER_PAGE = "reader/reader.html";
/** At most this many chunks (a copy is at most 16 MiB, a chunk well over 256 KiB). */
export const MAX_CHUNKS = 128;
export const POSITIONS_KEPT = 300;

export const THEMES = Object.freeze(["light", "sepia", "dark"]);
export const WIDTHS = Object.freeze(["narrow", "medium", "wide"]);
export const FONT_SIZES = Object.freeze([14, 16, 18, 20, 22, 24, 28]);
export const READER_DEFAULTS = Object.freeze({ fontSize: 18, width: "medium", theme: "light", images: false });

/** "reader/reader.html?item=42" (or `?url=` for a page known by its address). */
export function readerUrl(where) {
  if (where?.item_id) return `${READER_PAGE}?item=${encodeURIComponent(where.item_id)}`;
  if (where?.url) return `${READER_PAGE}?url=${encodeURIComponent(where.url)}`;
  throw new TypeError("the reader needs an item_id or a url");
}

/** What the reader's address asks for: {item_id} or {url}, or null. */
export function readerTarget(search) {
  const params = new URLSearchParams(search);
  const item = params.get("item")?.trim();
  if (item) return { item_id: item };
  const url = params.get("url")?.trim();
  return url ? { url } : null;
}

/**
 * The whole copy: the first reply's metadata and every chunk's html joined.
 * `request(r)` sends one request to the host; `onChunk(done, size)` reports progress.
 */
export async function fetchArticle(request, where, { onChunk = null } = {}) {
  const first = await request(articleRequest(where));
  const parts = [first.html ?? ""];
  let next = first.next_offset ?? null;
  const target = { item_id: String(first.item_id ?? where.item_id ?? "") || undefined, url: where.url };
  for (let chunks = 1; next !== null; chunks += 1) {
    onChunk?.(next, first.size ?? null);
    if (chunks >= MAX_CHUNKS) throw new Error("the copy came in more pieces than a copy can have");
    const chunk = await request(articleRequest(target.item_id ? { item_id: target.item_id } : where, next));
    if (!(chunk.next_offset === null || chunk.next_offset > next)) throw new Error("the copy's pieces did not add up");
    parts.push(chunk.html ?? "");
    next = chunk.next_offset ?? null;
  }
  const { html: _first, next_offset: _next, offset: _offset, ...meta } = first;
  return { meta, html: parts.join("") };
}

/** Stored reading settings, each one checked, with the defaults for the rest. */
export function readerSettings(stored = {}) {
  const pick = (value, allowed, fallback) => (allowed.includes(value) ? value : fallback);
  return {
    fontSize: pick(stored.fontSize, FONT_SIZES, READER_DEFAULTS.fontSize),
    width: pick(stored.width, WIDTHS, READER_DEFAULTS.width),
    theme: pick(stored.theme, THEMES, READER_DEFAULTS.theme),
    images: stored.images === true,
  };
}

/** The next font size up (+1) or down (-1), within the list. */
export function stepFontSize(size, step) {
  const i = FONT_SIZES.indexOf(size);
  const at = i < 0 ? FONT_SIZES.indexOf(READER_DEFAULTS.fontSize) : i;
  return FONT_SIZES[Math.max(0, Math.min(FONT_SIZES.length - 1, at + step))];
}

/** Reading positions {id: {at: 0..1, t}}, with `id` at `fraction`; the oldest dropped past the limit. */
export function rememberPosition(positions, id, fraction, now = Date.now(), limit = POSITIONS_KEPT) {
  const at = Math.max(0, Math.min(1, Number(fraction) || 0));
  const next = { ...(positions ?? {}), [id]: { at: Math.round(at * 10000) / 10000, t: now } };
  const ids = Object.keys(next);
  if (ids.length <= limit) return next;
  ids.sort((a, b) => (next[a].t ?? 0) - (next[b].t ?? 0));
  for (const old of ids.slice(0, ids.length - limit)) delete next[old];
  return next;
}

/** "1.2 MB" for the options page's storage line. */
export function formatBytes(bytes) {
  const n = Number(bytes) || 0;
  if (n < 1000) return `${n} bytes`;
  const units = ["kB", "MB", "GB"];
  let value = n / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}
