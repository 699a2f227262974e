import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { errorToWire } from "../lib/relay.js";
import { HostError } from "../lib/requests.js";
import { describeError, describeRetry } from "../lib/words.js";

describe("errors in words", () => {
  it("tells how to install a missing helper app", () => {
    assert.match(describeError({ code: "host_unavailable", message: "x" }), /tuckaway install --all/);
  });

  it("names the service that needs a sign-in", () => {
    assert.match(describeError({ code: "not_linked" }, { service: "mastodon" }), /Mastodon/);
    assert.match(describeError({ code: "auth_failed" }, { service: "pocket" }), /Pocket .*Sign in again/);
    assert.match(describeError({ code: "auth_failed" }, { service: "wallabag" }), /wallabag .*Sign in again/);
  });

  it("keeps the service's reason for a refused action", () => {
    assert.match(describeError({ code: "action_failed", message: "Invalid URL" }), /Invalid URL/);
  });

  it("says when to retry when rate limited", () => {
    assert.match(describeError({ code: "rate_limited", retryAfter: 29.2 }), /30 s/);
  });

  it("shows the helper app's message for a setup problem", () => {
    assert.match(describeError({ code: "config_error", message: "no keyring backend" }), /no keyring backend/);
  });

  it("gives an internal error's reference, carried from the host's reply through the relay", () => {
    const fromHost = HostError.fromWire({ code: "internal", message: "the host hit an internal error (ref 0a1b2c3d)", ref: "0a1b2c3d" });
    const onPage = errorToWire(fromHost);
    assert.equal(onPage.ref, "0a1b2c3d");
    assert.match(describeError(onPage), /internal error \(reference 0a1b2c3d\)/);
    assert.doesNotMatch(describeError({ code: "internal", message: "x" }), /reference/);
  });

  it("keeps a sign-in refusal's precise reason from host to page", () => {
    const reason = "a Pocket consumer key is needed: set TUCKAWAY_POCKET_CONSUMER_KEY";
    const onPage = errorToWire(HostError.fromWire({ code: "config_error", message: reason }));
    const text = describeError(onPage, { service: "pocket" });
    assert.match(text, /a Pocket consumer key is needed/);
    assert.doesNotMatch(text, /internal error/);
  });

  it("keeps an invalid request's fields through the relay", () => {
    const fields = [{ loc: "pocket_url", msg: "url contains spaces or control characters" }];
    assert.deepEqual(errorToWire(HostError.fromWire({ code: "invalid_request", message: "m", fields })).fields, fields);
  });

  it("falls back to the message for codes it does not know", () => {
    assert.equal(describeError({ code: "new_code", message: "Specific." }), "Specific.");
  });

  it("explains a retrying write", () => {
    assert.match(describeRetry({ reason: "unavailable", retry_after: 5 }), /Queued offline/);
    assert.match(describeRetry({ reason: "rate_limited", retry_after: 5 }), /5 s/);
    assert.equal(describeRetry({ reason: "disk_full", retry_after: 5 }), "Your disk is full: Tuckaway will save when there is space.");
  });
});
