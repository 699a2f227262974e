/**
 * The toolbar popup: saves the current tab at once (unless it is already
 * saved, then shows its state from `lookup`), then lets the user tag,
 * archive, favorite, remove, and bookmark a Mastodon post.
 *
 * Every request goes through the background (lib/relay.js), which owns the
 * native port and the badge, so closing the popup never loses a save.
 */
import { ext } from "../lib/browser.js";
import { tagChips } from "../lib/chips.js";
import { afterSave, headline, itemFromLookup, needsSave, retryHeadline, writeOutcome } from "../lib/itemstate.js";
import { isMastodonPostUrl } from "../lib/mastodon.js";
import { BackgroundClient } from "../lib/relay.js";
import {
  articleRequest,
  bookmarkRequest,
  bookmarkStateRequest,
  isSaveableUrl,
  itemRequest,
  lookupRequest,
  saveRequest,
  tagsListRequest,
  tagsRequest,
} from "../lib/requests.js";
import { LIST_PAGE, undoDeleteRequests } from "../lib/listview.js";
import { readerUrl } from "../lib/reader.js";
import { showProblems } from "../lib/problems.js";
import { Suggestions, completeTags, normalizeTagList, parseTags } from "../lib/tags.js";
import { INSTALL_COMMAND, describeError, describeRetry, describeUnconfirmed } from "../lib/words.js";

const client = new BackgroundClient();
const $ = (id) => document.getElementById(id);

const page = { url: null, title: null, tabId: null };
let item = itemFromLookup(null);
let knownTags = [];
let backend = null;
let bookmarked = false;
let removed = null; // what Undo puts back after Remove
const suggestions = new Suggestions();

// -- rendering -------------------------------------------------------------------

function setStatus(state, text) {
  const main = $("popup");
  main.dataset.state = state;
  main.setAttribute("aria-busy", String(state === "checking" || state === "saving"));
  $("status-text").textContent = text;
}

function setDetail(text, kind = "error") {
  const detail = $("detail");
  detail.textContent = text ?? "";
  detail.className = `notice ${kind}`;
  detail.hidden = !text;
}

function renderItem() {
  const visible = item.saved || item.pending > 0;
  $("item").hidden = !visible;
  $("removed").hidden = visible || $("popup").dataset.state !== "removed";
  const archive = $("archive");
  archive.setAttribute("aria-pressed", String(item.archived));
  archive.textContent = item.archived ? "Archived" : "Archive";
  archive.title = item.archived ? "Move back to your list" : "Archive this page";
  const favorite = $("favorite");
  favorite.setAttribute("aria-pressed", String(item.favorite));
  favorite.textContent = item.favorite ? "\u2605 Favorite" : "\u2606 Favorite";
  $("chips").replaceChildren(...tagChips(item.tags, { onRemove: removeTag }));
  updateSuggestions();
}

function updateSuggestions() {
  const input = $("tag-input");
  const typed = input.value.split(",").pop();
  const open = document.activeElement === input && typed.trim() !== "";
  suggestions.show(open ? completeTags(knownTags, typed, item.tags, 8, { byUse: true }) : []);
  renderSuggestions();
}

function renderSuggestions() {
  const input = $("tag-input");
  const list = $("tag-suggestions");
  list.replaceChildren(
    ...suggestions.items.map((tag, i) => {
      const option = document.createElement("li");
      option.id = `tag-suggestion-${i}`;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", String(i === suggestions.active));
      option.textContent = tag;
      // mousedown, not click: the field keeps the focus
      option.addEventListener("mousedown", (event) => {
        event.preventDefault();
        input.value = Suggestions.complete(input.value, tag);
        addTags();
      });
      return option;
    }),
  );
  list.hidden = suggestions.items.length === 0;
  input.setAttribute("aria-expanded", String(!list.hidden));
  if (suggestions.active >= 0) input.setAttribute("aria-activedescendant", `tag-suggestion-${suggestions.active}`);
  else input.removeAttribute("aria-activedescendant");
}

function showError(error) {
  if (error?.code === "host_unavailable") {
    setStatus("missing", "Helper app not found");
    $("install").hidden = false;
    $("item").hidden = true;
    return;
  }
  setDetail(describeError(error, { service: backend }));
}

// -- flows -----------------------------------------------------------------------

async function currentTab() {
  const params = new URLSearchParams(location.search);
  const tabId = Number.parseInt(params.get("tab") ?? "", 10);
  if (Number.isInteger(tabId)) return ext.tabs.get(tabId);
  const [tab] = await ext.tabs.query({ active: true, currentWindow: true });
  return tab;
}

async function refresh() {
  item = itemFromLookup(await client.request(lookupRequest(page.url)));
  return item;
}

async function save() {
  setStatus("saving", "Saving\u2026");
  setDetail(null);
  const { defaultTags = [] } = await ext.storage.sync.get({ defaultTags: [] }).catch(() => ({}));
  const request = saveRequest({ url: page.url, title: page.title, tags: normalizeTagList(defaultTags) });
  let result;
  try {
    // The background keeps a copy of the page with the save (lib/capture.js).
    result = await client.send({ kind: "save-page", request, tabId: page.tabId }, (event) => {
      if (event.event !== "retrying") return;
      const line = retryHeadline(event);
      setStatus(line.state, line.text);
      setDetail(describeRetry(event), "warn");
    });
  } catch (error) {
    setStatus("error", "Not saved");
    showError(error);
    return;
  }
  // A save recovered after the helper app restarted carries its lookup; a normal
  // answer means it is saved, and lookup fills in the rest (tags, favorite).
  showReadCopy(Boolean(result?.kept));
  const recovered = afterSave(request, result);
  if (recovered) {
    item = recovered.item;
    setStatus(recovered.line.state, recovered.line.text);
    setDetail(recovered.detail, "warn");
  } else {
    try {
      await refresh();
    } catch {
      item = { ...itemFromLookup(null), saved: true, itemId: result?.item_id ?? null, tags: request.tags ?? [] };
    }
    const line = headline(item, { justSaved: true });
    setStatus(line.state, line.text);
    setDetail(null);
  }
  renderItem();
  loadTags();
  $("tag-input").focus();
}

/** "Read the copy": shown when this page's copy is kept (just now, or found with `article`). */
function showReadCopy(kept) {
  $("read-copy").hidden = !kept;
}

async function findCopy() {
  try {
    const chunk = await client.request(articleRequest({ url: page.url }));
    showReadCopy(typeof chunk?.html === "string");
  } catch {
    showReadCopy(false);
  }
}

async function loadTags() {
  try {
    // Most used first: the suggestions keep this order.
    const { tags } = await client.request(tagsListRequest("", { counts: true }));
    knownTags = Array.isArray(tags) ? tags.map((t) => t.tag) : [];
    updateSuggestions();
  } catch {
    knownTags = [];
  }
}

/**
 * Send an item write; `optimistic` updates the view now, `undo` puts it back on
 * failure: an error, or a write recovered after the helper app restarted whose
 * lookup shows the change did not happen (`writeOutcome`; the background shows
 * "!" but sends no notification while the popup is open, so the popup says it).
 */
async function change(request, optimistic, undo) {
  optimistic();
  renderItem();
  setDetail(null);
  try {
    const result = await client.request(request, (event) => {
      if (event.event === "retrying") setDetail(describeRetry(event), "warn");
    });
    if (writeOutcome(request, result) === "failed") {
      undo();
      renderItem();
      setDetail(describeUnconfirmed(request));
      return;
    }
    setDetail(null);
  } catch (error) {
    undo();
    renderItem();
    showError(error);
  }
}

function addTags() {
  const input = $("tag-input");
  const { tags, problems } = parseTags(input.value, item.tags);
  if (problems.length) setDetail(`Not added: ${problems.join("; ")}.`);
  input.value = "";
  if (!tags.length) {
    updateSuggestions();
    return;
  }
  const before = item.tags;
  change(
    tagsRequest("tags_add", { url: page.url }, tags),
    () => {
      item = { ...item, tags: [...item.tags, ...tags] };
      knownTags = [...new Set([...knownTags, ...tags])];
    },
    () => {
      item = { ...item, tags: before };
    },
  );
}

function removeTag(tag) {
  const before = item.tags;
  change(
    tagsRequest("tags_remove", { url: page.url }, [tag]),
    () => {
      item = { ...item, tags: item.tags.filter((t) => t !== tag) };
    },
    () => {
      item = { ...item, tags: before };
    },
  );
  $("tag-input").focus();
}

function toggleArchive() {
  const was = item.archived;
  change(
    itemRequest(was ? "readd" : "archive", { url: page.url }),
    () => {
      item = { ...item, archived: !was };
    },
    () => {
      item = { ...item, archived: was };
    },
  ).then(() => {
    const line = headline(item, { justSaved: true });
    setStatus(line.state, item.archived ? "Saved \u00b7 archived" : "Saved");
  });
}

function toggleFavorite() {
  const was = item.favorite;
  change(
    itemRequest(was ? "unfavorite" : "favorite", { url: page.url }),
    () => {
      item = { ...item, favorite: !was };
    },
    () => {
      item = { ...item, favorite: was };
    },
  );
}

async function removeItem() {
  setDetail(null);
  const request = itemRequest("delete", { url: page.url });
  try {
    const result = await client.request(request);
    if (writeOutcome(request, result) === "failed") {
      // Recovered after a restart, and the lookup still shows the item: it stays.
      renderItem();
      setDetail(describeUnconfirmed(request));
      return;
    }
    removed = {
      url: page.url,
      title: page.title,
      tags: item.tags,
      favorite: item.favorite,
      status: item.archived ? "archived" : "unread",
    };
    item = itemFromLookup(null);
    setStatus("removed", "Removed from your list");
    renderItem();
    $("undo-remove").focus();
  } catch (error) {
    showError(error);
  }
}

/** Undo of Remove: the item comes back with its tags, favorite and archive state. */
async function undoRemove() {
  if (!removed) return;
  setStatus("saving", "Restoring\u2026");
  const settled = await Promise.allSettled(undoDeleteRequests(removed).map((r) => client.request(r)));
  if (settled[0].status === "rejected") {
    setStatus("error", "Not restored");
    showError(settled[0].reason);
    return;
  }
  removed = null;
  await refresh().catch(() => null);
  const line = headline(item);
  setStatus(line.state, line.text);
  renderItem();
  $("tag-input").focus();
}

async function saveWindow() {
  const button = $("save-window");
  button.disabled = true;
  try {
    const statuses = await client.send({ kind: "save-window-tabs" });
    const done = statuses.filter((s) => s === "fulfilled").length;
    setDetail(`Saved ${done} of ${statuses.length} tabs.`, done === statuses.length ? "ok" : "warn");
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

function renderBookmark() {
  const button = $("bookmark");
  button.setAttribute("aria-pressed", String(bookmarked));
  button.textContent = bookmarked ? "Bookmarked" : "Bookmark";
  button.title = bookmarked ? "Remove the bookmark on Mastodon" : "Bookmark this post on Mastodon";
}

/** The Mastodon section's own line (the page's #detail belongs to the save). */
function setMastodonMessage(text, kind = "error") {
  const line = $("mastodon-message");
  line.textContent = text ?? "";
  line.className = `notice ${kind}`;
  line.hidden = !text;
}

/** Show whether this post is bookmarked: one `bookmark_state` read, which asks the user's server. */
async function loadBookmarkState() {
  const button = $("bookmark");
  button.disabled = true;
  $("mastodon").setAttribute("aria-busy", "true");
  setMastodonMessage(null);
  try {
    const result = await client.request(bookmarkStateRequest(page.url));
    bookmarked = Boolean(result?.bookmarked);
  } catch (error) {
    setMastodonMessage(describeError(error, { service: "mastodon" }), "warn");
  } finally {
    $("mastodon").setAttribute("aria-busy", "false");
    button.disabled = false;
    renderBookmark();
  }
}

async function toggleBookmark() {
  const button = $("bookmark");
  button.disabled = true;
  setMastodonMessage(null);
  try {
    const result = await client.request(bookmarkRequest(!bookmarked, page.url), (event) => {
      if (event.event === "retrying") setMastodonMessage(describeRetry(event), "warn");
    });
    bookmarked = Boolean(result?.bookmarked ?? !bookmarked);
    setMastodonMessage(null);
  } catch (error) {
    setMastodonMessage(describeError(error, { service: "mastodon" }));
  } finally {
    button.disabled = false;
    renderBookmark();
    button.focus();
  }
}

function wire() {
  $("open-options").addEventListener("click", () => {
    ext.runtime.openOptionsPage();
    window.close();
  });
  $("install-command").textContent = INSTALL_COMMAND;
  $("copy-install").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(INSTALL_COMMAND);
      $("copy-install").textContent = "Copied";
    } catch {
      $("copy-install").textContent = "Select and copy";
    }
  });
  const input = $("tag-input");
  input.addEventListener("keydown", (event) => {
    if ((event.key === "ArrowDown" || event.key === "ArrowUp") && suggestions.items.length) {
      event.preventDefault();
      suggestions.move(event.key === "ArrowDown" ? 1 : -1);
      renderSuggestions();
    } else if (event.key === "Escape" && suggestions.items.length) {
      event.preventDefault();
      suggestions.show([]);
      renderSuggestions();
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (suggestions.chosen) input.value = Suggestions.complete(input.value, suggestions.chosen);
      addTags();
    } else if (event.key === "Backspace" && input.value === "" && item.tags.length) {
      event.preventDefault();
      removeTag(item.tags[item.tags.length - 1]);
    }
  });
  input.addEventListener("input", updateSuggestions);
  input.addEventListener("blur", () => {
    suggestions.show([]);
    renderSuggestions();
  });
  $("archive").addEventListener("click", toggleArchive);
  $("favorite").addEventListener("click", toggleFavorite);
  $("remove").addEventListener("click", removeItem);
  $("save-again").addEventListener("click", () => save());
  $("undo-remove").addEventListener("click", undoRemove);
  $("open-list").addEventListener("click", () => {
    ext.tabs.create({ url: ext.runtime.getURL(LIST_PAGE) });
    window.close();
  });
  $("save-window").addEventListener("click", saveWindow);
  $("read-copy").addEventListener("click", () => {
    ext.tabs.create({ url: ext.runtime.getURL(readerUrl(item.itemId ? { item_id: item.itemId } : { url: page.url })) });
    window.close();
  });
  $("bookmark").addEventListener("click", toggleBookmark);
}

async function main() {
  wire();
  const tab = await currentTab().catch(() => null);
  page.url = tab?.url ?? null;
  page.title = tab?.title ?? null;
  page.tabId = typeof tab?.id === "number" ? tab.id : null;
  $("page-title").textContent = page.title || page.url || "No page";
  $("page-url").textContent = page.url ?? "";
  $("page-url").title = page.url ?? "";
  if (!page.url || !isSaveableUrl(page.url)) {
    setStatus("unsaveable", "Nothing to save here");
    setDetail("Only web pages (http and https addresses) can be saved.", "warn");
    return;
  }
  const helloing = client.hello().catch(() => null);
  helloing.then((hello) => showProblems($("problems"), $("problem-list"), hello));
  let found;
  try {
    found = await refresh();
  } catch (error) {
    setStatus("error", "Not saved");
    showError(error);
    return;
  }
  const hello = await helloing;
  backend = hello?.backend ?? null;
  if (isMastodonPostUrl(page.url)) {
    const linked = Boolean(hello?.accounts?.mastodon?.linked);
    $("mastodon").hidden = false;
    $("bookmark").disabled = !linked;
    $("mastodon-hint").hidden = linked;
    if (linked) loadBookmarkState();
  }
  if (needsSave(found)) {
    await save();
    return;
  }
  const line = headline(found);
  setStatus(line.state, line.text);
  renderItem();
  loadTags();
  // A helper app that predates `has_article` is asked for the copy's first chunk instead.
  if (found.hasArticle !== null) showReadCopy(found.hasArticle);
  else if (found.saved) findCopy();
  if (!$("item").hidden) $("tag-input").focus();
}

main();
