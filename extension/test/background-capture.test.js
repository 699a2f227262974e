// background.js keeping a copy of the page with a save (issue 14), in node with
// the fake `chrome` and a fake `scripting` whose page gives an article (or not).
import { chrome, record } from "./fakechrome.js"; // first: it installs globalThis.chrome

import assert from "node:assert/strict";
import { before, beforeEach, describe, it } from "node:test";

import { READABILITY_FILE } from "../lib/capture.js";
import { flush } from "./fakes.js";

const TAB = { id: 5, url: "https://rail.example/night-train", title: "Night trains" };
const ARTICLE = { html: "<p>Sleeper trains are back.</p>", text: "Sleeper trains are back.", title: "Night trains" };
let page = { article: ARTICLE };
let injected = [];
let tuckaway;

chrome.scripting = {
  async executeScript(options) {
    injected.push(options);
    if (options.files) return [{ result: undefined }];
    if (page.throws) throw new Error(page.throws);
    return [{ result: page }];
  },
};

async function settle() {
  for (let i = 0; i < 8; i += 1) await flush();
}

/** Run `start()`, then the save frame it sent to the (fake) host, and its port. */
async function sent(start) {
  const done = start();
  await settle();
  const port = record.ports.at(-1);
  const message = port.sent.at(-1);
  assert.equal(message.op, "save");
  return { done, port, message };
}

function answer(port, message) {
  port.reply({ id: message.id, ok: true, result: { item_id: "9", url: message.url, item: {} } });
}

/** A page of the extension talking to the background over its runtime port. */
function uiPort() {
  const listeners = { message: [], disconnect: [] };
  const frames = [];
  return {
    name: "tuckaway-ui",
    frames,
    onMessage: { addListener: (fn) => listeners.message.push(fn) },
    onDisconnect: { addListener: (fn) => listeners.disconnect.push(fn) },
    postMessage: (frame) => frames.push(frame),
    send: (message) => listeners.message.forEach((fn) => fn(message)),
  };
}

describe("keeping a copy with a save", () => {
  before(async () => {
    await import("../background.js");
    tuckaway = globalThis.tuckaway;
  });

  beforeEach(async () => {
    page = { article: ARTICLE };
    injected = [];
    await chrome.storage.local.set({ keepCopy: true, neverCopy: [] });
  });

  it("sends the article with a save from the shortcut, read from that tab", async () => {
    const { done, port, message } = await sent(() => tuckaway.onCommand("save-page", TAB));
    assert.deepEqual(message.article, ARTICLE);
    assert.deepEqual(injected[0], { target: { tabId: 5 }, files: [READABILITY_FILE] });
    assert.deepEqual(injected[1].target, { tabId: 5 });
    answer(port, message);
    assert.equal((await done).item_id, "9");
  });

  it("sends the article with the page's context-menu save, never with a link's", async () => {
    const page1 = await sent(() => tuckaway.onMenuClicked({ menuItemId: "save-page", pageUrl: TAB.url }, TAB));
    assert.ok(page1.message.article);
    answer(page1.port, page1.message);
    await page1.done;
    injected = [];
    const link = await sent(() => tuckaway.onMenuClicked({ menuItemId: "save-link", linkUrl: "https://rail.example/other" }, TAB));
    assert.equal(link.message.article, undefined);
    assert.deepEqual(injected, []);
    answer(link.port, link.message);
    await link.done;
  });

  it("saves the link alone when the setting is off, the site is never copied, or the page gives no article", async () => {
    const cases = [
      async () => chrome.storage.local.set({ keepCopy: false }),
      async () => chrome.storage.local.set({ neverCopy: ["rail.example"] }),
      async () => {
        page = { error: "no article on this page" };
      },
      async () => {
        page = { throws: "Cannot access contents of url" };
      },
    ];
    for (const arrange of cases) {
      await chrome.storage.local.set({ keepCopy: true, neverCopy: [] });
      page = { article: ARTICLE };
      await arrange();
      const { done, port, message } = await sent(() => tuckaway.onCommand("save-page", TAB));
      assert.equal(message.article, undefined);
      assert.equal(message.url, TAB.url);
      answer(port, message);
      await done;
    }
  });

  it("saves the link alone when the host says the frame is too large; the save is not lost", async () => {
    const { done, port, message } = await sent(() => tuckaway.onCommand("save-page", TAB));
    assert.ok(message.article);
    port.reply({ id: message.id, ok: false, error: { code: "message_too_large", message: "over 16 MiB" } });
    await settle();
    const again = port.sent.at(-1);
    assert.notEqual(again.id, message.id);
    assert.equal(again.op, "save");
    assert.equal(again.url, TAB.url);
    assert.equal(again.article, undefined);
    answer(port, again);
    assert.equal((await done).item_id, "9");
    assert.deepEqual(record.notifications, []);
  });

  it("saves the link alone when a helper app too old for copies refuses the article field", async () => {
    const { done, port, message } = await sent(() => tuckaway.onCommand("save-page", TAB));
    port.reply({ id: message.id, ok: false, error: { code: "invalid_request", message: "bad", fields: [{ loc: "article", msg: "Extra inputs are not permitted" }] } });
    await settle();
    const again = port.sent.at(-1);
    assert.equal(again.article, undefined);
    answer(port, again);
    assert.equal((await done).item_id, "9");
  });

  it("fails a save the host refuses for another reason, as before", async () => {
    const { done, port, message } = await sent(() => tuckaway.onCommand("save-page", TAB));
    port.reply({ id: message.id, ok: false, error: { code: "invalid_request", message: "bad url", fields: [{ loc: "url", msg: "bad" }] } });
    assert.equal((await done).error.code, "invalid_request");
    assert.equal(port.sent.at(-1).id, message.id);
    record.notifications.length = 0;
  });

  it("keeps the popup's save with the page of its tab and says whether the copy went", async () => {
    const ui = uiPort();
    tuckaway.onUiConnect(ui);
    const request = { op: "save", url: TAB.url, title: TAB.title };
    const { port, message } = await sent(() => ui.send({ rid: 1, kind: "save-page", request, tabId: TAB.id }));
    assert.deepEqual(message.article, ARTICLE);
    answer(port, message);
    await settle();
    assert.deepEqual(ui.frames.at(-1), { rid: 1, ok: true, result: { item_id: "9", url: TAB.url, item: {}, kept: true } });
  });

  it("keeps a copy of an open tab for the list page, or says why not", async () => {
    const ui = uiPort();
    tuckaway.onUiConnect(ui);
    record.tabUrls = { [TAB.id]: TAB.url };
    const { port, message } = await sent(() => ui.send({ rid: 2, kind: "keep-copy", tabId: TAB.id }));
    assert.deepEqual(message.article, ARTICLE);
    answer(port, message);
    await settle();
    assert.equal(ui.frames.at(-1).ok, true);

    page = { error: "no article on this page" };
    ui.send({ rid: 3, kind: "keep-copy", tabId: TAB.id });
    await settle();
    const refused = ui.frames.at(-1);
    assert.equal(refused.rid, 3);
    assert.equal(refused.ok, false);
    assert.equal(refused.error.code, "no_article");
  });
});
