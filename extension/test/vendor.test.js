// vendor/ holds the npm packages' files as published (tools/vendor.js), with
// their licenses and versions, and the extension loads them from there.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { PACKAGES, VENDOR, vendorFiles } from "../tools/vendor.js";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf-8"));

describe("vendored libraries", () => {
  it("match node_modules byte for byte (run `npm run vendor` after an update)", () => {
    for (const { path, text } of vendorFiles()) {
      assert.equal(readFileSync(`${VENDOR}/${path}`, "utf-8"), text, `vendor/${path} is out of date`);
    }
  });

  it("ship each package's license and are dependencies of package.json", () => {
    const versions = JSON.parse(readFileSync(`${VENDOR}/VERSIONS.json`, "utf-8"));
    for (const { name, files } of PACKAGES) {
      assert.ok(pkg.devDependencies[name], `${name} is not in package.json`);
      assert.match(versions[name], /^\d+\.\d+\.\d+/);
      assert.ok(files.some((f) => /LICENSE/.test(f.to) && existsSync(`${VENDOR}/${f.to}`)), `${name} has no license`);
    }
  });

  it("are what the extension loads", () => {
    const read = (path) => readFileSync(new URL(`../${path}`, import.meta.url), "utf-8");
    assert.match(read("lib/capture.js"), /READABILITY_FILE = "vendor\/Readability\.js"/);
    assert.match(read("reader/reader.js"), /from "\.\.\/vendor\/purify\.es\.js"/);
    assert.doesNotMatch(read("vendor/purify.es.js"), /sourceMappingURL/);
  });
});
