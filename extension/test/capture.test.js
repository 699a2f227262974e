// Extraction on saved pages: the vendored Readability through the very
// function the extension injects (lib/capture.js extractArticle), and the
// rules around it (never-copy sites, the frame limit, capture failures).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  MAX_HTML_CHARS,
  MAX_TEXT_CHARS,
  MIN_TEXT_CHARS,
  READABILITY_FILE,
  articleField,
  captureTab,
  extractArticle,
  frameBytes,
  mayCopy,
  parseNeverCopy,
  withArticle,
} from "../lib/capture.js";
import { saveRequest } from "../lib/requests.js";
import { fixture, pageWindow, vendoredReadability } from "./dom.js";

const Readability = vendoredReadability();
const LIMITS = { maxHtml: MAX_HTML_CHARS, maxText: MAX_TEXT_CHARS, minText: MIN_TEXT_CHARS };

function extract(name, url, limits = LIMITS) {
  const window = pageWindow(fixture(name), url);
  const before = window.document.documentElement.outerHTML;
  const result = extractArticle(limits, window.document, Readability);
  // The page the user sees is left as it was (Readability works on a clone).
  assert.equal(window.document.documentElement.outerHTML, before);
  return result;
}

describe("extracting the article", () => {
  it("keeps an article's text, title, byline, site, language and lead image, not the page's chrome", () => {
    const { article } = extract("article.html", "https://rail.example/2026/night-train");
    assert.equal(article.title, "The quiet return of the night train");
    assert.match(article.byline, /Ada Lindqvist/);
    assert.equal(article.site_name, "The Rail Review");
    assert.equal(article.lang, "en-GB");
    assert.equal(article.lead_image, "https://rail.example/images/night-train.jpg");
    assert.match(article.excerpt, /Sleeper services/);
    assert.match(article.text, /Austria's Nightjet runs from Vienna/);
    assert.match(article.text, /from Stockholm to Rome/);
    assert.doesNotMatch(article.text, /Ten stations worth the trip|Privacy/);
    // Links are made absolute against the page, so the copy works anywhere.
    assert.match(article.html, /href="https:\/\/example\.org\/fares"/);
    assert.match(article.html, /src="https:\/\/rail\.example\/images\/night-train\.jpg"/);
    assert.doesNotMatch(article.html, /<script/i);
  });

  it("keeps what a paywalled page showed, not what it hid", () => {
    const { article } = extract("paywall.html", "https://ledger.example/lithium");
    assert.match(article.title, /^Inside the lithium rush/);
    assert.match(article.text, /brine pools stretch to the horizon/);
    assert.doesNotMatch(article.text, /SECRET-REMAINDER/);
  });

  it("finds the article in a single-page app's rendered markup of divs", () => {
    const { article } = extract("spa.html", "https://kaffee.example/mahlen");
    assert.match(article.text, /Der Mahlgrad entscheidet/);
    assert.match(article.text, /luftdicht lagern/);
    assert.equal(article.lang, "de");
  });

  it("reads a 5,000-paragraph page whole, in bounded time", () => {
    const started = performance.now();
    const { article } = extract("long.html", "https://chronicle.example/long");
    const took = performance.now() - started;
    assert.match(article.text, /^Paragraph 1: /);
    assert.match(article.text, /Paragraph 5000: the river/);
    assert.equal((article.html.match(/<p>/g) ?? []).length, 5000);
    assert.ok(took < 20000, `took ${Math.round(took)} ms`);
  });

  it("cuts html over the limit at a tag's end", () => {
    const { article } = extract("article.html", "https://rail.example/2026/night-train", { ...LIMITS, maxHtml: 1000 });
    assert.ok(article.html.length <= 1000);
    assert.ok(article.html.endsWith(">"), article.html.slice(-40));
  });

  it("says there is no article on a sign-in page", () => {
    const result = extract("no-article.html", "https://mail.example/login");
    assert.equal(result.article, undefined);
    assert.match(result.error, /no article/);
  });

  it("says so when Readability is not in the page", () => {
    const window = pageWindow(fixture("article.html"));
    assert.match(extractArticle(LIMITS, window.document, undefined).error, /not loaded/);
  });
});

describe("the article field", () => {
  it("keeps html and text and drops empty, oversized or non-web optional values", () => {
    const field = articleField({
      html: "<p>x</p>", text: "x", title: "  A  title ", byline: "", lang: "x".repeat(99),
      lead_image: "javascript:alert(1)", site_name: null, excerpt: "Short.",
    });
    assert.deepEqual(field, { html: "<p>x</p>", text: "x", title: "A title", excerpt: "Short." });
    assert.equal(articleField({ html: "  ", text: "" }), null);
    assert.equal(articleField(null), null);
  });

  it("goes with the save while the frame fits, and is dropped (the save kept) when it would not", () => {
    const save = saveRequest({ url: "https://rail.example/a", title: "A" });
    const article = { html: `<p>${"é".repeat(1000)}</p>`, text: "é".repeat(1000) };
    assert.deepEqual(withArticle(save, article), { ...save, article });
    const limit = frameBytes({ id: "t0000-000000", ...save, article }) - 1;
    assert.deepEqual(withArticle(save, article, limit), save);
    assert.deepEqual(withArticle(save, null), save);
  });

  it("counts the bytes of the UTF-8 JSON the host reads", () => {
    assert.equal(frameBytes({ a: "é" }), '{"a":"é"}'.length + 1);
  });
});

describe("which pages are copied", () => {
  it("parses the never-copy list: hosts, urls, wildcards, www, blanks and duplicates", () => {
    assert.deepEqual(parseNeverCopy("Bank.example\n\n https://www.mail.example/inbox \n*.intra.example, bank.example\n%%%"),
      ["bank.example", "mail.example", "intra.example"]);
  });

  it("copies web pages unless the setting is off or the site (or its parent) is listed", () => {
    const settings = { keepCopy: true, neverCopy: ["bank.example"] };
    assert.equal(mayCopy("https://news.example/a", settings), true);
    assert.equal(mayCopy("https://bank.example/account", settings), false);
    assert.equal(mayCopy("https://online.bank.example/", settings), false);
    assert.equal(mayCopy("https://notbank.example/", settings), true);
    assert.equal(mayCopy("https://news.example/a", { ...settings, keepCopy: false }), false);
    assert.equal(mayCopy("file:///home/me/page.html", settings), false);
    assert.equal(mayCopy("chrome://settings", settings), false);
  });
});

describe("capturing a tab", () => {
  const quiet = { info() {} };

  it("injects Readability, then the extraction, in that tab", async () => {
    const calls = [];
    const scripting = {
      async executeScript(options) {
        calls.push(options);
        if (options.files) return [{ result: undefined }];
        return [{ result: { article: { html: "<p>Body</p>", text: "Body", title: "T" } } }];
      },
    };
    const article = await captureTab(scripting, 7, { log: quiet });
    assert.deepEqual(article, { html: "<p>Body</p>", text: "Body", title: "T" });
    assert.deepEqual(calls[0], { target: { tabId: 7 }, files: [READABILITY_FILE] });
    assert.equal(calls[1].func, extractArticle);
    assert.deepEqual(calls[1].args, [{ maxHtml: MAX_HTML_CHARS, maxText: MAX_TEXT_CHARS, minText: MIN_TEXT_CHARS }]);
  });

  it("gives null for a restricted page, a page with no article, or one too slow", async () => {
    const refused = { executeScript: async () => { throw new Error("Cannot access contents of the page"); } };
    assert.equal(await captureTab(refused, 1, { log: quiet }), null);
    const empty = { executeScript: async (o) => [{ result: o.files ? undefined : { error: "no article on this page" } }] };
    assert.equal(await captureTab(empty, 1, { log: quiet }), null);
    const slow = { executeScript: () => new Promise(() => {}) };
    assert.equal(await captureTab(slow, 1, { timeoutMs: 20, log: quiet }), null);
    assert.equal(await captureTab(undefined, 1, { log: quiet }), null);
  });
});
