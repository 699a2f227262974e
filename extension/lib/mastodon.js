/**
 * Is this URL a Mastodon post?
 *
 * Mastodon servers live on any host, so the only signal is the path. A post's
 * public page is `/@user/ID` (or `/@user@remote.server/ID` for a post seen
 * from another server), its ActivityPub id `/users/user/statuses/ID`, and the
 * web app's `/web/statuses/ID`; ids are decimal snowflakes. The host resolves the URL to a status on the
 * user's own server (PROTOCOL.md `bookmark` with `status_url`).
 */
import { bookmarksListRequest } from "./requests.js";

const POST_PATHS = [
  /^\/@[A-Za-z0-9_.-]+(?:@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?\/(\d{1,24})\/?$/,
  /^\/users\/[A-Za-z0-9_.-]+\/statuses\/(\d{1,24})\/?$/,
  /^\/web\/statuses\/(\d{1,24})\/?$/,
];

/** The status id in a Mastodon post URL, or null when the URL is not one. */
export function mastodonStatusId(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return null;
  for (const pattern of POST_PATHS) {
    const match = pattern.exec(parsed.pathname);
    if (match) return match[1];
  }
  return null;
}

export function isMastodonPostUrl(url) {
  return mastodonStatusId(url) !== null;
}

/**
 * Match patterns (for context menus) that cover the same paths, on http and
 * https like `mastodonStatusId`. A pattern cannot say "digits", but it can say
 * "starts with a digit": one pattern per first digit of the status id, so
 * `/@user/...` pages that are no post (YouTube's `/@channel/videos`, Medium's
 * `/@author/a-story-1a2b3c`, a profile's `/@user/followers`) stay without the
 * item. `*` also spans slashes, so a few others still match (a Medium story
 * whose slug starts with a digit); the click handler checks the URL again.
 */
const DIGITS = "0123456789";
const POST_PATTERN_PREFIXES = ["*://*/@*/", "*://*/users/*/statuses/", "*://*/web/statuses/"];
export const MASTODON_POST_PATTERNS = Object.freeze(
  POST_PATTERN_PREFIXES.flatMap((prefix) => [...DIGITS].map((digit) => `${prefix}${digit}*`)),
);

/**
 * The two menu items that bookmark a post, sharing one handler: the page item
 * (`bookmark-status`, right-click on a post's own page: `documentUrlPatterns`)
 * and the link item (`bookmark-status-link`, right-click on a link to a post:
 * `targetUrlPatterns`, which only ever filter link targets).
 */
export const BOOKMARK_PAGE_MENU = "bookmark-status";
export const BOOKMARK_LINK_MENU = "bookmark-status-link";
export const BOOKMARK_MENU_IDS = Object.freeze([BOOKMARK_PAGE_MENU, BOOKMARK_LINK_MENU]);

/**
 * The post a bookmark menu click is about, or null. The link item means the
 * link; the page item means the page (never a link: it is not a link item).
 */
export function bookmarkTarget(info, tab) {
  const candidates = info?.menuItemId === BOOKMARK_LINK_MENU ? [info?.linkUrl] : [info?.pageUrl, tab?.url];
  return candidates.find((url) => typeof url === "string" && isMastodonPostUrl(url)) ?? null;
}

function comparable(url) {
  try {
    const parsed = new URL(url);
    parsed.hash = "";
    return parsed.href.replace(/\/$/, "");
  } catch {
    return null;
  }
}

function originOf(url) {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/**
 * Is `status` (an entry of the `bookmarks` op) the post at `url`? Either its
 * url is that page, or the page is on the user's own server (`instance`) and
 * names the status's id there (a remote post seen from home has a local id).
 */
export function statusMatches(status, { url, instance = null }) {
  if (!status || typeof status !== "object") return false;
  const page = comparable(url);
  if (page && typeof status.url === "string" && comparable(status.url) === page) return true;
  const id = mastodonStatusId(url);
  const home = instance ? originOf(instance) : null;
  return Boolean(id && home && originOf(url) === home && String(status.id) === id);
}

export const BOOKMARK_PAGES = 3;

/**
 * Is the post at `url` among the user's bookmarks? Reads up to `pages` pages
 * of the `bookmarks` op (newest first) through `request(req)`. Resolves true
 * (found), false (not found in the whole list) or null (not in the pages read,
 * and there are more): then the caller falls back to what it remembers.
 */
export async function findBookmark(request, { url, instance = null, pages = BOOKMARK_PAGES, limit = 40 }) {
  let maxId = null;
  for (let page = 0; page < pages; page += 1) {
    const result = await request(bookmarksListRequest({ limit, maxId }));
    const statuses = Array.isArray(result?.statuses) ? result.statuses : [];
    if (statuses.some((status) => statusMatches(status, { url, instance }))) return true;
    maxId = typeof result?.next_max_id === "string" && result.next_max_id ? result.next_max_id : null;
    if (!maxId) return false;
  }
  return null;
}

/**
 * The last known bookmark state per post url, in storage.local (urls and
 * booleans only, never a token), so a post bookmarked long ago still shows
 * "Bookmarked" when it is beyond the pages `findBookmark` reads.
 */
export const BOOKMARK_STATES_KEY = "bookmarkStates";
export const MAX_REMEMBERED_BOOKMARKS = 200;

export async function recallBookmark(area, url) {
  try {
    const stored = await area.get({ [BOOKMARK_STATES_KEY]: {} });
    const entry = stored?.[BOOKMARK_STATES_KEY]?.[url];
    return typeof entry?.bookmarked === "boolean" ? entry.bookmarked : null;
  } catch {
    return null;
  }
}

export async function rememberBookmark(area, url, bookmarked, now = Date.now()) {
  try {
    const stored = await area.get({ [BOOKMARK_STATES_KEY]: {} });
    const states = { ...(stored?.[BOOKMARK_STATES_KEY] ?? {}) };
    delete states[url];
    states[url] = { bookmarked: Boolean(bookmarked), at: now };
    const urls = Object.keys(states).sort((a, b) => (states[a].at ?? 0) - (states[b].at ?? 0));
    for (const old of urls.slice(0, Math.max(0, urls.length - MAX_REMEMBERED_BOOKMARKS))) delete states[old];
    await area.set({ [BOOKMARK_STATES_KEY]: states });
  } catch {
    // storage is a convenience here; the bookmarks list stays the truth
  }
}
