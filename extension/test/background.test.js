// background.js itself, in node with a fake `chrome` (fakechrome.js): the badge
// and notifications for writes, including ones recovered after the helper app
// restarted, and the context menus it creates.
import { chrome, record } from "./fakechrome.js"; // first: it installs globalThis.chrome

import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it, mock } from "node:test";

import { CHECK, CHECK_MS } from "../lib/badge.js";
import { DISK_FULL } from "../lib/words.js";
import { IDLE_CLOSE_MS } from "../port.js";
import { flush } from "./fakes.js";

let tuckaway;

const TAB = { id: 1, url: "https://q.example/article", title: "Q" };
const lookupOf = (fields) => ({ saved: false, item_id: null, status: null, favorite: false, tags: [], pending: 0, ...fields });

async function settle() {
  for (let i = 0; i < 5; i += 1) await flush();
}

/** Start a save-page command; returns the promise and the port it went out on. */
async function startSave(tab = TAB) {
  const done = tuckaway.onCommand("save-page", tab);
  await settle();
  const port = record.ports.at(-1);
  const message = port.sent.at(-1);
  assert.equal(message.op, "save");
  return { done, port, message };
}

/** The host records the write, then exits; the background reconnects and asks lookup. */
async function recordThenDie(port, message) {
  port.reply({ id: message.id, event: "queued" });
  port.die();
  mock.timers.tick(200);
  await settle();
  const next = record.ports.at(-1);
  assert.notEqual(next, port, "reconnected");
  return next;
}

/** Let the check mark pass and the idle port close, so the next test starts fresh. */
async function quiet() {
  mock.timers.tick(CHECK_MS);
  mock.timers.tick(IDLE_CLOSE_MS);
  await settle();
  tuckaway.badge.failed = false;
  tuckaway.badge.flash = false;
  record.notifications.length = 0;
}

describe("background", () => {
  before(async () => {
    mock.timers.enable({ apis: ["setTimeout"] });
    await import("../background.js");
    tuckaway = globalThis.tuckaway;
  });

  after(() => {
    mock.timers.reset();
  });

  beforeEach(async () => {
    await quiet();
    assert.equal(tuckaway.port.table.size, 0);
  });

  it("registers its listeners with the browser", () => {
    assert.ok(chrome.contextMenus.onClicked.hasListener(tuckaway.onMenuClicked));
    assert.ok(chrome.commands.onCommand.hasListener(tuckaway.onCommand));
    assert.ok(chrome.runtime.onConnect.hasListener(tuckaway.onUiConnect));
  });

  it("counts a write on the badge while it waits, then shows a check mark that clears", async () => {
    const { done, port, message } = await startSave();
    port.reply({ id: message.id, event: "queued" });
    assert.equal(record.badge, "1");
    port.reply({ id: message.id, ok: true, result: { item_id: "1", url: TAB.url, item: {} } });
    await done;
    await settle();
    assert.equal(record.badge, CHECK);
    mock.timers.tick(CHECK_MS);
    assert.equal(record.badge, "");
  });

  it("counts every write that waits", async () => {
    const a = await startSave({ ...TAB, url: "https://a.example/" });
    const b = await startSave({ ...TAB, url: "https://b.example/" });
    assert.equal(record.badge, "2");
    a.port.reply({ id: a.message.id, ok: true, result: { item_id: "1", url: "https://a.example/", item: {} } });
    await a.done;
    await settle();
    assert.equal(record.badge, "1");
    b.port.reply({ id: b.message.id, ok: true, result: { item_id: "2", url: "https://b.example/", item: {} } });
    await b.done;
    await settle();
    assert.equal(record.badge, CHECK);
  });

  it("shows ! and a notification in words when a write fails", async () => {
    const { done, port, message } = await startSave();
    port.reply({ id: message.id, ok: false, error: { code: "action_failed", message: "Invalid URL" } });
    const result = await done;
    await settle();
    assert.equal(result.error.code, "action_failed");
    assert.equal(record.badge, "!");
    assert.equal(record.notifications.length, 1);
    assert.match(record.notifications[0].message, /refused this: Invalid URL/);
  });

  it("shows a check mark for a recovered write that lookup confirms", async () => {
    const { done, port, message } = await startSave();
    const next = await recordThenDie(port, message);
    const lookup = next.sent[0];
    assert.deepEqual([lookup.op, lookup.url], ["lookup", TAB.url]);
    next.reply({ id: lookup.id, ok: true, result: lookupOf({ saved: true, item_id: "7", status: "unread" }) });
    const result = await done;
    await settle();
    assert.equal(result.recovered, true);
    assert.equal(record.badge, CHECK);
    assert.equal(record.notifications.length, 0);
  });

  it("shows no check mark for a recovered write the helper app still holds queued", async () => {
    const { done, port, message } = await startSave();
    const next = await recordThenDie(port, message);
    next.reply({ id: next.sent[0].id, ok: true, result: lookupOf({ pending: 1 }) });
    await done;
    await settle();
    assert.equal(record.badge, "");
    assert.equal(record.notifications.length, 0);
  });

  it("keeps a save's check mark for its moment when a later write is handed over, and no longer", async () => {
    const a = await startSave({ ...TAB, url: "https://a.example/" });
    a.port.reply({ id: a.message.id, ok: true, result: { item_id: "1", url: "https://a.example/", item: {} } });
    await a.done;
    await settle();
    assert.equal(record.badge, CHECK);
    const b = await startSave({ ...TAB, url: "https://b.example/" });
    assert.equal(record.badge, "1");
    const next = await recordThenDie(b.port, b.message); // 200 ms of the check mark's moment pass
    next.reply({ id: next.sent[0].id, ok: true, result: lookupOf({ pending: 1 }) });
    await b.done;
    await settle();
    assert.equal(record.badge, CHECK, "the first save's moment is not over");
    mock.timers.tick(CHECK_MS - 200);
    await settle();
    assert.equal(record.badge, "", "the handed-over write did not extend it");
  });

  it("shows ! and a notification for a recovered write that lookup shows did not happen", async () => {
    const { done, port, message } = await startSave();
    const next = await recordThenDie(port, message);
    next.reply({ id: next.sent[0].id, ok: true, result: lookupOf({ saved: false, pending: 0 }) });
    await done;
    await settle();
    assert.equal(record.badge, "!");
    assert.equal(record.notifications.length, 1);
    assert.match(record.notifications[0].message, /restarted before it answered, and saving https:\/\/q\.example\/article did not go through/);
  });

  it("shows no check mark for a write given up on while the helper app holds it", async () => {
    const { done, port, message } = await startSave();
    let next = await recordThenDie(port, message);
    // The helper app does not come back: three starts without a word, then give up.
    for (let i = 0; i < 3; i += 1) {
      next.die("Native host has exited.");
      mock.timers.tick(2000);
      await settle();
      next = record.ports.at(-1);
    }
    const result = await done;
    await settle();
    assert.deepEqual([result.recovered, result.lookup], [true, null]);
    assert.equal(tuckaway.port.state, "unavailable");
    assert.equal(record.badge, "");
    assert.equal(record.notifications.length, 0);
  });

  it("closes the native port after a quiet spell once a recovered write settles", async () => {
    const { done, port, message } = await startSave();
    const next = await recordThenDie(port, message);
    next.reply({ id: next.sent[0].id, ok: true, result: lookupOf({ saved: true, item_id: "7" }) });
    await done;
    await settle();
    mock.timers.tick(IDLE_CLOSE_MS);
    assert.equal(next.closed, true);
    assert.equal(tuckaway.port.state, "idle");
  });

  it("bookmarks the post from either bookmark menu item", async () => {
    const post = "https://mastodon.example/@alice/109999999999999999";
    for (const [menuItemId, info] of [
      ["bookmark-status", { pageUrl: post }],
      ["bookmark-status-link", { pageUrl: "https://elsewhere.example/", linkUrl: post }],
    ]) {
      const done = tuckaway.onMenuClicked({ menuItemId, ...info }, { id: 1, url: info.pageUrl });
      await settle();
      const port = record.ports.at(-1);
      const message = port.sent.at(-1);
      assert.deepEqual([message.op, message.status_url], ["bookmark", post], menuItemId);
      port.reply({ id: message.id, ok: true, result: { status_id: "1", url: post, bookmarked: true } });
      assert.deepEqual(await done, { status_id: "1", url: post, bookmarked: true }, menuItemId);
      await settle();
    }
  });

  it("does not bookmark a page that is not a post from the link item", async () => {
    const before = record.ports.length;
    const result = await tuckaway.onMenuClicked(
      { menuItemId: "bookmark-status-link", pageUrl: "https://mastodon.example/@alice/1", linkUrl: "https://x.example/" },
      { id: 1 },
    );
    assert.equal(result, null);
    assert.equal(record.ports.length, before);
    assert.match(record.notifications.at(-1).message, /not a Mastodon post/);
  });

  it("rebuilds the menus one at a time, so two rebuilds at once create each item once", async () => {
    const both = await Promise.all([tuckaway.createMenus(), tuckaway.createMenus()]);
    assert.deepEqual(both, [[], []]);
    const ids = record.menus.map((m) => m.id);
    assert.deepEqual(ids, [...new Set(ids)]);
  });

  it("creates the menus, the bookmark pair hidden until Mastodon is linked, and reports refusals", async () => {
    assert.deepEqual(await tuckaway.createMenus(), []);
    assert.deepEqual(record.menus.map((m) => m.id), [
      "save-page", "save-link", "save-selection-links", "open-list", "save-window-tabs", "bookmark-status", "bookmark-status-link",
    ]);
    assert.deepEqual(record.menus.filter((m) => m.id.startsWith("bookmark")).map((m) => m.visible), [false, false]);
    await chrome.storage.local.set({ mastodonLinked: true });
    record.createErrors["bookmark-status"] = "Invalid url pattern";
    assert.deepEqual(await tuckaway.createMenus(), ["bookmark-status: Invalid url pattern"]);
    delete record.createErrors["bookmark-status"];
    assert.deepEqual(record.menus.filter((m) => m.id.startsWith("bookmark")).map((m) => m.visible), [true, true]);
  });

describe("the omnibox keyword tk", () => {
  // Chromium's omnibox is browser UI that neither Playwright nor CDP can type into, so
  // the listeners the browser calls are driven here, against the port's real frames.
  it("suggests saved items matching the words, and Enter opens one or the list searched", async () => {
    const [onInput] = chrome.omnibox.onInputChanged.listeners;
    const [onEnter] = chrome.omnibox.onInputEntered.listeners;
    assert.equal(onInput, tuckaway.onOmniboxInput);
    let suggested = null;
    const typing = onInput("  rust asy ", (lines) => {
      suggested = lines;
    });
    await settle();
    const port = record.ports.at(-1);
    const list = port.sent.at(-1);
    assert.deepEqual({ ...list, id: undefined }, { id: undefined, op: "list", state: "all", search: "rust asy", limit: 6 });
    const found = { item_id: "1", url: "https://r.example/async", title: "Async <Rust>", domain: "r.example", tags: [] };
    port.reply({ id: list.id, ok: true, result: { items: [found], next_cursor: null, total: 1 } });
    await typing;
    assert.deepEqual(suggested, [
      { content: "https://r.example/async", description: "Async &#60;Rust&#62; <dim>r.example</dim>" },
    ]);

    let none = null;
    const failing = onInput("zzz", (lines) => {
      none = lines;
    });
    await settle();
    const again = record.ports.at(-1).sent.at(-1);
    record.ports.at(-1).reply({ id: again.id, ok: false, error: { code: "internal", message: "x" } });
    await failing;
    assert.deepEqual(none, [], "a failed search suggests nothing");

    record.opened = [];
    onEnter("rust async");
    await settle();
    assert.deepEqual(record.opened, ["chrome-extension://test/list/list.html?q=rust%20async"]);
  });
});

describe("a full disk", () => {
  it("says so on the badge and its tooltip until a write goes through", async () => {
    const { done, port, message } = await startSave();
    port.reply({ id: message.id, event: "queued" });
    port.reply({ id: message.id, event: "retrying", reason: "disk_full", retry_after: 5 });
    await settle();
    assert.equal(record.badge, "1"); // the write itself still counts while it waits
    assert.equal(record.titles.undefined, DISK_FULL);
    port.reply({ id: message.id, ok: true, result: { item_id: "1", url: TAB.url, item: {} } });
    await done;
    await settle();
    assert.equal(record.badge, CHECK);
    assert.notEqual(record.titles.undefined, DISK_FULL);
  });

  it("shows the full disk over nothing else once no write of its own waits", () => {
    tuckaway.badge.retrying({ event: "retrying", reason: "disk_full" });
    assert.deepEqual(tuckaway.badge.view().text, "full");
    tuckaway.badge.heldByHost(0); // the helper app holds nothing any more
    assert.equal(tuckaway.badge.view().text, "");
  });
});

describe("browser start", () => {
  beforeEach(() => {
    tuckaway.drain.starting = null; // as a fresh start of the background
  });

  it("keeps the port open and shows the count until waiting writes are delivered", async () => {
    await chrome.storage.local.set({ pendingAtHello: 3 });
    const ports = record.ports.length;
    const start = chrome.runtime.onStartup.listeners.map((fn) => fn());
    await settle();
    const port = record.ports.at(-1);
    assert.equal(record.ports.length, ports + 1, "connected at browser start");
    assert.equal(record.badge, "3", "the count from the last hello, before the host answers");
    const hello = port.sent.find((m) => m.op === "hello");
    port.reply({ id: hello.id, ok: true, result: { name: "tuckaway", pending: 2, accounts: {} } });
    await Promise.all(start);
    await settle();
    assert.equal(record.badge, "2");
    assert.match(record.titles.undefined, /2 changes wait/);
    assert.deepEqual(record.alarms["tuckaway-drain"], { periodInMinutes: 0.5 });
    mock.timers.tick(IDLE_CLOSE_MS * 3);
    assert.equal(port.closed, false, "kept open while the host delivers");

    const [onAlarm] = chrome.alarms.onAlarm.listeners;
    onAlarm({ name: "tuckaway-drain" });
    await settle();
    const again = port.sent.filter((m) => m.op === "hello").at(-1);
    assert.notEqual(again.id, hello.id);
    port.reply({ id: again.id, ok: true, result: { name: "tuckaway", pending: 0, accounts: {} } });
    await settle();
    assert.equal(record.badge, "");
    assert.equal(record.alarms["tuckaway-drain"], undefined);
    assert.deepEqual(await chrome.storage.local.get("pendingAtHello"), { pendingAtHello: 0 });
    mock.timers.tick(IDLE_CLOSE_MS);
    assert.equal(port.closed, true, "the quiet spell closes it after");
  });

  it("paints nothing for a hello that changes nothing the badge shows", async () => {
    const painted = record.badges.length;
    const asking = tuckaway.port.hello();
    await settle();
    const port = record.ports.at(-1);
    port.reply({ id: port.sent.at(-1).id, ok: true, result: { name: "tuckaway", pending: 0, accounts: {} } });
    await asking;
    await settle();
    assert.equal(record.badges.length, painted);
  });

  it("asks again at the next alarm when the helper app does not come up", async () => {
    await chrome.storage.local.set({ pendingAtHello: 1 });
    let answered = false;
    const checking = tuckaway.connectIfWritesWait().then(() => {
      answered = true;
    });
    for (let tries = 0; tries < 20 && !answered; tries += 1) {
      await settle();
      const port = record.ports.at(-1);
      if (!port.closed) port.die("Specified native messaging host not found.");
      mock.timers.tick(60_000);
      await settle();
    }
    await checking;
    assert.equal(tuckaway.port.state, "unavailable");
    assert.ok(record.alarms["tuckaway-drain"], "the alarm stays to try again");
    await chrome.storage.local.set({ pendingAtHello: 0 });
  });

  it("connects to the host when the last hello said writes were waiting", async () => {
    const hellos = () => record.ports.flatMap((p) => p.sent).filter((m) => m.op === "hello").length;
    const before = hellos();
    await chrome.storage.local.set({ pendingAtHello: 0 });
    await tuckaway.connectIfWritesWait();
    assert.equal(hellos(), before);
    await chrome.storage.local.set({ pendingAtHello: 2 });
    tuckaway.drain.starting = null; // the next browser start
    tuckaway.connectIfWritesWait();
    await flush();
    assert.equal(hellos(), before + 1);
    chrome.runtime.onStartup.listeners.forEach((fn) => fn()); // the same start: once
    await flush();
    assert.equal(hellos(), before + 1);
    const port = record.ports.at(-1);
    port.reply({ id: port.sent.at(-1).id, ok: true, result: { name: "tuckaway", pending: 0, accounts: {} } });
    await settle();
  });
});
});
