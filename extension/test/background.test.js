// background.js itself, in node with a fake `chrome` (fakechrome.js): the badge
// and notifications for writes, including ones recovered after the helper app
// restarted, and the context menus it creates.
import { chrome, record } from "./fakechrome.js"; // first: it installs globalThis.chrome

import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it, mock } from "node:test";

import { CHECK, CHECK_MS } from "../lib/badge.js";
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

describe("browser start", () => {
  it("connects to the host when the last hello said writes were waiting", async () => {
    const hellos = () => record.ports.flatMap((p) => p.sent).filter((m) => m.op === "hello").length;
    const before = hellos();
    await chrome.storage.local.set({ pendingAtHello: 0 });
    await tuckaway.connectIfWritesWait();
    assert.equal(hellos(), before);
    await chrome.storage.local.set({ pendingAtHello: 2 });
    tuckaway.connectIfWritesWait();
    await flush();
    assert.equal(hellos(), before + 1);
  });
});
});
