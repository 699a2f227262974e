// Tag chips (popup and options): one <li> per tag, its × removes that tag.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { tagChips } from "../lib/chips.js";

/** Just enough of a document for the chips. */
const doc = {
  createElement(tag) {
    return {
      tag,
      children: [],
      attributes: {},
      listeners: {},
      setAttribute(name, value) { this.attributes[name] = value; },
      addEventListener(type, fn) { this.listeners[type] = fn; },
      append(...nodes) { this.children.push(...nodes); },
    };
  },
};

describe("tagChips", () => {
  it("makes one chip per tag, in order, named and removable", () => {
    const removed = [];
    const chips = tagChips(["news", "later"], { onRemove: (tag) => removed.push(tag), doc });
    assert.deepEqual(chips.map((li) => [li.tag, li.className, li.children[0].textContent]), [
      ["li", "chip", "news"],
      ["li", "chip", "later"],
    ]);
    const remove = chips[1].children[1];
    assert.equal(remove.type, "button");
    assert.equal(remove.attributes["aria-label"], "Remove tag later");
    remove.listeners.click();
    assert.deepEqual(removed, ["later"]);
  });

  it("takes the ×'s label from the caller", () => {
    const [chip] = tagChips(["a"], { onRemove: () => {}, label: (tag) => `Remove default tag ${tag}`, doc });
    assert.equal(chip.children[1].attributes["aria-label"], "Remove default tag a");
  });
});
