// The context menu items background.js creates (lib/menus.js): fixed ids, and
// url patterns where each browser applies them. `targetUrlPatterns` filter
// link (and media) targets only, so an item using them must be for links
// alone; the page item filters by the page itself (`documentUrlPatterns`).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { MASTODON_POST_PATTERNS } from "../lib/mastodon.js";
import { MENU_IDS, menuDefinitions } from "../lib/menus.js";
import { matchesPattern, parsePattern } from "./matchpattern.js";

const byId = (menus) => Object.fromEntries(menus.map((m) => [m.id, m]));
const post = "https://mastodon.social/@Gargron/109348385563472017";

describe("context menus", () => {
  it("has exactly the ids tests and users rely on", () => {
    assert.deepEqual(menuDefinitions().map((m) => m.id).sort(), [...MENU_IDS].sort());
    assert.deepEqual([...MENU_IDS].sort(), [
      "bookmark-status", "bookmark-status-link", "open-list", "save-link", "save-page", "save-selection-links", "save-window-tabs",
    ]);
  });

  it("uses targetUrlPatterns only on items for links", () => {
    for (const menu of menuDefinitions({ mastodonLinked: true })) {
      if (menu.targetUrlPatterns) assert.deepEqual(menu.contexts, ["link"], menu.id);
    }
  });

  it("offers bookmark-status on a post's own page, by the page's url", () => {
    const page = byId(menuDefinitions({ mastodonLinked: true }))["bookmark-status"];
    assert.deepEqual(page.contexts, ["page"]);
    assert.equal(page.targetUrlPatterns, undefined);
    assert.deepEqual(page.documentUrlPatterns, [...MASTODON_POST_PATTERNS]);
    assert.ok(page.documentUrlPatterns.some((p) => matchesPattern(p, post)));
    assert.ok(!page.documentUrlPatterns.some((p) => matchesPattern(p, "https://mastodon.social/home")));
  });

  it("offers bookmark-status-link on a link to a post, by the link's url, on any page", () => {
    const link = byId(menuDefinitions({ mastodonLinked: true }))["bookmark-status-link"];
    assert.deepEqual(link.contexts, ["link"]);
    assert.equal(link.documentUrlPatterns, undefined);
    assert.ok(link.targetUrlPatterns.some((p) => matchesPattern(p, post)));
    assert.ok(!link.targetUrlPatterns.some((p) => matchesPattern(p, "https://example.com/article")));
  });

  it("shows the bookmark items only while Mastodon is linked", () => {
    for (const linked of [false, true]) {
      const menus = byId(menuDefinitions({ mastodonLinked: linked }));
      assert.equal(menus["bookmark-status"].visible, linked);
      assert.equal(menus["bookmark-status-link"].visible, linked);
      assert.equal(menus["save-page"].visible, undefined);
    }
  });

  it("writes patterns the browsers accept", () => {
    for (const menu of menuDefinitions({ mastodonLinked: true })) {
      for (const pattern of [...(menu.targetUrlPatterns ?? []), ...(menu.documentUrlPatterns ?? [])]) {
        assert.doesNotThrow(() => parsePattern(pattern), pattern);
      }
    }
  });
});
