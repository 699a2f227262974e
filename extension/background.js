/**
 * The background: context menus, keyboard commands, the badge, and the relay
 * that lets the popup and options page use the one native port (port.js).
 *
 * Listeners are registered at the top level, synchronously, as Manifest V3
 * requires for events to wake the background. They are exported on
 * `globalThis.tuckaway` too, so tests drive the very functions the browser
 * calls (`chrome.contextMenus.onClicked.hasListener(tuckaway.onMenuClicked)`).
 */
import { ext } from "./lib/browser.js";
import { BadgeModel, CHECK_MS } from "./lib/badge.js";
import { captureSettings, captureTab, mayCopy, withArticle } from "./lib/capture.js";
import { Drain } from "./lib/drain.js";
import { writeOutcome } from "./lib/itemstate.js";
import { collectSelectedLinks, linksToSave } from "./lib/links.js";
import { BOOKMARK_MENU_IDS, bookmarkTarget } from "./lib/mastodon.js";
import { MENU_IDS, menuDefinitions } from "./lib/menus.js";
import { UI_PORT_NAME, errorToWire } from "./lib/relay.js";
import { WRITE_OPS, bookmarkRequest, isSaveableUrl, saveRequest } from "./lib/requests.js";
import { LIST_PAGE, omniboxSuggestions } from "./lib/listview.js";
import { SavedState } from "./lib/savedstate.js";
import { normalizeTagList } from "./lib/tags.js";
import { describeError, describeUnconfirmed } from "./lib/words.js";
import { HostPort } from "./port.js";

const port = new HostPort({ connectNative: (name) => ext.runtime.connectNative(name) });
const badge = new BadgeModel();
let checkTimer = null;
const savedState = new SavedState({
  session: ext.storage.session,
  request: (request) => port.request(request),
  paint: (tabId, { title, path }) =>
    Promise.all([ext.action.setTitle({ tabId, title }), ext.action.setIcon({ tabId, path })]).catch(() => {}),
});

// -- badge --------------------------------------------------------------------

let paintedTitle = null;

function paintBadge() {
  const { text, color } = badge.view();
  ext.action.setBadgeText({ text }).catch(() => {});
  ext.action.setBadgeBackgroundColor({ color }).catch(() => {});
  // The window-wide tooltip; a tab's own (saved or not, savedstate.js) still wins there.
  const title = badge.title();
  if (title === paintedTitle) return;
  paintedTitle = title;
  ext.action.setTitle({ title: title ?? ext.runtime.getManifest?.().action?.default_title ?? "Save to Tuckaway" })
    .catch(() => {});
}

/** A write succeeded: its check mark (BadgeModel) lasts CHECK_MS from now. */
function startCheckTimer() {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(() => {
    badge.flashDone();
    paintBadge();
  }, CHECK_MS);
}

function notifyFailure(message) {
  ext.notifications
    ?.create(`tuckaway-failed-${Date.now()}`, {
      type: "basic",
      iconUrl: ext.runtime.getURL("icons/icon-128.png"),
      title: "Tuckaway could not do that",
      message,
    })
    .catch(() => {});
}

/**
 * Every request goes through here. Writes count on the badge; a failed write
 * shows "!" and, unless a page is there to show the error (`quiet`), a notification.
 * A write recovered after the helper app restarted (port.js) ends as its
 * `lookup` shows: a check mark only when the change is there, nothing while the
 * helper app still holds it queued, "!" when the change did not happen.
 */
async function send(request, { onEvent = null, quiet = false } = {}) {
  const write = WRITE_OPS.has(request.op);
  if (!write) return port.request(request, { onEvent });
  badge.started();
  paintBadge();
  const watch = (event) => {
    if (event?.event === "retrying") {
      badge.retrying(event);
      paintBadge();
    }
    onEvent?.(event);
  };
  try {
    const result = await requestKeepingSave(request, watch);
    const outcome = writeOutcome(request, result);
    badge.settled(outcome);
    refreshSavedState();
    if (outcome === "done") startCheckTimer();
    if (outcome === "failed" && !quiet) notifyFailure(describeUnconfirmed(request));
    return result;
  } catch (error) {
    badge.failedWrite();
    if (!quiet) {
      const service = request.op.includes("bookmark") ? "mastodon" : port.info?.backend ?? null;
      notifyFailure(describeError(error, { service }));
    }
    throw error;
  } finally {
    paintBadge();
  }
}

/**
 * A save whose article the host refused (the frame too big, or a helper app
 * too old to know `article`) goes again as the link alone: never lost.
 */
async function requestKeepingSave(request, onEvent) {
  try {
    return await port.request(request, { onEvent });
  } catch (error) {
    if (!request.article || !articleRefused(error)) throw error;
    console.info(`tuckaway: the helper app took no copy of the page (${error.code}); saving the link alone`);
    const { article: _dropped, ...plain } = request;
    return port.request(plain, { onEvent });
  }
}

function articleRefused(error) {
  if (error?.code === "message_too_large" || error?.code === "too_large") return true;
  return error?.code === "invalid_request" && (error.fields ?? []).some((f) => String(f?.loc ?? "").startsWith("article"));
}

// -- saved state, the list page ------------------------------------------------------

/** A write changed the list: forget cached states and show the active tab's again. */
function refreshSavedState() {
  savedState
    .forget()
    .then(activeTab)
    .then((tab) => tab && savedState.show(tab.id, tab.url))
    .catch(() => {});
}

function openList(query = "") {
  const url = ext.runtime.getURL(LIST_PAGE) + (query ? `?q=${encodeURIComponent(query)}` : "");
  return ext.tabs.create({ url });
}

/** Every web page open in the window, saved together (one batch for the host). */
async function saveWindowTabs(tab = null) {
  const windowId = tab?.windowId;
  const tabs = await ext.tabs.query(windowId === undefined ? { currentWindow: true } : { windowId });
  const pages = tabs.filter((t) => isSaveableUrl(t.url ?? ""));
  if (pages.length === 0) {
    notifyFailure("No web pages to save in this window.");
    return [];
  }
  return Promise.allSettled(pages.map((t) => saveUrl(t.url, t.title ?? null)));
}

// -- saving ---------------------------------------------------------------------

async function defaultTags() {
  try {
    const stored = await ext.storage.sync.get({ defaultTags: [] });
    return normalizeTagList(stored.defaultTags);
  } catch {
    return [];
  }
}

/**
 * The article of the page in `tabId`, when a copy of `url` may be kept
 * (lib/capture.js); null otherwise or when extraction fails.
 */
async function captureFor(tabId, url) {
  if (typeof tabId !== "number" || !mayCopy(url, await captureSettings(ext.storage.local))) return null;
  return captureTab(ext.scripting, tabId);
}

/**
 * Save one page or link; resolves with the host's result. `options.tabId`
 * names the tab showing `url`, whose page is then kept with the save (a
 * context-menu link has no tab of its own: link-only).
 */
async function saveUrl(url, title = null, options = {}) {
  if (!isSaveableUrl(url)) {
    const error = Object.assign(new Error(`Only web pages (http and https) can be saved, not ${url}.`), {
      code: "invalid_request",
    });
    if (!options.quiet) notifyFailure(error.message);
    throw error;
  }
  const tags = [...(await defaultTags()), ...(options.tags ?? [])];
  const request = saveRequest({ url, title, tags });
  const article = await captureFor(options.tabId, url);
  return send(withArticle(request, article), options);
}

async function saveSelectionLinks(info, tab) {
  let anchors = [];
  if (tab?.id !== undefined && ext.scripting) {
    try {
      const target = { tabId: tab.id };
      if (typeof info.frameId === "number") target.frameIds = [info.frameId];
      const [first] = await ext.scripting.executeScript({ target, func: collectSelectedLinks });
      anchors = Array.isArray(first?.result) ? first.result : [];
    } catch (err) {
      console.warn("tuckaway: could not read the selection's links; using its text", err);
    }
  }
  const links = linksToSave({ anchors, selectionText: info.selectionText ?? "", pageUrl: info.pageUrl ?? tab?.url });
  if (links.length === 0) {
    notifyFailure("The selection contains no links to save.");
    return [];
  }
  // All at once: the host batches writes that arrive together (PROTOCOL.md 4).
  return Promise.allSettled(links.map((link) => saveUrl(link.url, link.title ?? null)));
}

async function bookmarkStatus(info, tab) {
  const statusUrl = bookmarkTarget(info, tab);
  if (!statusUrl) {
    notifyFailure("That is not a Mastodon post, so it cannot be bookmarked.");
    return null;
  }
  return send(bookmarkRequest(true, statusUrl));
}

async function activeTab() {
  const [tab] = await ext.tabs.query({ active: true, currentWindow: true });
  return tab ?? null;
}

// -- listeners ------------------------------------------------------------------

/** contextMenus.onClicked */
export function onMenuClicked(info, tab) {
  const run = (() => {
    switch (info.menuItemId) {
      case "save-link":
        return saveUrl(info.linkUrl, info.linkText ?? null);
      case "save-page":
        return saveUrl(info.pageUrl ?? tab?.url, tab?.title ?? null, { tabId: tab?.id });
      case "save-selection-links":
        return saveSelectionLinks(info, tab);
      case "bookmark-status":
      case "bookmark-status-link":
        return bookmarkStatus(info, tab);
      case "open-list":
        return openList();
      case "save-window-tabs":
        return saveWindowTabs(tab);
      default:
        return Promise.resolve(null);
    }
  })();
  return run.catch((error) => {
    console.warn(`tuckaway: ${info.menuItemId} failed`, error);
    return { error: errorToWire(error) };
  });
}

/** commands.onCommand (`_execute_action` opens the popup without coming here). */
export function onCommand(command, tab) {
  if (command === "open-list") return openList().catch((error) => ({ error: errorToWire(error) }));
  if (command !== "save-page") return Promise.resolve(null);
  return (async () => {
    const target = tab?.url ? tab : await activeTab();
    if (!target) return null;
    return saveUrl(target.url, target.title ?? null, { tabId: target.id });
  })().catch((error) => {
    console.warn("tuckaway: save-page failed", error);
    return { error: errorToWire(error) };
  });
}

/** runtime.onConnect: a popup or options page using the host through us. */
export function onUiConnect(uiPort) {
  if (uiPort.name !== UI_PORT_NAME) return;
  let open = true;
  uiPort.onDisconnect.addListener(() => {
    open = false;
  });
  const reply = (frame) => {
    if (!open) return;
    try {
      uiPort.postMessage(frame);
    } catch {
      open = false;
    }
  };
  uiPort.onMessage.addListener((message) => {
    const { rid } = message ?? {};
    handleUi(message, (event) => reply({ rid, event }), () => open).then(
      (result) => reply({ rid, ok: true, result }),
      (error) => reply({ rid, ok: false, error: errorToWire(error) }),
    );
  });
}

async function handleUi(message, onEvent, isOpen) {
  switch (message?.kind) {
    case "hello": {
      const info = await port.hello();
      rememberAccounts(info);
      return info;
    }
    case "status":
      return { state: port.state, lastError: port.lastError, info: port.info };
    case "save-window-tabs":
      return (await saveWindowTabs()).map((r) => r.status);
    case "save-page":
      return savePage(message, onEvent, isOpen);
    case "keep-copy":
      return keepCopy(message.tabId);
    case "request": {
      const request = message.request;
      const relay = (event) => {
        if (event.event === "authorize") openAuthorizePage(event.url);
        onEvent(event);
      };
      const result = await send(request, { onEvent: relay, quiet: isOpen() });
      if (request.op === "login" || request.op === "logout") port.hello().then(rememberAccounts, () => {});
      return result;
    }
    default:
      throw Object.assign(new Error(`unknown message kind ${message?.kind}`), { code: "invalid_request" });
  }
}

/**
 * The popup's save (its request as built there) with the page kept, the
 * popup's own tab: the popup passes `tabId`, the background extracts, so the
 * article never travels through the page port. `kept` says whether it went.
 */
async function savePage(message, onEvent, isOpen) {
  const { request, tabId } = message;
  if (request?.op !== "save") throw Object.assign(new Error("save-page needs a save request"), { code: "invalid_request" });
  const full = withArticle(request, await captureFor(tabId, request.url));
  const result = await send(full, { onEvent, quiet: isOpen() });
  return { ...result, kept: Boolean(full.article) };
}

/**
 * "Keep a copy" on the list page: the page open in `tabId` is saved again
 * with its article (a save of a known url brings it back to the list). The
 * list page has asked for the site's permission by then.
 */
async function keepCopy(tabId) {
  const tab = await ext.tabs.get(tabId);
  if (!isSaveableUrl(tab?.url ?? "")) {
    throw Object.assign(new Error("That tab does not show a web page."), { code: "invalid_request" });
  }
  const article = await captureTab(ext.scripting, tabId);
  if (!article) {
    throw Object.assign(new Error("No article could be read from that page, so no copy was kept."), {
      code: "no_article",
    });
  }
  // No default tags: the item is in the list already, and keeps the tags it has.
  const request = withArticle(saveRequest({ url: tab.url, title: tab.title ?? null }), article);
  if (!request.article) {
    throw Object.assign(new Error("That page is too big to keep a copy of."), { code: "message_too_large" });
  }
  return send(request, { quiet: true });
}

function openAuthorizePage(url) {
  if (isSaveableUrl(url)) ext.tabs.create({ url }).catch((err) => console.warn("tuckaway: cannot open", err));
}

// -- menus ----------------------------------------------------------------------

function rememberAccounts(info) {
  const linked = Boolean(info?.accounts?.mastodon?.linked);
  ext.storage.local.set({ mastodonLinked: linked }).catch(() => {});
  for (const id of BOOKMARK_MENU_IDS) ext.contextMenus.update(id, { visible: linked }).catch(() => {});
}

/** (Re)create the menus (lib/menus.js); resolves with the browser's complaints, if any. */
// One rebuild at a time: two at once (install, a sign-in, a test) would both clear the
// menus and then both create them, and the second create of each id fails.
let menusBuilt = Promise.resolve();

function createMenus() {
  const run = menusBuilt.then(buildMenus);
  menusBuilt = run.catch(() => {});
  return run;
}

async function buildMenus() {
  const { mastodonLinked = false } = await ext.storage.local.get({ mastodonLinked: false }).catch(() => ({}));
  await ext.contextMenus.removeAll();
  const created = menuDefinitions({ mastodonLinked }).map(
    (menu) =>
      new Promise((resolve) => {
        ext.contextMenus.create(menu, () => {
          const error = globalThis.chrome?.runtime?.lastError;
          if (error) console.warn(`tuckaway: menu ${menu.id}`, error.message);
          resolve(error ? `${menu.id}: ${error.message}` : null);
        });
      }),
  );
  return (await Promise.all(created)).filter(Boolean);
}

/** tabs.onActivated / tabs.onUpdated: the toolbar says whether this page is saved. */
export function onTabShown(tabId, tab = null) {
  const look = tab ? Promise.resolve(tab) : ext.tabs.get(tabId);
  return look.then((t) => savedState.show(tabId, t?.url)).catch(() => null);
}

/** omnibox `tk WORDS`: saved items matching the words. */
export async function onOmniboxInput(text, suggest) {
  if (!text.trim()) return;
  try {
    const page = await port.request({ op: "list", state: "all", search: text.trim(), limit: 6 });
    suggest(omniboxSuggestions(page.items, { xml: !globalThis.browser }));
  } catch {
    suggest([]);
  }
}

/** omnibox Enter: a suggestion is an item's url; plain words open the list searched. */
export function onOmniboxEntered(text) {
  if (isSaveableUrl(text)) return ext.tabs.update({ url: text });
  return openList(text.trim());
}

ext.contextMenus.onClicked.addListener(onMenuClicked);
ext.tabs.onActivated.addListener(({ tabId }) => onTabShown(tabId));
ext.tabs.onUpdated.addListener((tabId, change, tab) => {
  if (change.status === "complete") onTabShown(tabId, tab);
});
ext.omnibox?.onInputChanged.addListener(onOmniboxInput);
ext.omnibox?.onInputEntered.addListener(onOmniboxEntered);
ext.commands.onCommand.addListener(onCommand);
ext.runtime.onConnect.addListener(onUiConnect);
ext.runtime.onInstalled.addListener(() => createMenus());
ext.runtime.onStartup.addListener(() => {
  createMenus();
  return connectIfWritesWait();
});

// Writes left waiting (lib/drain.js): every hello's count on the badge; at browser start
// a port when some waited, kept open with an alarm until the host has delivered them.
const drain = new Drain({ port, alarms: ext.alarms, storage: ext.storage.local, badge, paint: paintBadge });
port.onChange(({ info }) => drain.seen(info));
ext.alarms?.onAlarm.addListener((alarm) => drain.onAlarm(alarm));

function connectIfWritesWait() {
  return drain.atStart();
}
connectIfWritesWait();

// For tests and debugging from the background console: the same functions the browser calls.
globalThis.tuckaway = Object.freeze({
  port,
  badge,
  savedState,
  onMenuClicked,
  onCommand,
  onUiConnect,
  onTabShown,
  onOmniboxInput,
  saveUrl,
  createMenus,
  connectIfWritesWait,
  drain,
  MENU_IDS,
});
