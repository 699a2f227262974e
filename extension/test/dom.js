// A real DOM for node tests (jsdom), the saved HTML fixtures, and the vendored
// libraries loaded from vendor/ exactly as the extension ships them.
import { readFileSync } from "node:fs";
import vm from "node:vm";

import { JSDOM } from "jsdom";

const here = new URL("./", import.meta.url);

export function fixture(name) {
  return readFileSync(new URL(`fixtures/${name}`, here), "utf-8");
}

/** A window holding `html` as if served from `url` (scripts are not run, as in a saved page). */
export function pageWindow(html, url = "https://news.example/2026/night-trains") {
  return new JSDOM(html, { url }).window;
}

/** vendor/Readability.js run as the classic script executeScript injects. */
export function vendoredReadability() {
  const source = readFileSync(new URL("../vendor/Readability.js", here), "utf-8");
  // The globals a page gives every classic script and Readability uses.
  const sandbox = { module: { exports: null }, URL, console };
  vm.runInNewContext(source, sandbox, { filename: "vendor/Readability.js" });
  return sandbox.module.exports;
}
