import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { RECONNECT_DELAYS_MS, ReconnectPolicy, reconnectDelay } from "../lib/backoff.js";

describe("reconnectDelay", () => {
  it("follows the schedule and repeats its last step", () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 50].map((n) => reconnectDelay(n)), [
      100, 500, 1500, 4000, 10000, 30000, 30000, 30000,
    ]);
  });

  it("adds at most a fifth as jitter", () => {
    assert.equal(reconnectDelay(3, 0.999), Math.round(4000 * 1.1998));
    assert.ok(reconnectDelay(3, 0.5) > RECONNECT_DELAYS_MS[3]);
  });

  it("refuses nonsense attempts", () => {
    assert.throws(() => reconnectDelay(-1), RangeError);
    assert.throws(() => reconnectDelay(1.5), RangeError);
  });
});

describe("ReconnectPolicy", () => {
  it("reconnects at once after a working host exits, however often", () => {
    const policy = new ReconnectPolicy({ random: () => 0 });
    for (let i = 0; i < 5; i += 1) {
      assert.deepEqual(policy.disconnected(true), { action: "reconnect", delay: 100 });
    }
  });

  it("gives up after three starts in a row without a message", () => {
    const policy = new ReconnectPolicy({ random: () => 0 });
    assert.deepEqual(policy.disconnected(false), { action: "reconnect", delay: 500 });
    assert.deepEqual(policy.disconnected(false), { action: "reconnect", delay: 1500 });
    assert.deepEqual(policy.disconnected(false), { action: "give_up" });
    assert.equal(policy.failures, 0);
  });

  it("forgets failed starts once a message arrives", () => {
    const policy = new ReconnectPolicy({ random: () => 0 });
    policy.disconnected(false);
    policy.succeeded();
    assert.deepEqual(policy.disconnected(false), { action: "reconnect", delay: 500 });
  });
});
