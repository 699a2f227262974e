import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  HostError,
  RequestTable,
  WRITE_OPS,
  bookmarkRequest,
  bookmarkStateRequest,
  isSaveableUrl,
  itemRequest,
  loginRequest,
  logoutRequest,
  normalizeInstance,
  saveRequest,
  tagsRequest,
} from "../lib/requests.js";

describe("request builders", () => {
  it("save carries url, title and cleaned tags only", () => {
    assert.deepEqual(saveRequest({ url: " https://a.example/x ", title: "  A  ", tags: [" news ", "news", ""] }), {
      op: "save",
      url: "https://a.example/x",
      title: "A",
      tags: ["news"],
    });
  });

  it("save leaves out an empty title and no tags", () => {
    assert.deepEqual(saveRequest({ url: "http://b.example/" }), { op: "save", url: "http://b.example/" });
  });

  it("save refuses pages that are not on the web", () => {
    for (const url of ["chrome://newtab/", "about:blank", "file:///etc/passwd", "not a url"]) {
      assert.throws(() => saveRequest({ url }), TypeError, url);
      assert.equal(isSaveableUrl(url), false);
    }
  });

  it("save cuts a title to the protocol's 2000 characters", () => {
    assert.equal(saveRequest({ url: "https://c.example/", title: "t".repeat(2500) }).title.length, 2000);
  });

  it("item ops target an item_id or a url", () => {
    assert.deepEqual(itemRequest("archive", { url: "https://d.example/" }), { op: "archive", url: "https://d.example/" });
    assert.deepEqual(itemRequest("favorite", { item_id: "42" }), { op: "favorite", item_id: "42" });
    assert.throws(() => itemRequest("archive", {}), TypeError);
    assert.throws(() => itemRequest("save", { url: "https://d.example/" }), TypeError);
  });

  it("tags ops need at least one tag after cleaning", () => {
    assert.deepEqual(tagsRequest("tags_add", { url: "https://e.example/" }, ["a, b"]), {
      op: "tags_add",
      url: "https://e.example/",
      tags: ["a", "b"],
    });
    assert.throws(() => tagsRequest("tags_add", { url: "https://e.example/" }, [" "]), TypeError);
  });

  it("bookmark and unbookmark name the status by its url", () => {
    assert.deepEqual(bookmarkRequest(true, "https://m.example/@a/1"), { op: "bookmark", status_url: "https://m.example/@a/1" });
    assert.deepEqual(bookmarkRequest(false, "https://m.example/@a/1").op, "unbookmark");
  });

  it("bookmark_state asks about a status by its url, and is a read", () => {
    assert.deepEqual(bookmarkStateRequest(" https://m.example/@a/1 "), { op: "bookmark_state", status_url: "https://m.example/@a/1" });
    assert.throws(() => bookmarkStateRequest("javascript:alert(1)"), TypeError);
    assert.equal(WRITE_OPS.has("bookmark_state"), false);
  });

  it("login for mastodon needs an instance and normalizes it", () => {
    assert.deepEqual(loginRequest("mastodon", "mastodon.social/"), {
      op: "login",
      service: "mastodon",
      instance: "https://mastodon.social",
    });
    assert.deepEqual(loginRequest("pocket"), { op: "login", service: "pocket" });
    assert.throws(() => loginRequest("mastodon", ""), TypeError);
    assert.deepEqual(logoutRequest("pocket"), { op: "logout", service: "pocket" });
  });

  it("login for wallabag needs every field of the password grant; Readeck a token or nothing", () => {
    const fields = { client_id: " 1_abc ", client_secret: "s3", username: "ann", password: " pw " };
    assert.deepEqual(loginRequest("wallabag", "wallabag.example.org/", fields), {
      op: "login",
      service: "wallabag",
      instance: "https://wallabag.example.org",
      client_id: "1_abc",
      client_secret: "s3",
      username: "ann",
      password: " pw ", // a password is sent as typed
    });
    assert.throws(() => loginRequest("wallabag", "wallabag.example.org", { ...fields, password: "" }), /password/);
    assert.throws(() => loginRequest("wallabag", "", fields), /address/);
    assert.deepEqual(loginRequest("readeck", "https://readeck.example.org", { token: " t0k " }), {
      op: "login",
      service: "readeck",
      instance: "https://readeck.example.org",
      token: "t0k",
    });
    assert.deepEqual(loginRequest("readeck", "readeck.example.org"), {
      op: "login",
      service: "readeck",
      instance: "https://readeck.example.org",
    });
    assert.deepEqual(logoutRequest("wallabag"), { op: "logout", service: "wallabag" });
    assert.throws(() => logoutRequest("delicious"), TypeError);
  });

  it("normalizeInstance accepts https servers and refuses plain http elsewhere", () => {
    assert.equal(normalizeInstance("https://fosstodon.org/about"), "https://fosstodon.org");
    assert.equal(normalizeInstance("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    assert.equal(normalizeInstance("http://mastodon.social"), null);
    assert.equal(normalizeInstance("nodots"), null);
    assert.equal(normalizeInstance("  "), null);
  });

  it("marks exactly the protocol's W ops as writes", () => {
    assert.equal(WRITE_OPS.has("save"), true);
    assert.equal(WRITE_OPS.has("bookmark"), true);
    assert.equal(WRITE_OPS.has("lookup"), false);
    assert.equal(WRITE_OPS.has("login"), false);
  });
});

describe("RequestTable", () => {
  it("gives every request its own id", () => {
    const table = new RequestTable("p");
    const ids = [table.open({ op: "tags" }).id, table.open({ op: "tags" }).id];
    assert.deepEqual(ids, ["p1", "p2"]);
    assert.equal(table.size, 2);
  });

  it("marks a write queued when the host says so", () => {
    const table = new RequestTable();
    const { id, entry } = table.open({ op: "save", url: "https://x.example/" });
    assert.equal(entry.write, true);
    assert.equal(table.route({ id, event: "queued" }), "event");
    assert.equal(entry.queued, true);
  });

  it("settles on the final reply and forgets the request", async () => {
    const table = new RequestTable();
    const { id, promise } = table.open({ op: "tags" });
    assert.equal(table.route({ id, ok: true, result: { tags: [] } }), "reply");
    assert.deepEqual(await promise, { tags: [] });
    assert.equal(table.size, 0);
    assert.equal(table.route({ id, ok: true, result: {} }), "stray");
  });

  it("turns an error reply into a HostError with fields and retry_after", async () => {
    const table = new RequestTable();
    const { id, promise } = table.open({ op: "tags" });
    table.route({
      id,
      ok: false,
      error: { code: "rate_limited", message: "slow down", retry_after: 30, fields: [{ loc: "x", msg: "y" }] },
    });
    await assert.rejects(promise, (error) => {
      assert.ok(error instanceof HostError);
      assert.equal(error.code, "rate_limited");
      assert.equal(error.retryAfter, 30);
      assert.deepEqual(error.fields, [{ loc: "x", msg: "y" }]);
      return true;
    });
  });

  it("reports frames it cannot route", () => {
    const table = new RequestTable();
    assert.equal(table.route(null), "invalid");
    assert.equal(table.route([1]), "invalid");
    assert.equal(table.route({ id: "nope" }), "invalid");
    assert.equal(table.route({ id: null, ok: false, error: { code: "invalid_message", message: "x" } }), "stray");
  });
});
