// The reader's sanitizer: the vendored DOMPurify on a real DOM (jsdom), through
// lib/sanitize.js as the reader page calls it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import createDOMPurify from "../vendor/purify.es.js";
import { sanitizeArticle } from "../lib/sanitize.js";
import { pageWindow } from "./dom.js";

const window = pageWindow("<!doctype html><html><body><main id=content></main></body></html>", "chrome-extension://test/reader/reader.html");
const purify = createDOMPurify(window);

function clean(html, allowImages = false) {
  const fragment = sanitizeArticle(html, { purify, doc: window.document, allowImages });
  const box = window.document.createElement("div");
  box.append(fragment);
  return box;
}

describe("sanitizing a kept page", () => {
  it("strips scripts, handlers, javascript: links, forms, frames and styles, keeping the text", () => {
    const box = clean(`
      <p onclick="steal()">Hello <b>world</b><script>alert(1)</script></p>
      <a href="javascript:alert(2)">bad link</a> <a href="https://example.org/x">good link</a>
      <img src="x" onerror="alert(3)">
      <iframe src="https://evil.example/"></iframe><object data="x.swf"></object>
      <form action="https://evil.example/"><input name="q"><button>Go</button></form>
      <style>body{display:none}</style><p style="position:fixed">styled</p>
      <svg><script>alert(4)</script></svg><math><mi xlink:href="javascript:alert(5)">m</mi></math>`);
    const html = box.innerHTML;
    assert.doesNotMatch(html, /<script|onclick|onerror|javascript:|<iframe|<object|<form|<input|<style|style=/i);
    assert.match(box.textContent, /Hello world/);
    assert.match(box.textContent, /bad link/);
    assert.match(box.textContent, /styled/);
    const good = box.querySelector('a[href="https://example.org/x"]');
    assert.equal(good.getAttribute("target"), "_blank");
    assert.equal(good.getAttribute("rel"), "noopener noreferrer");
  });

  it("renames ids so the article cannot stand in for the reader's own elements", () => {
    const box = clean('<p id="content">x</p><p name="status">y</p>');
    assert.equal(box.querySelector("#content"), null);
    assert.ok(box.querySelector("#user-content-content"));
  });

  it("shows a placeholder for every image unless remote images are allowed", () => {
    const html = `<figure><img src="https://img.example/a.jpg" alt="A train" srcset="https://img.example/b.jpg 2x"></figure>
      <picture><source srcset="https://img.example/c.webp"><img src="https://img.example/c.jpg"></picture>
      <video src="https://img.example/v.mp4" poster="https://img.example/p.jpg"></video>
      <img src="data:image/png;base64,iVBORw0KGgo=">`;
    const blocked = clean(html);
    assert.equal(blocked.querySelectorAll("img, source, video").length, 0);
    assert.doesNotMatch(blocked.innerHTML, /img\.example/);
    const placeholders = [...blocked.querySelectorAll(".image-placeholder")].map((p) => p.textContent);
    assert.deepEqual(placeholders, ["Image not loaded: A train", "Image not loaded", "Image not loaded"]);

    const allowed = clean(html, true);
    const imgs = [...allowed.querySelectorAll("img")];
    assert.deepEqual(imgs.map((i) => i.getAttribute("src")), ["https://img.example/a.jpg", "https://img.example/c.jpg"]);
    for (const img of imgs) {
      assert.equal(img.getAttribute("referrerpolicy"), "no-referrer");
      assert.equal(img.hasAttribute("srcset"), false);
    }
    // Not a web address: a placeholder still (and the reader's CSP would block it).
    assert.equal(allowed.querySelectorAll(".image-placeholder").length, 1);
    assert.equal(allowed.querySelectorAll("video, source").length, 0);
  });

  it("closes what a cut-off copy left open", () => {
    const box = clean("<p>First</p><p>Second <b>bold");
    assert.equal(box.querySelectorAll("p").length, 2);
    assert.equal(box.querySelector("b").textContent, "bold");
  });
});
