// A `chrome` global good enough to import background.js in node: native ports
// the test drives by hand (fakes.js), and records of what the background asked
// of the browser (badge, notifications, menus, storage).
//
// Importing this module installs it as `globalThis.chrome` (lib/browser.js
// picks the namespace once, when it is first imported): import it first.
import { FakeNativePort, storageArea } from "./fakes.js";

function event() {
  const listeners = [];
  return {
    listeners,
    addListener: (fn) => listeners.push(fn),
    removeListener: (fn) => listeners.splice(listeners.indexOf(fn) >>> 0, 1),
    hasListener: (fn) => listeners.includes(fn),
  };
}

export function fakeChrome() {
  const record = { ports: [], titles: {}, icons: {}, badge: "", badges: [], notifications: [], menus: [], menuUpdates: [], createErrors: {}, alarms: {} };
  const chrome = {
    runtime: {
      lastError: undefined,
      connectNative(name) {
        const port = new FakeNativePort(name);
        record.ports.push(port);
        return port;
      },
      getURL: (path) => `chrome-extension://test/${path}`,
      onConnect: event(),
      onInstalled: event(),
      onStartup: event(),
    },
    action: {
      async setBadgeText({ text }) {
        record.badge = text;
        record.badges.push(text);
      },
      async setBadgeBackgroundColor() {},
      async setTitle({ tabId, title }) {
        record.titles[tabId] = title;
      },
      async setIcon({ tabId, path }) {
        record.icons[tabId] = path;
      },
    },
    notifications: {
      async create(id, options) {
        record.notifications.push(options);
        return id;
      },
    },
    contextMenus: {
      async removeAll() {
        record.menus.length = 0;
        for (let i = 0; i < 3; i += 1) await null; // the browser answers a moment later
      },
      create(menu, callback) {
        // As Chromium: an id can exist once.
        const duplicate = record.menus.some((m) => m.id === menu.id) && `Cannot create item with duplicate id ${menu.id}`;
        if (!duplicate) record.menus.push(menu);
        const message = duplicate || record.createErrors[menu.id];
        chrome.runtime.lastError = message ? { message } : undefined;
        callback?.();
        chrome.runtime.lastError = undefined;
        return menu.id;
      },
      async update(id, changes) {
        record.menuUpdates.push([id, changes]);
      },
      onClicked: event(),
    },
    commands: { onCommand: event() },
    storage: { local: storageArea(), sync: storageArea(), session: storageArea() },
    tabs: {
      query: async () => [],
      create: async (props) => {
        record.opened = [...(record.opened ?? []), props.url];
        return {};
      },
      get: async (tabId) => ({ id: tabId, url: record.tabUrls?.[tabId] }),
      update: async () => ({}),
      onActivated: event(),
      onUpdated: event(),
    },
    omnibox: { onInputChanged: event(), onInputEntered: event() },
    alarms: {
      async create(name, info) {
        record.alarms[name] = info;
      },
      async clear(name) {
        const had = name in record.alarms;
        delete record.alarms[name];
        return had;
      },
      onAlarm: event(),
    },
  };
  return { chrome, record };
}

export const { chrome, record } = fakeChrome();
globalThis.chrome = chrome;
