import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { headline, itemFromLookup, needsSave } from "../lib/itemstate.js";

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

  it("saves a page that is not in the list", () => {
    assert.equal(needsSave(itemFromLookup({ saved: false, pending: 0, tags: [] })), true);
    assert.equal(needsSave(itemFromLookup(null)), true);
  });

  it("says Saved right after saving and notes an archived item", () => {
    assert.equal(headline(itemFromLookup(saved), { justSaved: true }).text, "Saved");
    assert.match(headline(itemFromLookup({ ...saved, status: "archived" })).text, /archived/);
  });
});
