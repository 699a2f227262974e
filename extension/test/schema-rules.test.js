// The host's validation rules that the protocol schema states as JSON Schema
// (patterns, exactly-one-of): what the host refuses, the schema refuses too, so
// a request builder that produced a `javascript:` url or a tag with a comma
// would fail here before it reached the host.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { Ajv2020 } from "ajv/dist/2020.js";

const SCHEMA_FILE = new URL("./.generated/schema.json", import.meta.url);
const missing = !existsSync(SCHEMA_FILE) && "no protocol schema: run `npm test` (its pretest runs `tuckaway schema`)";

function requestValidator() {
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, "utf-8"));
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  return ajv.compile({ ...schema.properties.request, $defs: schema.$defs });
}

const url = "https://example.com/a?b=1#c";

describe("the schema states the host's rules", { skip: missing }, () => {
  it("refuses urls the host refuses", () => {
    const valid = requestValidator();
    for (const bad of [
      "javascript:alert(1)",
      "file:///etc/passwd",
      "data:text/html,hi",
      "ftp://example.com/",
      "https://",
      "https:///path-only",
      "https://exa mple.com/",
      "https://example.com/\u0000",
      "https://example.com/\ttab",
      `https://example.com/${"x".repeat(8200)}`,
    ]) {
      assert.equal(valid({ id: "x", op: "save", url: bad }), false, bad);
    }
  });

  it("accepts the urls the host accepts", () => {
    const valid = requestValidator();
    for (const good of [url, "HTTP://EXAMPLE.COM", "http://127.0.0.1:8080/x", " https://example.com/ ", "https://ünïcode.example/é"]) {
      assert.equal(valid({ id: "x", op: "save", url: good }), true, good);
    }
  });

  it("refuses tags the host refuses, and accepts trimmed ones", () => {
    const valid = requestValidator();
    for (const bad of ["a,b", "", "   ", "x".repeat(101), ` ${"x".repeat(101)} `]) {
      assert.equal(valid({ id: "x", op: "save", url, tags: [bad] }), false, JSON.stringify(bad));
    }
    for (const good of ["a", " two words ", "x".repeat(100), ` ${"x".repeat(100)}  `, "日本語"]) {
      assert.equal(valid({ id: "x", op: "save", url, tags: [good] }), true, JSON.stringify(good));
    }
  });

  it("asks for exactly one target", () => {
    const valid = requestValidator();
    assert.equal(valid({ id: "x", op: "archive" }), false);
    assert.equal(valid({ id: "x", op: "archive", url, item_id: "1" }), false);
    assert.equal(valid({ id: "x", op: "archive", item_id: "1" }), true);
    assert.equal(valid({ id: "x", op: "bookmark" }), false);
    assert.equal(valid({ id: "x", op: "bookmark", status_id: "1", status_url: url }), false);
    assert.equal(valid({ id: "x", op: "bookmark", status_id: "1" }), true);
  });

  it("asks for an instance for Mastodon sign-in only", () => {
    const valid = requestValidator();
    assert.equal(valid({ id: "x", op: "login", service: "mastodon" }), false);
    assert.equal(valid({ id: "x", op: "login", service: "mastodon", instance: "https://mastodon.social" }), true);
    assert.equal(valid({ id: "x", op: "login", service: "pocket" }), true);
    assert.equal(valid({ id: "x", op: "login", service: "pocket", instance: "https://mastodon.social" }), false);
  });
});
