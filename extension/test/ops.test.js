// The extension's op lists are the host's: lib/ops.js is generated from the
// protocol schema, and every write op has its words and its lookup check.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { opsModule } from "../tools/ops-module.js";
import { CHANGE_SHOWN } from "../lib/itemstate.js";
import { ITEM_OPS, PROTOCOL_VERSION, TAG_OPS, WRITE_OPS } from "../lib/requests.js";
import { CHANGE_WORDS, describeUnconfirmed } from "../lib/words.js";

const SCHEMA_FILE = new URL("./.generated/schema.json", import.meta.url);
const missing = !existsSync(SCHEMA_FILE) && "no protocol schema: run `npm test` (its pretest runs `tuckaway schema`)";

describe("the op lists", { skip: missing }, () => {
  it("lib/ops.js is what the host's schema says (else run `npm run gen-ops`)", () => {
    const schema = JSON.parse(readFileSync(SCHEMA_FILE, "utf-8"));
    const current = readFileSync(new URL("../lib/ops.js", import.meta.url), "utf-8");
    assert.equal(current, opsModule(schema), "lib/ops.js is out of date: run `npm run gen-ops`");
    assert.equal(PROTOCOL_VERSION, schema.protocol);
  });
});

describe("every write op", () => {
  it("is an item op, a tags op or neither, never both", () => {
    for (const op of [...ITEM_OPS, ...TAG_OPS]) assert.ok(WRITE_OPS.has(op), op);
    assert.deepEqual([...ITEM_OPS].filter((op) => TAG_OPS.has(op)), []);
  });

  it("has words for a change that did not go through", () => {
    assert.deepEqual(Object.keys(CHANGE_WORDS).sort(), [...WRITE_OPS].sort());
    for (const op of WRITE_OPS) {
      assert.doesNotMatch(describeUnconfirmed({ op, url: "https://a.example/" }), /changing/, op);
    }
  });

  it("says whether a lookup can show its change (a check, or null)", () => {
    assert.deepEqual(Object.keys(CHANGE_SHOWN).sort(), [...WRITE_OPS].sort());
    for (const [op, shown] of Object.entries(CHANGE_SHOWN)) {
      assert.ok(shown === null || typeof shown === "function", op);
    }
  });
});
