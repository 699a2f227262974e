import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Suggestions, completeTags, normalizeTagList, parseTags } from "../lib/tags.js";

describe("parseTags", () => {
  it("splits on commas and trims", () => {
    assert.deepEqual(parseTags(" news,  read later ,,"), { tags: ["news", "read later"], problems: [] });
  });

  it("drops duplicates, also of tags the item already has, ignoring case", () => {
    assert.deepEqual(parseTags("Rust, rust, go", ["GO"]).tags, ["Rust"]);
  });

  it("collapses inner whitespace", () => {
    assert.deepEqual(parseTags("a \t  b").tags, ["a b"]);
  });

  it("leaves out a tag over 100 characters and says why", () => {
    const { tags, problems } = parseTags(`ok, ${"x".repeat(101)}`);
    assert.deepEqual(tags, ["ok"]);
    assert.equal(problems.length, 1);
    assert.match(problems[0], /longer than 100/);
  });

  it("accepts a tag of exactly 100 characters", () => {
    assert.deepEqual(parseTags("y".repeat(100)).tags, ["y".repeat(100)]);
  });

  it("gives nothing for empty input", () => {
    assert.deepEqual(parseTags(""), { tags: [], problems: [] });
    assert.deepEqual(parseTags(undefined), { tags: [], problems: [] });
  });
});

describe("completeTags", () => {
  it("offers known tags by prefix, shortest first, without chosen ones", () => {
    assert.deepEqual(completeTags(["reading", "recipes", "re", "rust"], "Re", ["recipes"]), ["re", "reading"]);
  });

  it("offers everything for an empty prefix, up to the limit", () => {
    assert.equal(completeTags(["a", "b", "c"], "", [], 2).length, 2);
  });
});

describe("normalizeTagList", () => {
  it("cleans a stored list", () => {
    assert.deepEqual(normalizeTagList([" a", "a", "b,c", ""]), ["a", "b", "c"]);
    assert.deepEqual(normalizeTagList(null), []);
  });
});

describe("tag suggestions", () => {
  it("keep the order of use when asked, and are chosen with the arrow keys", () => {
    assert.deepEqual(completeTags(["news", "nature", "n"], "n", [], 8, { byUse: true }), ["news", "nature", "n"]);
    assert.deepEqual(completeTags(["news", "nature", "n"], "n"), ["n", "news", "nature"]);
    const s = new Suggestions();
    s.show(["news", "nature"]);
    assert.equal(s.chosen, null);
    assert.equal(s.move(1), "news");
    assert.equal(s.move(1), "nature");
    assert.equal(s.move(1), "news");
    s.show(["a", "b", "c"]);
    assert.equal(s.move(-1), "c");
    assert.equal(Suggestions.complete("read, na", "nature"), "read, nature");
    assert.equal(Suggestions.complete("na", "nature"), "nature");
  });
});
