// The reader's logic: its address, fetching a copy in chunks, the reading
// settings and positions, the storage line.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  FONT_SIZES,
  READER_DEFAULTS,
  fetchArticle,
  formatBytes,
  readerSettings,
  readerTarget,
  readerUrl,
  rememberPosition,
  stepFontSize,
} from "../lib/reader.js";

describe("the reader's address", () => {
  it("names an item, or a page by its url", () => {
    assert.equal(readerUrl({ item_id: "42" }), "reader/reader.html?item=42");
    assert.equal(readerUrl({ url: "https://a.example/x?y=1" }), "reader/reader.html?url=https%3A%2F%2Fa.example%2Fx%3Fy%3D1");
    assert.throws(() => readerUrl({}));
    assert.deepEqual(readerTarget("?item=42"), { item_id: "42" });
    assert.deepEqual(readerTarget("?url=https%3A%2F%2Fa.example%2Fx"), { url: "https://a.example/x" });
    assert.equal(readerTarget(""), null);
  });
});

describe("fetching a copy", () => {
  /** A host that answers `article` from `html` in chunks of `size` characters. */
  function host(html, size) {
    const asked = [];
    const request = async (req) => {
      asked.push(req);
      assert.equal(req.op, "article");
      const offset = req.offset ?? 0;
      const end = Math.min(html.length, offset + size);
      return {
        item_id: "7", url: "https://a.example/x", title: "T", word_count: 900, size: html.length,
        offset, html: html.slice(offset, end), next_offset: end < html.length ? end : null,
      };
    };
    return { request, asked };
  }

  it("asks from each next_offset until it is null and joins the chunks", async () => {
    const html = `<p>${"é".repeat(2500)}</p>`;
    const { request, asked } = host(html, 1000);
    const seen = [];
    const { meta, html: got } = await fetchArticle(request, { url: "https://a.example/x" }, { onChunk: (d) => seen.push(d) });
    assert.equal(got, html);
    assert.deepEqual(meta, { item_id: "7", url: "https://a.example/x", title: "T", word_count: 900, size: html.length });
    assert.deepEqual(asked[0], { op: "article", url: "https://a.example/x" });
    assert.deepEqual(asked.slice(1), [1000, 2000].map((offset) => ({ op: "article", item_id: "7", offset })));
    assert.deepEqual(seen, [1000, 2000]);
  });

  it("reads a one-chunk copy with one request", async () => {
    const { request, asked } = host("<p>short</p>", 1000);
    assert.equal((await fetchArticle(request, { item_id: "7" })).html, "<p>short</p>");
    assert.deepEqual(asked, [{ op: "article", item_id: "7" }]);
  });

  it("stops on a next_offset that does not move forward", async () => {
    const request = async () => ({ item_id: "7", html: "x", next_offset: 1 });
    await assert.rejects(fetchArticle(request, { item_id: "7" }), /did not add up/);
  });

  it("passes the host's error on (no copy kept)", async () => {
    const request = async () => {
      throw Object.assign(new Error("no copy"), { code: "not_found" });
    };
    await assert.rejects(fetchArticle(request, { item_id: "7" }), { code: "not_found" });
  });
});

describe("reading settings and positions", () => {
  it("takes stored settings that make sense and the defaults for the rest", () => {
    assert.deepEqual(readerSettings(undefined), READER_DEFAULTS);
    assert.deepEqual(readerSettings({ fontSize: 22, width: "wide", theme: "sepia", images: true }),
      { fontSize: 22, width: "wide", theme: "sepia", images: true });
    assert.deepEqual(readerSettings({ fontSize: 99, width: "huge", theme: "neon", images: "yes" }), READER_DEFAULTS);
  });

  it("steps the font size within its list", () => {
    assert.equal(stepFontSize(18, 1), 20);
    assert.equal(stepFontSize(FONT_SIZES.at(-1), 1), FONT_SIZES.at(-1));
    assert.equal(stepFontSize(FONT_SIZES[0], -1), FONT_SIZES[0]);
    assert.equal(stepFontSize(17, -1), 16);
  });

  it("remembers each item's position and forgets the oldest past the limit", () => {
    let positions = {};
    positions = rememberPosition(positions, "1", 0.25, 1000, 2);
    positions = rememberPosition(positions, "2", 1.7, 2000, 2);
    assert.deepEqual(positions, { 1: { at: 0.25, t: 1000 }, 2: { at: 1, t: 2000 } });
    positions = rememberPosition(positions, "3", 0.5, 3000, 2);
    assert.deepEqual(Object.keys(positions).sort(), ["2", "3"]);
  });

  it("says sizes in words", () => {
    assert.equal(formatBytes(512), "512 bytes");
    assert.equal(formatBytes(1500), "1.5 kB");
    assert.equal(formatBytes(12_345_678), "12.3 MB");
    assert.equal(formatBytes(345_000_000), "345 MB");
  });
});
