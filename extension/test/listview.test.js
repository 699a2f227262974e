// The list page's logic: the list request per view, selection ranges, bulk
// requests and their outcome, undo of a delete, the keyboard, omnibox lines.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  Selection,
  appendPage,
  bulkOutcome,
  bulkRequests,
  emptyMessage,
  keyAction,
  listRequest,
  omniboxSuggestions,
  readingTime,
  shortDate,
  undoDeleteRequests,
} from "../lib/listview.js";

const item = (n, extra = {}) => ({ item_id: String(n), url: `https://e.example/${n}`, title: `T${n}`, domain: "e.example", tags: [], favorite: false, status: "unread", ...extra });

describe("list page", () => {
  it("asks the host for each view, tag, search and sort", () => {
    assert.deepEqual(listRequest(), { op: "list", limit: 50, state: "unread" });
    assert.deepEqual(listRequest({ view: "favorites" }), { op: "list", limit: 50, state: "all", favorite: true });
    assert.deepEqual(listRequest({ view: "archive", tag: "_untagged_", sort: "title", cursor: "c" }), {
      op: "list", limit: 50, state: "archive", tag: "_untagged_", sort: "title", cursor: "c",
    });
    assert.deepEqual(listRequest({ search: "  rust asy ", sort: "relevance" }), {
      op: "list", limit: 50, state: "unread", search: "rust asy", sort: "relevance",
    });
    assert.equal(listRequest({ sort: "relevance" }).sort, undefined, "relevance needs words");
    assert.equal(listRequest({ view: "nonsense" }).state, "unread");
  });

  it("selects ranges with shift-click in the order shown", () => {
    const order = ["a", "b", "c", "d", "e"];
    const s = new Selection();
    s.toggle("b", order);
    s.toggle("d", order, { range: true });
    assert.deepEqual([...s.ids].sort(), ["b", "c", "d"]);
    s.toggle("c", order);
    assert.deepEqual([...s.ids].sort(), ["b", "d"]);
    s.keepOnly(["d", "e"]);
    assert.deepEqual([...s.ids], ["d"]);
    s.clear();
    assert.equal(s.size, 0);
  });

  it("builds one write per selected item, and reports each failure", () => {
    const items = [item(1), item(2), item(3)];
    assert.deepEqual(bulkRequests("archive", items).map((r) => [r.op, r.item_id]), [["archive", "1"], ["archive", "2"], ["archive", "3"]]);
    assert.deepEqual(bulkRequests("tag", items.slice(0, 1), ["x", "y"]), [{ op: "tags_add", item_id: "1", tags: ["x", "y"] }]);
    const outcome = bulkOutcome(items, [
      { status: "fulfilled", value: {} },
      { status: "rejected", reason: new Error("Item not found") },
      { status: "fulfilled", value: {} },
    ]);
    assert.equal(outcome.done, 2);
    assert.deepEqual(outcome.failed, [{ item: items[1], message: "Item not found" }]);
  });

  it("undoes a delete with the title, tags, favorite and archive it had", () => {
    const gone = item(7, { tags: ["a", "b"], favorite: true, status: "archived" });
    assert.deepEqual(undoDeleteRequests(gone), [
      { op: "save", url: gone.url, title: "T7", tags: ["a", "b"] },
      { op: "favorite", url: gone.url },
      { op: "archive", url: gone.url },
    ]);
    assert.deepEqual(undoDeleteRequests(item(8)), [{ op: "save", url: "https://e.example/8", title: "T8" }]);
  });

  it("maps keys to actions, and leaves typing alone", () => {
    const key = (k, extra = {}) => keyAction({ key: k, ...extra });
    assert.deepEqual(["j", "k", "o", "Enter", "e", "f", "t", "#", "x", "/", "?"].map((k) => key(k)), [
      "next", "previous", "open", "open", "archive", "favorite", "tags", "delete", "select", "search", "help",
    ]);
    assert.equal(key("j", { ctrlKey: true }), null);
    assert.equal(keyAction({ key: "j" }, { typing: true }), null);
    assert.equal(keyAction({ key: "Escape" }, { typing: true }), "leave-input");
  });

  it("says reading time, dates and what to do when empty", () => {
    assert.equal(readingTime(undefined), null);
    assert.equal(readingTime(50), "1 min read");
    assert.equal(readingTime(2300), "10 min read");
    const now = new Date(2026, 5, 15, 12).getTime();
    assert.equal(shortDate(now / 1000, now), "today");
    assert.equal(shortDate(now / 1000 - 86_400, now), "yesterday");
    assert.equal(shortDate(now / 1000 - 3 * 86_400, now), "3 days ago");
    assert.match(shortDate(now / 1000 - 400 * 86_400, now), /2025/);
    assert.match(emptyMessage({}), /Save a page/);
    assert.match(emptyMessage({ search: "zebra" }), /Nothing matches .zebra./);
    assert.match(emptyMessage({ view: "archive" }), /Nothing archived/);
  });

  it("appends a page without repeating items", () => {
    assert.deepEqual(appendPage([item(1), item(2)], [item(2), item(3)]).map((i) => i.item_id), ["1", "2", "3"]);
  });

  it("writes omnibox lines as XML for Chrome and as text for Firefox", () => {
    const [line] = omniboxSuggestions([item(1, { title: "A <b> & c" })]);
    assert.deepEqual(line, { content: "https://e.example/1", description: "A &#60;b&#62; &#38; c <dim>e.example</dim>" });
    assert.equal(omniboxSuggestions([item(1)], { xml: false })[0].description, "T1 \u2014 e.example");
  });
});
