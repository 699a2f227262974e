// The requests the extension builds, checked against the host's own JSON
// Schema (`tuckaway schema`, written to test/.generated/schema.json by the
// pretest step). Also checks that the shapes the popup relies on in replies
// (lookup, save, hello) are the ones the schema describes.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { Ajv2020 } from "ajv/dist/2020.js";

import {
  WRITE_OPS,
  articleRequest,
  articleStatsRequest,
  articlesClearRequest,
  bookmarkRequest,
  bookmarkStateRequest,
  itemRequest,
  loginRequest,
  logoutRequest,
  lookupRequest,
  saveRequest,
  tagsListRequest,
  tagsRequest,
} from "../lib/requests.js";
import { listRequest } from "../lib/listview.js";
import { articleField, withArticle } from "../lib/capture.js";

const SCHEMA_FILE = new URL("./.generated/schema.json", import.meta.url);
const missing = !existsSync(SCHEMA_FILE)
  && "no protocol schema: run `npm test` (its pretest runs `tuckaway schema`; set TUCKAWAY_PYTHON to a Python with the host's dependencies)";

function validators() {
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, "utf-8"));
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const part = (sub) => ajv.compile({ ...sub, $defs: schema.$defs });
  return {
    schema,
    request: part(schema.properties.request),
    result: (name) => part({ $ref: `#/$defs/${name}` }),
  };
}

function check(validate, value) {
  const ok = validate(value);
  assert.ok(ok, `${JSON.stringify(value)} does not match the schema: ${JSON.stringify(validate.errors)}`);
}

const url = "https://example.com/article?id=1";
const built = [
  { op: "hello" },
  saveRequest({ url, title: "An article", tags: ["news", "later"] }),
  saveRequest({ url }),
  ...["archive", "readd", "favorite", "unfavorite", "delete", "tags_clear"].map((op) => itemRequest(op, { url })),
  itemRequest("archive", { item_id: "123" }),
  ...["tags_add", "tags_remove", "tags_replace"].map((op) => tagsRequest(op, { url }, ["a", "b c"])),
  lookupRequest(url),
  tagsListRequest(),
  tagsListRequest("ne"),
  tagsListRequest("", { counts: true }),
  listRequest(),
  listRequest({ view: "favorites", tag: "_untagged_", search: "rust asy", sort: "relevance", cursor: "abc" }),
  listRequest({ view: "archive", tag: "news", sort: "title", limit: 200 }),
  bookmarkRequest(true, "https://mastodon.social/@Gargron/1"),
  bookmarkRequest(false, "https://mastodon.social/@Gargron/1"),
  bookmarkStateRequest("https://mastodon.social/@Gargron/1"),
  loginRequest("pocket"),
  loginRequest("mastodon", "mastodon.social"),
  logoutRequest("pocket"),
  logoutRequest("mastodon"),
  withArticle(saveRequest({ url, title: "An article" }), articleField({
    html: "<p>Body\u0000</p>", text: "Body", title: "T".repeat(2000), byline: "Ada", site_name: "Rail",
    lang: "en-GB", excerpt: "E".repeat(2000), lead_image: "https://rail.example/a.jpg",
  })),
  withArticle(saveRequest({ url }), articleField({ html: "<p>x</p>", text: "" })),
  articleRequest({ item_id: "9" }),
  articleRequest({ url }, 1048576),
  articleStatsRequest(),
  articlesClearRequest(),
];

describe("requests against the protocol schema", { skip: missing }, () => {
  it("every request the extension builds is valid", () => {
    const { request } = validators();
    built.forEach((body, i) => check(request, { id: `t-${i}`, ...body }));
  });

  it("integer ids are valid too", () => {
    check(validators().request, { id: 7, ...lookupRequest(url) });
  });

  it("the schema refuses what the builders never produce", () => {
    const { request } = validators();
    // (The host's url/tag/one-target rules are in the schema too: schema-rules.test.js.)
    for (const bad of [
      { id: "x", op: "save", url, color: "red" },
      { id: "x", op: "save" },
      { id: "", op: "hello" },
      { id: "x", op: "tags_add", url, tags: [] },
      { id: "x", op: "bookmarks", limit: 41 },
      { id: "x", op: "fetch" },
    ]) {
      assert.equal(request(bad), false, JSON.stringify(bad));
    }
  });

  it("the extension knows every write op the schema has, and no other", () => {
    const { schema } = validators();
    const ops = Object.keys(schema.properties.request.discriminator.mapping);
    // The host says which ops are queued writes (`write_ops`); the rest are answered at once.
    assert.ok(schema.write_ops.every((op) => ops.includes(op)), "write_ops are ops");
    assert.deepEqual([...WRITE_OPS].sort(), [...schema.write_ops].sort());
    for (const body of built) assert.ok(ops.includes(body.op), body.op);
  });

  it("the reply shapes the popup reads are the schema's", () => {
    const { result } = validators();
    check(result("LookupResult"), { saved: true, item_id: "9", status: "archived", favorite: false, tags: ["a"], pending: 0, has_article: true });
    check(result("SaveResult"), { item_id: "9", url, item: {} });
    check(result("ArticleResult"), {
      item_id: null, url, title: "T", byline: null, site_name: null, lang: "en", excerpt: "", lead_image: null,
      word_count: 3, minutes: 1, captured_at: 1764640000, size: 8, offset: 0, html: "<p>x</p>", next_offset: null,
    });
    check(result("ArticleStatsResult"), { count: 1, bytes: 120 });
    check(result("ArticlesClearResult"), { deleted: 1, bytes: 120 });
    check(result("BookmarkResult"), { status_id: "1", url: null, bookmarked: true });
    check(result("BookmarksResult"), {
      statuses: [{ id: "1", url: "https://m.example/@a/1", created_at: "2024-05-01T12:00:00.000Z", acct: "a", text: "hi" }],
      next_max_id: null,
    });
    check(result("HelloResult"), {
      name: "tuckaway",
      version: "0.1.0",
      protocol: 1,
      backend: "local",
      accounts: {
        pocket: { linked: false, username: null },
        mastodon: { linked: false, instance: null, acct: null },
        wallabag: { linked: false, username: null, instance: null },
        readeck: { linked: true, username: "me", instance: "https://read.example" },
      },
      pending: 0,
    });
  });
});
