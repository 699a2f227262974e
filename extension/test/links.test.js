import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { linksToSave, urlsInText } from "../lib/links.js";

describe("linksToSave", () => {
  it("keeps http and https links in order, with their text as title", () => {
    const anchors = [
      { href: "https://a.example/1", text: "First" },
      { href: "mailto:me@example.com", text: "mail" },
      { href: "javascript:void(0)", text: "js" },
      { href: "http://b.example/2", text: "" },
    ];
    assert.deepEqual(linksToSave({ anchors }), [
      { url: "https://a.example/1", title: "First" },
      { url: "http://b.example/2" },
    ]);
  });

  it("drops duplicates, also ones that differ only in the fragment", () => {
    const anchors = [
      { href: "https://a.example/x#top", text: "x" },
      { href: "https://a.example/x", text: "x again" },
    ];
    assert.deepEqual(linksToSave({ anchors }).map((l) => l.url), ["https://a.example/x#top"]);
  });

  it("drops jumps within the page itself", () => {
    const anchors = [
      { href: "https://page.example/article#section-2", text: "Section 2" },
      { href: "https://other.example/", text: "Other" },
    ];
    assert.deepEqual(linksToSave({ anchors, pageUrl: "https://page.example/article" }).map((l) => l.url), [
      "https://other.example/",
    ]);
  });

  it("resolves relative hrefs against the page", () => {
    assert.deepEqual(linksToSave({ anchors: [{ href: "/about", text: "" }], pageUrl: "https://p.example/a/b" }), [
      { url: "https://p.example/about" },
    ]);
  });

  it("adds URLs written out in the selected text", () => {
    const links = linksToSave({ selectionText: "see https://t.example/one, and (http://t.example/two)." });
    assert.deepEqual(links.map((l) => l.url), ["https://t.example/one", "http://t.example/two"]);
  });

  it("stops at the limit", () => {
    const anchors = Array.from({ length: 10 }, (_, i) => ({ href: `https://n.example/${i}`, text: "" }));
    assert.equal(linksToSave({ anchors, limit: 4 }).length, 4);
  });

  it("gives nothing for a selection without links", () => {
    assert.deepEqual(linksToSave({ anchors: [], selectionText: "just words" }), []);
  });
});

describe("urlsInText", () => {
  it("trims trailing punctuation", () => {
    assert.deepEqual(urlsInText("go to https://x.example/a?b=1."), ["https://x.example/a?b=1"]);
  });
});
