import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { afterSave, headline, itemFromLookup, needsSave, retryHeadline, writeOutcome } from "../lib/itemstate.js";
import { describeUnconfirmed } from "../lib/words.js";

const saved = { saved: true, item_id: "9", status: "unread", favorite: true, tags: ["a"], pending: 0 };

describe("popup item state", () => {
  it("does not save a page that is already saved, and says so", () => {
    const item = itemFromLookup(saved);
    assert.equal(needsSave(item), false);
    assert.deepEqual(headline(item), { state: "saved", text: "Already saved" });
    assert.equal(item.favorite, true);
    assert.deepEqual(item.tags, ["a"]);
  });

  it("does not save a page whose save is still queued", () => {
    const item = itemFromLookup({ saved: false, item_id: null, status: null, favorite: false, tags: [], pending: 1 });
    assert.equal(needsSave(item), false);
    assert.deepEqual(headline(item), { state: "queued", text: "Queued offline" });
  });

  it("knows whether a copy is kept, or that an older helper app cannot say", () => {
    assert.equal(itemFromLookup({ ...saved, has_article: true }).hasArticle, true);
    assert.equal(itemFromLookup({ ...saved, has_article: false }).hasArticle, false);
    assert.equal(itemFromLookup(saved).hasArticle, null);
  });

  it("saves a page that is not in the list", () => {
    assert.equal(needsSave(itemFromLookup({ saved: false, pending: 0, tags: [] })), true);
    assert.equal(needsSave(itemFromLookup(null)), true);
  });

  it("says Saved right after saving and notes an archived item", () => {
    assert.equal(headline(itemFromLookup(saved), { justSaved: true }).text, "Saved");
    assert.match(headline(itemFromLookup({ ...saved, status: "archived" })).text, /archived/);
  });
});

const lookup = (fields) => ({ saved: false, item_id: null, status: null, favorite: false, tags: [], pending: 0, ...fields });
const recovered = (fields) => ({ recovered: true, item_id: fields?.item_id ?? null, url: "https://q.example/", lookup: lookup(fields) });

describe("after a save (popup)", () => {
  const save = { op: "save", url: "https://q.example/" };

  it("leaves a normal answer to a fresh lookup", () => {
    assert.equal(afterSave(save, { item_id: "1", url: "https://q.example/", item: {} }), null);
  });

  it("says Saved when the recovered save's lookup shows it saved", () => {
    const view = afterSave(save, recovered({ saved: true, item_id: "7", status: "unread", tags: ["a"] }));
    assert.deepEqual(view.line, { state: "saved", text: "Saved" });
    assert.deepEqual(view.item.tags, ["a"]);
    assert.equal(view.detail, null);
  });

  it("says Queued offline when the recovered save's lookup still counts it pending", () => {
    const view = afterSave(save, recovered({ saved: false, pending: 1 }));
    assert.deepEqual(view.line, { state: "queued", text: "Queued offline" });
    assert.equal(view.item.pending, 1);
  });

  it("says changes are queued when the page is saved but writes wait", () => {
    assert.deepEqual(afterSave(save, recovered({ saved: true, item_id: "7", pending: 2 })).line, {
      state: "queued",
      text: "Saved \u00b7 changes queued",
    });
  });

  it("does not say Saved when the recovered save's lookup shows it is not in the list", () => {
    const view = afterSave(save, recovered({ saved: false, pending: 0 }));
    assert.notEqual(view.line.state, "saved");
    assert.deepEqual(view.line, { state: "removed", text: "Not in your list" });
    assert.equal(view.detail, describeUnconfirmed(save));
    assert.match(view.detail, /saving https:\/\/q\.example\/ did not go through/);
  });

  it("says Queued offline for a save the helper app holds but could not be asked about", () => {
    const view = afterSave({ ...save, tags: ["x"] }, { recovered: true, item_id: null, url: "https://q.example/", lookup: null });
    assert.deepEqual(view.line, { state: "queued", text: "Queued offline" });
    assert.deepEqual(view.item.tags, ["x"]);
  });

  it("words a retrying write by its reason", () => {
    assert.deepEqual(retryHeadline({ event: "retrying", reason: "unavailable", retry_after: 2 }), { state: "queued", text: "Queued offline" });
    assert.equal(retryHeadline({ event: "retrying", reason: "rate_limited", retry_after: 30 }).state, "queued");
    assert.match(retryHeadline({ event: "retrying", reason: "rate_limited" }).text, /busy/);
  });
});

describe("how a write ended (badge)", () => {
  const url = "https://q.example/";
  it("is done for a normal answer", () => {
    assert.equal(writeOutcome({ op: "save", url }, { item_id: "1" }), "done");
  });

  it("is waiting when the helper app holds it and could not be asked, or lookup counts it pending", () => {
    assert.equal(writeOutcome({ op: "tag_rename" }, { recovered: true, item_id: null, lookup: null }), "waiting");
    assert.equal(writeOutcome({ op: "save", url }, recovered({ pending: 1 })), "waiting");
    assert.equal(writeOutcome({ op: "archive", url }, recovered({ saved: true, pending: 1 })), "waiting");
  });

  it("is done when lookup shows the change, failed when it does not", () => {
    const cases = [
      [{ op: "save", url }, { saved: true }, { saved: false }],
      [{ op: "delete", url }, { saved: false }, { saved: true }],
      [{ op: "archive", url }, { saved: true, status: "archived" }, { saved: true, status: "unread" }],
      [{ op: "readd", url }, { saved: true, status: "unread" }, { saved: true, status: "archived" }],
      [{ op: "favorite", url }, { saved: true, favorite: true }, { saved: true, favorite: false }],
      [{ op: "unfavorite", url }, { saved: true, favorite: false }, { saved: true, favorite: true }],
      [{ op: "tags_add", url, tags: ["News"] }, { saved: true, tags: ["news", "x"] }, { saved: true, tags: ["x"] }],
      [{ op: "tags_remove", url, tags: ["x"] }, { saved: true, tags: ["y"] }, { saved: true, tags: ["x"] }],
      [{ op: "tags_replace", url, tags: ["a", "b"] }, { saved: true, tags: ["b", "a"] }, { saved: true, tags: ["a"] }],
      [{ op: "tags_clear", url }, { saved: true, tags: [] }, { saved: true, tags: ["a"] }],
    ];
    for (const [request, shows, lacks] of cases) {
      assert.equal(writeOutcome(request, recovered(shows)), "done", `${request.op} done`);
      assert.equal(writeOutcome(request, recovered(lacks)), "failed", `${request.op} failed`);
    }
  });
});
