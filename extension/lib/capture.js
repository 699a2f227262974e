/**
 * Keeping a copy of the page being saved (issue 14): Readability runs in the
 * page, on a clone of its document, and the article goes with the `save`.
 *
 * `extractArticle` is injected with `scripting.executeScript` after
 * vendor/Readability.js, so it must use nothing from this module (the browser
 * serializes the function alone). Whatever goes wrong (a restricted page, no
 * article, a script error, too slow, too big) the save goes out without an
 * article: a copy is a bonus, the save is never lost.
 */

/** The host takes a save frame carrying an article up to this size (protocol.md). */
export const MAX_ARTICLE_FRAME = 16 * 1024 * 1024;
/** Html kept from one page; the text is bounded too, so most pages fit in the frame. */
export const MAX_HTML_CHARS = 8 * 1024 * 1024;
export const MAX_TEXT_CHARS = 4 * 1024 * 1024;
/** Less text than this is a login form or a list of links, not an article. */
export const MIN_TEXT_CHARS = 200;
/** Extraction that takes longer is abandoned, and the link is saved alone. */
export const CAPTURE_TIMEOUT_MS = 4000;
export const READABILITY_FILE = "vendor/Readability.js";

/** storage.local keys and defaults of the two settings. */
export const CAPTURE_DEFAULTS = Object.freeze({ keepCopy: true, neverCopy: [] });

/**
 * Runs in the page: the article of `doc` by Readability, or `{error}` saying
 * why there is none. Limits are arguments because the page has no imports.
 */
export function extractArticle(limits, doc = document, Reader = globalThis.Readability) {
  const { maxHtml, maxText, minText } = limits;
  if (typeof Reader !== "function") return { error: "Readability is not loaded" };
  const meta = (...names) => {
    for (const name of names) {
      const el = doc.querySelector(`meta[property="${name}"], meta[name="${name}"]`);
      const value = el?.getAttribute("content")?.trim();
      if (value) return value;
    }
    return null;
  };
  const absolute = (src) => {
    try {
      const url = new URL(src, doc.baseURI);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch {
      return null;
    }
  };
  // Readability changes the document it reads: give it a copy, the page stays as it is.
  const parsed = new Reader(doc.cloneNode(true)).parse();
  const text = (parsed?.textContent ?? "").replace(/\s+/g, " ").trim();
  if (!parsed || text.length < minText) return { error: "no article on this page" };
  let html = parsed.content ?? "";
  if (html.length > maxHtml) {
    // Cut at a tag's end; the reader's sanitizer closes what is left open.
    const cut = html.lastIndexOf(">", maxHtml);
    html = html.slice(0, cut > 0 ? cut + 1 : maxHtml);
  }
  const firstImage = /<img\b[^>]*?\ssrc="([^"]+)"/i.exec(html)?.[1]?.replace(/&amp;/g, "&");
  const lead = meta("og:image", "twitter:image");
  const article = {
    html,
    text: text.slice(0, maxText),
    title: parsed.title || doc.title || null,
    byline: parsed.byline || null,
    site_name: parsed.siteName || meta("og:site_name") || null,
    lang: parsed.lang || doc.documentElement.getAttribute("lang") || null,
    excerpt: parsed.excerpt || null,
    lead_image: (lead && absolute(lead)) || (firstImage && absolute(firstImage)) || null,
  };
  return { article };
}

const OPTIONAL_LIMITS = { title: 2000, byline: 500, site_name: 500, lang: 35, excerpt: 2000, lead_image: 4000 };

/** The `article` field from what the page gave: trimmed strings, no empty or odd values. */
export function articleField(raw) {
  if (!raw || typeof raw.html !== "string" || typeof raw.text !== "string" || !raw.html.replaceAll("\u0000", "").trim()) {
    return null;
  }
  // The host refuses NUL characters; a page may hold them, the copy does not need them.
  const clean = (value) => value.replaceAll("\u0000", "");
  const article = { html: clean(raw.html).slice(0, MAX_HTML_CHARS), text: clean(raw.text).slice(0, MAX_TEXT_CHARS) };
  for (const [key, limit] of Object.entries(OPTIONAL_LIMITS)) {
    const value = typeof raw[key] === "string" ? clean(raw[key]).replace(/\s+/g, " ").trim() : "";
    if (!value || value.length > limit) continue;
    if (key === "lead_image" && !/^https?:\/\/\S+$/i.test(value)) continue;
    article[key] = value;
  }
  return article;
}

/** The size in bytes of the frame the host receives (UTF-8 JSON). */
export function frameBytes(message) {
  return new TextEncoder().encode(JSON.stringify(message)).length;
}

/**
 * The save request with the article, when the frame stays under the host's
 * limit (room is left for the id the port adds); else the save alone.
 */
export function withArticle(request, article, maxBytes = MAX_ARTICLE_FRAME) {
  if (!article) return request;
  const full = { ...request, article };
  return frameBytes({ id: "t0000-000000", ...full }) <= maxBytes ? full : request;
}

/** "example.com\n*.news.org\n https://blog.net/x " -> ["example.com", "news.org", "blog.net"]. */
export function parseNeverCopy(text) {
  const hosts = [];
  for (const line of String(text ?? "").split(/[\n,]/)) {
    let value = line.trim().toLowerCase().replace(/^\*\./, "");
    if (!value) continue;
    try {
      value = new URL(value.includes("://") ? value : `https://${value}`).hostname;
    } catch {
      continue;
    }
    value = value.replace(/^www\./, "");
    if (value && !hosts.includes(value)) hosts.push(value);
  }
  return hosts;
}

/** Whether a copy of `url` may be kept: a web page, the setting on, its site not listed. */
export function mayCopy(url, { keepCopy = true, neverCopy = [] } = {}) {
  if (!keepCopy) return false;
  let host;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return false;
    host = parsed.hostname.toLowerCase();
  } catch {
    return false;
  }
  // A listed site covers its subdomains (news.org covers www.news.org and m.news.org).
  return !neverCopy.some((site) => host === site || host.endsWith(`.${site}`));
}

/** The two settings from storage.local, with their defaults. */
export async function captureSettings(storage) {
  try {
    const stored = await storage.get(CAPTURE_DEFAULTS);
    return {
      keepCopy: stored.keepCopy !== false,
      neverCopy: Array.isArray(stored.neverCopy) ? stored.neverCopy.filter((s) => typeof s === "string") : [],
    };
  } catch {
    return { ...CAPTURE_DEFAULTS };
  }
}

/**
 * The article of the page in `tabId` (top frame), or null with the reason
 * logged. Needs activeTab for that tab (a click on the toolbar button, the
 * shortcut, the page's menu) or a host permission for its site.
 */
export async function captureTab(scripting, tabId, { timeoutMs = CAPTURE_TIMEOUT_MS, log = console } = {}) {
  if (!scripting || typeof tabId !== "number") return null;
  const limits = { maxHtml: MAX_HTML_CHARS, maxText: MAX_TEXT_CHARS, minText: MIN_TEXT_CHARS };
  const run = async () => {
    const target = { tabId };
    await scripting.executeScript({ target, files: [READABILITY_FILE] });
    const [first] = await scripting.executeScript({ target, func: extractArticle, args: [limits] });
    return first?.result ?? null;
  };
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`extraction took over ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const result = await Promise.race([run(), late]);
    if (result?.article) return articleField(result.article);
    log.info?.(`tuckaway: no copy kept: ${result?.error ?? "the page gave nothing"}`);
  } catch (error) {
    log.info?.("tuckaway: no copy kept:", String(error?.message ?? error));
  } finally {
    clearTimeout(timer);
  }
  return null;
}
