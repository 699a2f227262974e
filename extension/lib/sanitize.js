/**
 * The reader's sanitizer: a kept page's html, as DOMPurify (vendor/) leaves
 * it, made safe to show in an extension page. No script, handler, form,
 * frame, style or `javascript:` link survives; ids are prefixed so the
 * article cannot stand in for the page's own elements; and no image loads
 * from the web unless the user allows remote images (a placeholder instead).
 */
const FORBID_TAGS = [
  "style", "link", "meta", "base", "form", "input", "button", "select", "textarea", "option",
  "iframe", "frame", "frameset", "object", "embed", "applet", "portal",
  // Media could load from the web without showing an image first; pictures keep their <img>.
  "video", "audio", "source", "track", "picture",
];

const CONFIG = {
  RETURN_DOM_FRAGMENT: true,
  FORBID_TAGS,
  FORBID_ATTR: ["style", "srcset", "sizes", "ping", "background", "poster", "formaction", "action"],
  ALLOW_DATA_ATTR: false,
  SANITIZE_NAMED_PROPS: true,
};

function isWebUrl(value) {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

function placeholder(doc, img) {
  const alt = (img.getAttribute("alt") ?? "").trim();
  const span = doc.createElement("span");
  span.className = "image-placeholder";
  span.textContent = alt ? `Image not loaded: ${alt}` : "Image not loaded";
  return span;
}

/**
 * A DocumentFragment of `html` for `doc`, sanitized by `purify` (a DOMPurify
 * instance for that window). Links open in a new tab without a referrer.
 */
export function sanitizeArticle(html, { purify, doc, allowImages = false }) {
  const fragment = purify.sanitize(String(html ?? ""), CONFIG);
  for (const img of [...fragment.querySelectorAll("img")]) {
    const src = img.getAttribute("src") ?? "";
    if (allowImages && isWebUrl(src)) {
      img.setAttribute("referrerpolicy", "no-referrer");
      img.setAttribute("loading", "lazy");
    } else {
      img.replaceWith(placeholder(doc, img));
    }
  }
  for (const link of fragment.querySelectorAll("a[href]")) {
    if (!isWebUrl(link.getAttribute("href"))) {
      // In-page anchors point at ids the sanitizer renamed; anything else has nowhere to go.
      link.removeAttribute("href");
      continue;
    }
    link.setAttribute("target", "_blank");
    link.setAttribute("rel", "noopener noreferrer");
  }
  return fragment;
}
