import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { MASTODON_POST_PATTERNS, bookmarkTarget, isMastodonPostUrl, mastodonStatusId } from "../lib/mastodon.js";
import { matchesPattern } from "./matchpattern.js";

describe("mastodonStatusId", () => {
  it("finds the id in a post's public page", () => {
    assert.equal(mastodonStatusId("https://mastodon.social/@Gargron/109348385563472017"), "109348385563472017");
  });

  it("finds the id in a remote post seen from another server", () => {
    assert.equal(mastodonStatusId("https://fosstodon.org/@alice@example.social/1234567"), "1234567");
  });

  it("finds the id in an ActivityPub status url", () => {
    assert.equal(mastodonStatusId("https://mastodon.social/users/Gargron/statuses/1093483"), "1093483");
  });

  it("finds the id in the web app's status url", () => {
    assert.equal(mastodonStatusId("https://mastodon.social/web/statuses/109348385563472017"), "109348385563472017");
  });

  it("does not take profiles, timelines or other sites for posts", () => {
    for (const url of [
      "https://mastodon.social/@Gargron",
      "https://mastodon.social/@Gargron/with_replies",
      "https://mastodon.social/home",
      "https://example.com/blog/2024/01",
      "https://medium.com/@someone/my-post-1a2b3c",
      "ftp://mastodon.social/@a/1",
      "nonsense",
    ]) {
      assert.equal(isMastodonPostUrl(url), false, url);
    }
  });
});

describe("Mastodon post menus", () => {
  const posts = [
    "https://mastodon.social/@Gargron/109348385563472017",
    "https://fosstodon.org/@alice@example.social/1234567",
    "https://mastodon.social/users/Gargron/statuses/1093483",
    "https://mastodon.social/web/statuses/209348385563472017",
    "http://127.0.0.1:8123/@alice/110000000000000001",
    ...[..."0123456789"].map((digit) => `https://m.example/@a/${digit}5`),
  ];

  it("patterns cover every post url the extension recognises, on http and https", () => {
    for (const url of posts) {
      assert.equal(isMastodonPostUrl(url), true, url);
      assert.ok(MASTODON_POST_PATTERNS.some((p) => matchesPattern(p, url)), url);
    }
  });

  it("patterns leave ordinary pages alone", () => {
    for (const url of ["https://mastodon.social/home", "https://example.com/blog/2024/01", "https://mastodon.social/@Gargron", "ftp://m.example/@a/1"]) {
      assert.equal(MASTODON_POST_PATTERNS.some((p) => matchesPattern(p, url)), false, url);
    }
  });

  it("patterns leave other sites' /@name/ pages alone", () => {
    for (const url of [
      "https://www.youtube.com/@chan/videos",
      "https://www.youtube.com/@chan/shorts",
      "https://medium.com/@alice/my-post-1a2b3c",
      "https://mastodon.social/@Gargron/followers",
      "https://mastodon.social/@Gargron/media",
      "https://mastodon.social/@Gargron/with_replies",
      "https://mastodon.social/@Gargron@other.example/media",
      "https://mastodon.social/users/Gargron/statuses/",
      "https://mastodon.social/web/statuses/new",
    ]) {
      assert.equal(isMastodonPostUrl(url), false, url);
      assert.deepEqual(MASTODON_POST_PATTERNS.filter((p) => matchesPattern(p, url)), [], url);
    }
  });

  it("the link item means the link, the page item the page", () => {
    const post = posts[0];
    const other = posts[2];
    assert.equal(bookmarkTarget({ menuItemId: "bookmark-status-link", linkUrl: post, pageUrl: other }, { url: other }), post);
    assert.equal(bookmarkTarget({ menuItemId: "bookmark-status-link", linkUrl: "https://x.example/", pageUrl: post }), null);
    assert.equal(bookmarkTarget({ menuItemId: "bookmark-status", pageUrl: other, linkUrl: post }), other);
    assert.equal(bookmarkTarget({ menuItemId: "bookmark-status", pageUrl: "about:blank" }, { url: other }), other);
    // The page item never means a link, even when the page is no post.
    assert.equal(bookmarkTarget({ menuItemId: "bookmark-status", pageUrl: "about:blank", linkUrl: post }, { url: "about:blank" }), null);
    assert.equal(bookmarkTarget({ menuItemId: "bookmark-status", pageUrl: "https://x.example/" }), null);
  });
});
