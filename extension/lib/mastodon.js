/**
 * Is this URL a Mastodon post?
 *
 * Mastodon servers live on any host, so the only signal is the path. A post's
 * public page is `/@user/ID` (or `/@user@remote.server/ID` for a post seen
 * from another server), its ActivityPub id `/users/user/statuses/ID`, and the
 * web app's `/web/statuses/ID`; ids are decimal snowflakes. The host resolves
 * the URL to a status on the user's own server (PROTOCOL.md `bookmark` with
 * `status_url`), and says whether it is bookmarked (`bookmark_state`, which
 * the popup's toggle asks).
 */
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
