/**
 * The reader: an item's kept copy, fetched from the helper app in chunks
 * (lib/reader.js), sanitized with DOMPurify (lib/sanitize.js) and shown with
 * the user's reading settings; reading position per item; archive, favorite
 * and tags with the list's own ops; "Open original". Works offline: nothing
 * here needs the page's site, and its images load only when allowed.
 */
import DOMPurify from "../vendor/purify.es.js";
import { ext } from "../lib/browser.js";
import { tagChips } from "../lib/chips.js";
import { itemFromLookup } from "../lib/itemstate.js";
import { readingTime, shortDate } from "../lib/listview.js";
import {
  READER_DEFAULTS,
  fetchArticle,
  readerSettings,
  readerTarget,
  rememberPosition,
  stepFontSize,
} from "../lib/reader.js";
import { BackgroundClient } from "../lib/relay.js";
import { itemRequest, lookupRequest, tagsRequest } from "../lib/requests.js";
import { sanitizeArticle } from "../lib/sanitize.js";
import { parseTags } from "../lib/tags.js";
import { describeError } from "../lib/words.js";

const client = new BackgroundClient();
const $ = (id) => document.getElementById(id);
const SAVE_POSITION_MS = 400;

let settings = { ...READER_DEFAULTS };
let article = null; // {meta, html}
let item = itemFromLookup(null);
let positionTimer = null;

// -- settings ----------------------------------------------------------------------

function applySettings() {
  document.body.dataset.theme = settings.theme;
  document.body.dataset.width = settings.width;
  document.body.style.setProperty("--font-size", `${settings.fontSize}px`);
  $("width").value = settings.width;
  for (const b of document.querySelectorAll("[data-theme]")) {
    if (b instanceof HTMLButtonElement) b.setAttribute("aria-pressed", String(b.dataset.theme === settings.theme));
  }
  $("images").setAttribute("aria-pressed", String(settings.images));
  $("images").textContent = settings.images ? "Hide images" : "Show images";
}

async function changeSettings(change) {
  const imagesBefore = settings.images;
  settings = readerSettings({ ...settings, ...change });
  applySettings();
  await ext.storage.local.set({ reader: settings }).catch(() => {});
  if (settings.images !== imagesBefore && article) renderBody();
}

// -- the article ------------------------------------------------------------------

function renderBody() {
  const body = $("body");
  const fragment = sanitizeArticle(article.html, { purify: DOMPurify, doc: document, allowImages: settings.images });
  body.replaceChildren(fragment);
}

function renderArticle() {
  const { meta } = article;
  document.title = `${meta.title || meta.url} \u2013 Tuckaway`;
  $("title").textContent = meta.title || meta.url;
  $("site").textContent = meta.site_name || hostOf(meta.url);
  const bits = [meta.byline, readingTime(meta.word_count), meta.captured_at ? `kept ${shortDate(meta.captured_at)}` : null];
  $("meta").textContent = bits.filter(Boolean).join(" \u00b7 ");
  const lang = typeof meta.lang === "string" && /^[a-z]{2,3}(-[a-z0-9]{1,8})*$/i.test(meta.lang) ? meta.lang : "";
  if (lang) $("content").setAttribute("lang", lang);
  else $("content").removeAttribute("lang");
  $("original").href = meta.url;
  renderBody();
  $("content").hidden = false;
  $("status").textContent = "";
  $("status").hidden = true;
}

function hostOf(url) {
  try {
    return new URL(url).hostname.replace(/^www\./, "");
  } catch {
    return "";
  }
}

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = false;
  $("status").hidden = true;
}

// -- reading position -------------------------------------------------------------

function scrolledFraction() {
  const max = document.documentElement.scrollHeight - window.innerHeight;
  return max > 0 ? window.scrollY / max : 0;
}

function savePositionSoon() {
  clearTimeout(positionTimer);
  positionTimer = setTimeout(async () => {
    const id = positionKey();
    if (!id) return;
    const { readerPositions = {} } = await ext.storage.local.get({ readerPositions: {} }).catch(() => ({}));
    await ext.storage.local.set({ readerPositions: rememberPosition(readerPositions, String(id), scrolledFraction()) });
    document.body.dataset.positionSaved = String(Number(document.body.dataset.positionSaved ?? 0) + 1);
  }, SAVE_POSITION_MS);
}

/** The item's id; its url while the save still waits for its service (no id yet). */
function positionKey() {
  return article?.meta ? String(article.meta.item_id ?? article.meta.url ?? "") : "";
}

async function restorePosition() {
  const id = positionKey();
  const { readerPositions = {} } = await ext.storage.local.get({ readerPositions: {} }).catch(() => ({}));
  const at = readerPositions[id]?.at;
  if (!at) return;
  const max = document.documentElement.scrollHeight - window.innerHeight;
  window.scrollTo(0, Math.round(at * max));
}

// -- the item's state -------------------------------------------------------------

function renderItem() {
  const archive = $("archive");
  archive.disabled = !item.saved;
  archive.setAttribute("aria-pressed", String(item.archived));
  archive.textContent = item.archived ? "Archived" : "Archive";
  const favorite = $("favorite");
  favorite.disabled = !item.saved;
  favorite.setAttribute("aria-pressed", String(item.favorite));
  favorite.textContent = item.favorite ? "\u2605 Favorite" : "\u2606 Favorite";
  $("tags").hidden = !item.saved;
  $("chips").replaceChildren(...tagChips(item.tags, { onRemove: (tag) => write(tagsRequest("tags_remove", where(), [tag])) }));
}

function where() {
  return item.itemId ? { item_id: item.itemId } : { url: article.meta.url };
}

async function loadItem() {
  try {
    item = itemFromLookup(await client.request(lookupRequest(article.meta.url)));
  } catch {
    item = itemFromLookup(null);
  }
  renderItem();
}

/** One write, then the item's state as the helper app has it. */
async function write(request) {
  try {
    await client.request(request);
  } catch (error) {
    showError(describeError(error, {}));
  }
  await loadItem();
}

// -- wiring -----------------------------------------------------------------------

function wire() {
  $("smaller").addEventListener("click", () => changeSettings({ fontSize: stepFontSize(settings.fontSize, -1) }));
  $("larger").addEventListener("click", () => changeSettings({ fontSize: stepFontSize(settings.fontSize, 1) }));
  $("width").addEventListener("change", () => changeSettings({ width: $("width").value }));
  for (const b of document.querySelectorAll("button[data-theme]")) {
    b.addEventListener("click", () => changeSettings({ theme: b.dataset.theme }));
  }
  $("images").addEventListener("click", () => changeSettings({ images: !settings.images }));
  $("archive").addEventListener("click", () => write(itemRequest(item.archived ? "readd" : "archive", where())));
  $("favorite").addEventListener("click", () => write(itemRequest(item.favorite ? "unfavorite" : "favorite", where())));
  $("tag-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const { tags } = parseTags($("tag-input").value, item.tags);
    $("tag-input").value = "";
    if (tags.length) write(tagsRequest("tags_add", where(), tags));
  });
  window.addEventListener("scroll", savePositionSoon, { passive: true });
}

async function main() {
  wire();
  const stored = await ext.storage.local.get({ reader: {} }).catch(() => ({}));
  settings = readerSettings(stored.reader);
  applySettings();
  const target = readerTarget(location.search);
  if (!target) {
    showError("No item was named: open the reader from your list or the popup.");
    return;
  }
  if (target.url) $("original").href = target.url;
  try {
    article = await fetchArticle((request) => client.request(request), target, {
      onChunk: (done, size) => {
        $("status").textContent = size ? `Loading the copy\u2026 ${Math.round((100 * done) / size)}%` : "Loading the copy\u2026";
      },
    });
  } catch (error) {
    showError(
      ["unknown_item", "not_found"].includes(error?.code)
        ? "No copy of this page was kept. Open the original instead."
        : describeError(error, {}),
    );
    return;
  } finally {
    $("reader").setAttribute("aria-busy", "false");
  }
  renderArticle();
  await restorePosition();
  document.body.dataset.ready = "true";
  loadItem();
}

main();
