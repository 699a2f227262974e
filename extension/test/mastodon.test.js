import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { isMastodonPostUrl, mastodonStatusId } from "../lib/mastodon.js";

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
