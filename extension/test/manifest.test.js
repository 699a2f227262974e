// The manifest and pages: fixed identities, minimal permissions, both
// backgrounds, the command and menu names tests and users rely on, and
// nothing that a strict CSP would block (inline scripts, remote code).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { describe, it } from "node:test";

import { MENU_IDS } from "../lib/menus.js";

const root = new URL("../", import.meta.url);
const read = (path) => readFileSync(new URL(path, root), "utf-8");
const manifest = JSON.parse(read("manifest.json"));

function chromeId(key) {
  const hex = createHash("sha256").update(Buffer.from(key, "base64")).digest("hex").slice(0, 32);
  return [...hex].map((c) => String.fromCharCode(97 + Number.parseInt(c, 16))).join("");
}

function filesUnder(dir) {
  return readdirSync(new URL(dir, root), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(`${dir}${entry.name}/`) : [`${dir}${entry.name}`],
  );
}

const shipped = [
  "background.js", "port.js", ...filesUnder("lib/"), ...filesUnder("popup/"), ...filesUnder("options/"),
  ...filesUnder("list/"), ...filesUnder("reader/"),
];

describe("manifest", () => {
  it("keeps the fixed Chrome id and gecko id", () => {
    assert.equal(chromeId(manifest.key), "ehnjllfnmbgocicjogdjgcoejnpjmlaj");
    assert.equal(manifest.browser_specific_settings.gecko.id, "tuckaway@tuckaway.org");
  });

  it("has a background for Chromium and one for Firefox, as modules", () => {
    assert.equal(manifest.manifest_version, 3);
    assert.equal(manifest.background.service_worker, "background.js");
    assert.deepEqual(manifest.background.scripts, ["background.js"]);
    assert.equal(manifest.background.type, "module");
  });

  it("asks for the permissions it uses and no host permissions", () => {
    assert.deepEqual([...manifest.permissions].sort(), [
      "activeTab", "alarms", "contextMenus", "nativeMessaging", "notifications", "scripting", "storage", "tabs",
    ]);
    assert.equal(manifest.host_permissions, undefined);
    assert.equal(manifest.content_scripts, undefined);
  });

  it("may ask for one site at a time, only when the list page keeps a copy of an open tab", () => {
    assert.deepEqual(manifest.optional_host_permissions, ["http://*/*", "https://*/*"]);
    const list = read("list/list.js");
    assert.match(list, /permissions\.request\(\{ origins: \[origin\] \}\)/);
    assert.equal((list.match(/permissions\.request/g) ?? []).length, 1);
  });

  it("offers the commands by their fixed names", () => {
    assert.deepEqual(Object.keys(manifest.commands).sort(), ["_execute_action", "open-list", "save-page"]);
    assert.deepEqual(manifest.commands._execute_action.suggested_key, { default: "Alt+Shift+S" });
    assert.deepEqual(manifest.commands["save-page"].suggested_key, { default: "Alt+Shift+K" });
    assert.deepEqual(manifest.commands["open-list"].suggested_key, { default: "Alt+Shift+Y" });
    assert.equal(manifest.omnibox.keyword, "tk");
  });

  // Chromium silently drops a suggested key that one of its own shortcuts uses
  // (commands.getAll() then says ""). Its Alt+Shift+letter shortcuts, from
  // chrome/browser/ui/accelerator_table.cc (Windows and Linux; the tab group
  // ones are why Alt+Shift+P was refused) and ash/public/cpp/accelerators.cc.
  const CHROMIUM_ALT_SHIFT = {
    "windows/linux": "ABRTI" + "CPXZW" + "N", // focus, reading mode, feedback; tab groups; split tab
    chromeos: "ABRTI" + "LMNPSV", // the browser's own, then the system's (shelf, files, stylus, tray ...)
  };

  it("suggests for save-page and open-list keys no Chromium shortcut takes, on any platform", () => {
    for (const command of ["save-page", "open-list"]) {
      const key = manifest.commands[command].suggested_key.default;
      const [, letter] = /^Alt\+Shift\+([A-Z])$/.exec(key) ?? [];
      assert.ok(letter, key);
      for (const [platform, taken] of Object.entries(CHROMIUM_ALT_SHIFT)) {
        assert.ok(!taken.includes(letter), `${key} is a Chromium shortcut on ${platform}`);
      }
      assert.notEqual(key, manifest.commands._execute_action.suggested_key.default);
    }
  });

  it("has a strict CSP for its pages", () => {
    const csp = manifest.content_security_policy.extension_pages;
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /object-src 'none'/);
    // Only images may come from the web (the reader's, when the user allows them).
    const withoutImages = csp.replace(/img-src [^;]*/, "");
    assert.match(csp, /img-src 'self' https: http:(;|$)/);
    assert.doesNotMatch(withoutImages, /unsafe|https?:|\*/);
    assert.doesNotMatch(csp, /unsafe|\*/);
  });

  it("lets no page but the reader show a web image", () => {
    for (const page of shipped.filter((f) => f.endsWith(".html"))) {
      const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(read(page))?.[1];
      assert.ok(meta, `${page} has no CSP of its own`);
      const images = /img-src ([^;]*)/.exec(meta)[1];
      assert.equal(images, page === "reader/reader.html" ? "'self' https: http:" : "'self'", page);
      assert.doesNotMatch(meta, /unsafe/, page);
    }
    assert.match(read("reader/reader.html"), /script-src 'self';/);
  });

  it("names files that exist", () => {
    const paths = [
      manifest.background.service_worker,
      manifest.action.default_popup,
      manifest.options_ui.page,
      ...Object.values(manifest.icons),
      ...Object.values(manifest.action.default_icon),
    ];
    for (const path of paths) assert.ok(existsSync(new URL(path, root)), path);
  });

  it("creates its menus from lib/menus.js and handles every id it creates", () => {
    const source = read("background.js");
    assert.match(source, /menuDefinitions\(/);
    assert.ok(MENU_IDS.length > 0);
    for (const id of MENU_IDS) assert.match(source, new RegExp(`case "${id}":`), id);
  });
});

describe("pages and scripts", () => {
  it("load no inline or remote scripts and no inline handlers", () => {
    for (const page of shipped.filter((f) => f.endsWith(".html"))) {
      const html = read(page);
      for (const tag of html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)) {
        assert.match(tag[0], /src="[^":]+\.js"/, `${page}: ${tag[0]}`);
        assert.equal(tag[1].trim(), "", `${page} has an inline script`);
      }
      assert.doesNotMatch(html, /\son[a-z]+=/i, `${page} has an inline event handler`);
      assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, `${page} loads something remote`);
      assert.doesNotMatch(html, /style="/, `${page} has an inline style`);
    }
  });

  it("link every field note to its input (aria-describedby)", () => {
    let notes = 0;
    for (const page of shipped.filter((f) => f.endsWith(".html"))) {
      const html = read(page);
      for (const [note] of html.matchAll(/<[a-z]+\b[^>]*\bclass="[^"]*\bnote\b[^"]*"[^>]*>/g)) {
        const id = /\bid="([^"]+)"/.exec(note)?.[1];
        assert.ok(id, `${page}: a note without an id: ${note}`);
        const described = [...html.matchAll(/<(?:input|select|textarea)\b[^>]*\baria-describedby="([^"]+)"/g)]
          .some((m) => m[1].split(/\s+/).includes(id));
        assert.ok(described, `${page}: no input is described by #${id}`);
        notes += 1;
      }
    }
    assert.ok(notes >= 5, `found ${notes} notes`);
  });

  it("never evaluate strings or import from the network", () => {
    for (const file of shipped.filter((f) => f.endsWith(".js"))) {
      const source = read(file);
      assert.doesNotMatch(source, /\beval\(|new Function\(|import\(\s*["']https?:/, file);
      assert.doesNotMatch(source, /from\s+["']https?:/, file);
      assert.doesNotMatch(source, /\.innerHTML\s*=/, `${file} assigns innerHTML`);
    }
  });
});
