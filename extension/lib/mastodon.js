/**
 * Is this URL a Mastodon post?
 *
 * Mastodon servers live on any host, so the only signal is the path. A post's
 * public page is `/@user/ID` (or `/@user@remote.server/ID` for a post seen
 * from another server), and its ActivityPub id `/users/user/statuses/ID`;
 * ids are decimal snowflakes. The host resolves the URL to a status on the
 * user's own server (PROTOCOL.md `bookmark` with `status_url`).
 */

const POST_PATHS = [
  /^\/@[A-Za-z0-9_.-]+(?:@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?\/(\d{1,24})\/?$/,
  /^\/users\/[A-Za-z0-9_.-]+\/statuses\/(\d{1,24})\/?$/,
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

/** Match patterns (for context menus) that cover the same paths. */
export const MASTODON_POST_PATTERNS = Object.freeze([
  "https://*/@*/*",
  "https://*/users/*/statuses/*",
]);
