/**
 * The context menu items, as data (background.js creates them; tests check them).
 *
 * Ids are fixed (tests and users' muscle memory rely on them): `save-page`,
 * `save-link`, `save-selection-links`, on the toolbar button `open-list` and
 * `save-window-tabs`, and the Mastodon pair that shares one
 * handler: `bookmark-status` on a post's own page (`documentUrlPatterns`:
 * the page must be a post) and `bookmark-status-link` on a link to a post
 * (`targetUrlPatterns`, which filter link targets only, so that item is for
 * the `link` context alone). Both show only while a Mastodon account is linked.
 */
import { BOOKMARK_LINK_MENU, BOOKMARK_PAGE_MENU, MASTODON_POST_PATTERNS } from "./mastodon.js";

export function menuDefinitions({ mastodonLinked = false } = {}) {
  return [
    { id: "save-page", title: "Save page to Tuckaway", contexts: ["page"] },
    // A link is saved without a copy: the page behind it is not open to read.
    { id: "save-link", title: "Save link to Tuckaway (link only)", contexts: ["link"] },
    { id: "save-selection-links", title: "Save links in selection to Tuckaway (links only)", contexts: ["selection"] },
    { id: "open-list", title: "Your list", contexts: ["action"] },
    { id: "save-window-tabs", title: "Save all tabs in this window", contexts: ["action"] },
    {
      id: BOOKMARK_PAGE_MENU,
      title: "Bookmark this post on Mastodon",
      contexts: ["page"],
      documentUrlPatterns: [...MASTODON_POST_PATTERNS],
      visible: Boolean(mastodonLinked),
    },
    {
      id: BOOKMARK_LINK_MENU,
      title: "Bookmark linked post on Mastodon",
      contexts: ["link"],
      targetUrlPatterns: [...MASTODON_POST_PATTERNS],
      visible: Boolean(mastodonLinked),
    },
  ];
}

/** Every id `menuDefinitions` creates, in its order. */
export const MENU_IDS = Object.freeze(menuDefinitions().map((menu) => menu.id));
