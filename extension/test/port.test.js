import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ReconnectPolicy } from "../lib/backoff.js";
import { HostPort } from "../port.js";
import { FakeTimers, connector, flush, quietLog } from "./fakes.js";

function makePort(options = {}) {
  const { ports, connectNative } = connector();
  const timers = new FakeTimers();
  const host = new HostPort({
    connectNative,
    errorOf: (port) => port.error?.message ?? null,
    policy: new ReconnectPolicy({ random: () => 0 }),
    setTimer: timers.set,
    clearTimer: timers.clear,
    log: quietLog,
    idPrefix: "t-",
    ...options,
  });
  return { host, ports, timers };
}

describe("HostPort", () => {
  it("connects to org.tuckaway.host on the first request and sends it with an id", () => {
    const { host, ports } = makePort();
    host.request({ op: "lookup", url: "https://example.com/" });
    assert.equal(ports.length, 1);
    assert.equal(ports[0].name, "org.tuckaway.host");
    assert.deepEqual(ports[0].sent, [{ id: "t-1", op: "lookup", url: "https://example.com/" }]);
  });

  it("uses one port for many requests and routes each reply to its caller", async () => {
    const { host, ports } = makePort();
    const a = host.request({ op: "tags" });
    const b = host.request({ op: "lookup", url: "https://b.example/" });
    assert.equal(ports.length, 1);
    ports[0].reply({ id: "t-2", ok: true, result: { saved: false } });
    ports[0].reply({ id: "t-1", ok: true, result: { tags: ["x"] } });
    assert.deepEqual(await a, { tags: ["x"] });
    assert.deepEqual(await b, { saved: false });
  });

  it("passes events to the request's listener before its final reply", async () => {
    const { host, ports } = makePort();
    const events = [];
    const saved = host.request({ op: "save", url: "https://e.example/" }, { onEvent: (e) => events.push(e.event) });
    ports[0].reply({ id: "t-1", event: "queued" });
    ports[0].reply({ id: "t-1", event: "retrying", reason: "unavailable", retry_after: 2 });
    ports[0].reply({ id: "t-1", ok: true, result: { item_id: "1", url: "https://e.example/", item: {} } });
    assert.equal((await saved).item_id, "1");
    assert.deepEqual(events, ["queued", "retrying"]);
  });

  it("rejects with the host's error code and message", async () => {
    const { host, ports } = makePort();
    const archived = host.request({ op: "archive", url: "https://nope.example/" });
    ports[0].reply({ id: "t-1", ok: false, error: { code: "unknown_item", message: "not saved" } });
    await assert.rejects(archived, { name: "HostError", code: "unknown_item", message: "not saved" });
  });

  it("resends a read that was in flight when the host exited", async () => {
    const { host, ports, timers } = makePort();
    const lookup = host.request({ op: "lookup", url: "https://r.example/" });
    ports[0].reply({ id: "other", event: "queued" }); // the host was up
    ports[0].die();
    assert.equal(host.state, "reconnecting");
    assert.deepEqual(timers.delays(), [100]);
    timers.runAll();
    assert.equal(ports.length, 2);
    assert.deepEqual(ports[1].sent, [{ id: "t-1", op: "lookup", url: "https://r.example/" }]);
    ports[1].reply({ id: "t-1", ok: true, result: { saved: true } });
    assert.deepEqual(await lookup, { saved: true });
  });

  it("resends a write the host had not acknowledged as queued", () => {
    const { host, ports, timers } = makePort();
    host.request({ op: "save", url: "https://w.example/" });
    ports[0].reply({ id: "x", event: "queued" });
    ports[0].die();
    timers.runAll();
    assert.deepEqual(ports[1].sent, [{ id: "t-1", op: "save", url: "https://w.example/" }]);
  });

  it("answers a queued write from lookup after reconnecting instead of sending it twice", async () => {
    const { host, ports, timers } = makePort();
    const saved = host.request({ op: "save", url: "https://q.example/", tags: ["a"] });
    ports[0].reply({ id: "t-1", event: "queued" });
    ports[0].die();
    timers.runAll();
    assert.equal(ports[1].sent.length, 1);
    const lookup = ports[1].sent[0];
    assert.deepEqual({ op: lookup.op, url: lookup.url }, { op: "lookup", url: "https://q.example/" });
    const state = { saved: true, item_id: "7", status: "unread", favorite: false, tags: ["a"], pending: 0 };
    ports[1].reply({ id: lookup.id, ok: true, result: state });
    assert.deepEqual(await saved, { recovered: true, item_id: "7", url: "https://q.example/", lookup: state });
  });

  it("resolves a queued write without a url as still queued", async () => {
    const { host, ports, timers } = makePort();
    const renamed = host.request({ op: "tag_rename", old_tag: "a", new_tag: "b" });
    ports[0].reply({ id: "t-1", event: "queued" });
    ports[0].die();
    timers.runAll();
    assert.deepEqual(await renamed, { recovered: true, item_id: null, lookup: null });
    assert.equal(ports[1].sent.length, 0);
  });

  it("closes the port after a quiet spell once a recovered write is answered from lookup", async () => {
    const { host, ports, timers } = makePort({ idleMs: 5000 });
    const saved = host.request({ op: "save", url: "https://q.example/" });
    ports[0].reply({ id: "t-1", event: "queued" });
    ports[0].die();
    timers.runAll();
    const lookup = ports[1].sent[0];
    ports[1].reply({ id: lookup.id, ok: true, result: { saved: true, item_id: "7", pending: 0 } });
    assert.equal((await saved).recovered, true);
    await flush();
    assert.equal(host.table.size, 0);
    assert.deepEqual(timers.delays(), [5000], "the idle timer runs once nothing waits");
    timers.runAll();
    assert.equal(ports[1].closed, true);
    assert.equal(host.state, "idle");
  });

  it("closes the port after a quiet spell once a recovered write without a url resolves", async () => {
    const { host, ports, timers } = makePort({ idleMs: 5000 });
    const renamed = host.request({ op: "tag_rename", old_tag: "a", new_tag: "b" });
    ports[0].reply({ id: "t-1", event: "queued" });
    ports[0].die();
    timers.runAll();
    await renamed;
    assert.deepEqual(timers.delays(), [5000]);
    timers.runAll();
    assert.equal(ports[1].closed, true);
  });

  it("closes the port after a quiet spell once a recovery's lookup fails", async () => {
    const { host, ports, timers } = makePort({ idleMs: 5000 });
    const saved = host.request({ op: "save", url: "https://q.example/" });
    ports[0].reply({ id: "t-1", event: "queued" });
    ports[0].die();
    timers.runAll();
    const lookup = ports[1].sent[0];
    ports[1].reply({ id: lookup.id, ok: false, error: { code: "internal", message: "disk full" } });
    await assert.rejects(saved, { code: "internal" });
    await flush();
    assert.deepEqual(timers.delays(), [5000]);
  });

  it("keeps the port while other requests still wait after a recovery", async () => {
    const { host, ports, timers } = makePort({ idleMs: 5000 });
    const saved = host.request({ op: "save", url: "https://q.example/" });
    ports[0].reply({ id: "t-1", event: "queued" });
    ports[0].die();
    timers.runAll();
    host.request({ op: "save", url: "https://slow.example/" });
    const lookup = ports[1].sent[0];
    ports[1].reply({ id: lookup.id, ok: true, result: { saved: true, item_id: "7", pending: 0 } });
    await saved;
    await flush();
    assert.deepEqual(timers.delays(), []);
    assert.equal(ports[1].closed, false);
  });

  it("gives up on a host that never answers and says how to install it", async () => {
    const { host, ports, timers } = makePort();
    const hello = host.request({ op: "hello" });
    ports[0].die("Specified native messaging host not found.");
    timers.runAll();
    ports[1].die("Specified native messaging host not found.");
    timers.runAll();
    ports[2].die("Specified native messaging host not found.");
    await assert.rejects(hello, (error) => {
      assert.equal(error.code, "host_unavailable");
      assert.match(error.message, /tuckaway install --all/);
      assert.match(error.message, /not found/);
      return true;
    });
    assert.equal(ports.length, 3);
    assert.equal(host.state, "unavailable");
  });

  it("backs off between failed starts", () => {
    const { host, ports, timers } = makePort();
    host.request({ op: "hello" });
    ports[0].die();
    assert.deepEqual(timers.delays(), [500]);
    timers.runAll();
    ports[1].die();
    assert.deepEqual(timers.delays(), [1500]);
  });

  it("connects again on the next request after giving up", () => {
    const { host, ports, timers } = makePort();
    host.request({ op: "hello" }).catch(() => {});
    for (let i = 0; i < 3; i += 1) {
      ports[i].die();
      timers.runAll();
    }
    assert.equal(ports.length, 3);
    host.request({ op: "hello" });
    assert.equal(ports.length, 4);
  });

  it("queues requests made while waiting to reconnect and sends them on the new port", () => {
    const { host, ports, timers } = makePort();
    host.request({ op: "tags" });
    ports[0].reply({ id: "zz", event: "queued" });
    ports[0].die();
    host.request({ op: "lookup", url: "https://later.example/" });
    assert.equal(ports.length, 1);
    timers.runAll();
    assert.deepEqual(ports[1].sent.map((m) => m.op), ["tags", "lookup"]);
  });

  it("closes the port after a quiet spell with nothing in flight", async () => {
    const { host, ports, timers } = makePort({ idleMs: 5000 });
    const tags = host.request({ op: "tags" });
    ports[0].reply({ id: "t-1", ok: true, result: { tags: [] } });
    await tags;
    assert.deepEqual(timers.delays(), [5000]);
    timers.runAll();
    assert.equal(ports[0].closed, true);
    assert.equal(host.state, "idle");
    host.request({ op: "tags" });
    assert.equal(ports.length, 2);
  });

  it("keeps the port while a write waits for the service", async () => {
    const { host, ports, timers } = makePort({ idleMs: 5000 });
    host.request({ op: "save", url: "https://slow.example/" });
    ports[0].reply({ id: "t-1", event: "queued" });
    await flush();
    assert.deepEqual(timers.delays(), []);
    assert.equal(ports[0].closed, false);
  });

  it("remembers hello and reports state changes", async () => {
    const { host, ports } = makePort();
    const states = [];
    host.onChange(({ state }) => states.push(state));
    const hello = host.hello();
    ports[0].reply({ id: "t-1", ok: true, result: { name: "tuckaway", version: "1.0", protocol: 1 } });
    await hello;
    assert.equal(host.info.version, "1.0");
    assert.deepEqual(states, ["connecting", "up", "up"]);
  });

  it("treats connectNative throwing like a host that is not there", async () => {
    const timers = new FakeTimers();
    const host = new HostPort({
      connectNative: () => {
        throw new Error("Access to the specified native messaging host is forbidden.");
      },
      policy: new ReconnectPolicy({ random: () => 0 }),
      setTimer: timers.set,
      clearTimer: timers.clear,
      log: quietLog,
    });
    const hello = host.request({ op: "hello" });
    timers.runAll();
    timers.runAll();
    await assert.rejects(hello, { code: "host_unavailable" });
  });
});
