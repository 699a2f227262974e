import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { BATCH_KEYS, INPUT_FOR, describeField, invalidInputs, settingsChanges, sourceNote } from "../options/settings.js";

const current = {
  values: {
    pocket_url: "https://getpocket.com",
    pocket_consumer_key_set: false,
    batch_quiet_ms: 300,
    batch_max_delay_ms: 1500,
    batch_max_actions: 100,
  },
  sources: {},
};

describe("options: host settings", () => {
  it("sends only what changed", () => {
    const { changes, problems } = settingsChanges(current, {
      batch_quiet_ms: "300",
      batch_max_delay_ms: " 2000 ",
      batch_max_actions: "100",
    });
    assert.deepEqual(problems, []);
    assert.deepEqual(changes, { batch_max_delay_ms: 2000 });
  });

  it("refuses numbers out of the host's bounds, in words", () => {
    for (const [key, bad] of [["batch_max_actions", "0"], ["batch_quiet_ms", "-5"], ["batch_quiet_ms", "1.5"],
      ["batch_max_delay_ms", "600001"], ["batch_max_actions", "many"], ["batch_quiet_ms", ""]]) {
      const { changes, problems } = settingsChanges(current, { [key]: bad });
      assert.deepEqual(changes, {}, `${key}=${bad}`);
      assert.equal(problems.length, 1, `${key}=${bad}`);
      assert.match(problems[0], /a whole number from \d+ to \d+/);
    }
  });

  it("takes a service address with or without https://, without the trailing slash", () => {
    assert.deepEqual(settingsChanges(current, { pocket_url: "read.example.org/" }).changes,
      { pocket_url: "https://read.example.org" });
    assert.deepEqual(settingsChanges(current, { pocket_url: "http://127.0.0.1:8080" }).changes,
      { pocket_url: "http://127.0.0.1:8080" });
    assert.deepEqual(settingsChanges(current, { pocket_url: "https://getpocket.com/" }).changes, {});
  });

  it("refuses addresses that are not web addresses", () => {
    for (const bad of ["", "   ", "javascript:alert(1)", "ftp://example.org", "https://"]) {
      const { changes, problems } = settingsChanges(current, { pocket_url: bad });
      assert.deepEqual(changes, {}, bad);
      assert.equal(problems.length, 1, bad);
    }
  });

  it("an empty consumer key keeps the one the host has", () => {
    assert.deepEqual(settingsChanges(current, { pocket_consumer_key: "" }).changes, {});
    assert.deepEqual(settingsChanges(current, { pocket_consumer_key: " k-1 " }).changes, { pocket_consumer_key: "k-1" });
  });

  it("fields left alone (null) are not sent", () => {
    assert.deepEqual(settingsChanges(current, { pocket_url: null, batch_quiet_ms: null }), { changes: {}, problems: [] });
  });

  it("says which environment variable pins a setting", () => {
    assert.equal(sourceNote("batch_quiet_ms", "environment"),
      "Set by TUCKAWAY_BATCH_QUIET_MS in the helper app's environment; change it there.");
    assert.equal(sourceNote("batch_quiet_ms", "config"), null);
    assert.equal(sourceNote("batch_quiet_ms", "default"), null);
  });

  it("every batching key has an input", () => {
    for (const key of BATCH_KEYS) assert.ok(INPUT_FOR[key]);
  });
});

describe("a refused setting in plain words", () => {
  it("says a bad service address is not a web address, without the request's jargon", () => {
    const text = describeField({ loc: "pocket_url", msg: "url contains spaces or control characters" });
    assert.match(text, /not a web address/);
    assert.match(text, /contains spaces or control characters/);
    assert.doesNotMatch(text, /settings_set|pocket_url/);
  });

  it("names a batching field by its label and its bounds", () => {
    assert.equal(describeField({ loc: "batch_max_actions", msg: "Input should be less than or equal to 1000" }),
      "Largest batch: a whole number from 1 to 1000.");
  });

  it("marks only the inputs whose typed text has a problem", () => {
    assert.deepEqual(invalidInputs(current, { pocket_url: "http://a b", pocket_consumer_key: "k" }), ["pocket-url"]);
    assert.deepEqual(invalidInputs(current, { batch_quiet_ms: "5", batch_max_actions: "0" }), ["batch_max_actions"]);
    assert.deepEqual(invalidInputs(current, { pocket_url: "https://read.example.org" }), []);
  });
});
