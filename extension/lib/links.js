/**
 * The links inside a selection, for "Save links in selection".
 *
 * `collectSelectedLinks` runs in the page (scripting.executeScript) and only
 * reads: the anchors the selection touches, in document order. The pure
 * `linksToSave` then decides what gets saved: http(s) only, fragments of the
 * same page dropped, duplicates dropped, plus bare URLs typed in the selected
 * text (for pages that show links as text).
 */

export const MAX_SELECTION_LINKS = 100;

const TEXT_URL = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING_PUNCTUATION = /[.,;:!?)\]}]+$/;

/**
 * Runs in the page. Must be self-contained (it is serialized by the browser).
 * @returns {{href: string, text: string}[]}
 */
export function collectSelectedLinks() {
  const selection = globalThis.getSelection?.();
  if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return [];
  const found = [];
  for (const anchor of document.querySelectorAll("a[href], area[href]")) {
    if (selection.containsNode(anchor, true)) {
      found.push({ href: anchor.href, text: (anchor.textContent || "").trim().slice(0, 300) });
    }
  }
  return found;
}

/** URLs written out in plain text. */
export function urlsInText(text) {
  const urls = [];
  for (const match of String(text ?? "").matchAll(TEXT_URL)) {
    urls.push(match[0].replace(TRAILING_PUNCTUATION, ""));
  }
  return urls;
}

function normalize(href, base) {
  let url;
  try {
    url = base ? new URL(href, base) : new URL(href);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  if (!url.hostname) return null;
  return url;
}

/**
 * What to save from a selection: `[{url, title}]`, in order, at most `limit`.
 *
 * `anchors` come from collectSelectedLinks, `selectionText` from the context
 * menu; `pageUrl` drops links that only jump within the page itself.
 */
export function linksToSave({ anchors = [], selectionText = "", pageUrl = null, limit = MAX_SELECTION_LINKS } = {}) {
  const page = pageUrl ? normalize(pageUrl) : null;
  const pageKey = page ? page.href.split("#")[0] : null;
  const seen = new Set();
  const out = [];
  const candidates = [
    ...anchors.map((a) => ({ href: a.href, title: a.text || null })),
    ...urlsInText(selectionText).map((href) => ({ href, title: null })),
  ];
  for (const { href, title } of candidates) {
    const url = normalize(href, pageUrl ?? undefined);
    if (!url) continue;
    const key = url.href.split("#")[0];
    if (url.hash && key === pageKey) continue;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(title ? { url: url.href, title } : { url: url.href });
    if (out.length >= limit) break;
  }
  return out;
}
