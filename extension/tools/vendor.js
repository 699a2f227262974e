// `npm run vendor`: copy the two libraries the extension runs into vendor/,
// with their licenses and versions. No bundler: Readability.js is injected as
// a classic script into the page being saved; DOMPurify's ES module is
// imported by the reader page. The output is committed, so loading the
// extension unpacked (and CI's `npm ci`) needs no step; test/vendor.test.js
// fails when vendor/ differs from node_modules, and `--check` says so here.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const EXTENSION = join(here, "..");
export const VENDOR = join(EXTENSION, "vendor");

// A map's comment would point at a file we do not ship (the browser then logs a 404).
const dropSourceMap = (text) => text.replace(/\n?\/\/# sourceMappingURL=\S+/g, "\n");

export const PACKAGES = [
  {
    name: "@mozilla/readability",
    files: [
      { from: "Readability.js", to: "Readability.js" },
      { from: "LICENSE.md", to: "Readability.LICENSE.md" },
    ],
  },
  {
    name: "dompurify",
    files: [
      // .js, not .mjs: every browser serves it to a module script with a JS type.
      { from: "dist/purify.es.mjs", to: "purify.es.js", transform: dropSourceMap },
      { from: "LICENSE", to: "purify.LICENSE" },
    ],
  },
];

/** Every file vendor/ should hold: {path, text}, plus VERSIONS.json. */
export function vendorFiles(nodeModules = join(EXTENSION, "node_modules")) {
  const out = [];
  const versions = {};
  for (const pkg of PACKAGES) {
    const root = join(nodeModules, pkg.name);
    versions[pkg.name] = JSON.parse(readFileSync(join(root, "package.json"), "utf-8")).version;
    for (const file of pkg.files) {
      const text = readFileSync(join(root, file.from), "utf-8");
      out.push({ path: file.to, text: file.transform ? file.transform(text) : text });
    }
  }
  out.push({ path: "VERSIONS.json", text: `${JSON.stringify(versions, null, 2)}\n` });
  return out;
}

function main() {
  const check = process.argv.includes("--check");
  if (!existsSync(join(EXTENSION, "node_modules", "dompurify"))) {
    console.error("node_modules is missing: run `npm ci` first");
    process.exit(1);
  }
  mkdirSync(VENDOR, { recursive: true });
  const stale = [];
  for (const { path, text } of vendorFiles()) {
    const target = join(VENDOR, path);
    const same = existsSync(target) && readFileSync(target, "utf-8") === text;
    if (same) continue;
    stale.push(path);
    if (!check) writeFileSync(target, text);
  }
  if (check && stale.length) {
    console.error(`vendor/ is out of date (${stale.join(", ")}): run \`npm run vendor\``);
    process.exit(1);
  }
  console.log(check ? "vendor/ is up to date" : `vendor/: ${stale.length ? stale.join(", ") : "nothing changed"}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
