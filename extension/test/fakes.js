// Test doubles: a native port the test drives by hand, and timers it fires by hand.

export class FakeNativePort {
  constructor(name) {
    this.name = name;
    this.sent = [];
    this.messageListeners = [];
    this.disconnectListeners = [];
    this.closed = false;
    this.error = null;
    this.onMessage = { addListener: (fn) => this.messageListeners.push(fn) };
    this.onDisconnect = { addListener: (fn) => this.disconnectListeners.push(fn) };
  }

  postMessage(message) {
    if (this.closed) throw new Error("Attempting to use a disconnected port object");
    this.sent.push(structuredClone(message));
  }

  disconnect() {
    this.closed = true;
  }

  /** The host writes a frame. */
  reply(frame) {
    for (const fn of this.messageListeners) fn(frame);
  }

  /** The host exits (the browser closes the port from its side). */
  die(message = "Native host has exited.") {
    this.closed = true;
    this.error = { message };
    for (const fn of this.disconnectListeners) fn(this);
  }

  last() {
    return this.sent[this.sent.length - 1];
  }
}

export class FakeTimers {
  constructor() {
    this.pending = new Map();
    this.counter = 0;
  }

  set = (fn, ms) => {
    this.counter += 1;
    this.pending.set(this.counter, { fn, ms });
    return this.counter;
  };

  clear = (handle) => {
    this.pending.delete(handle);
  };

  delays() {
    return [...this.pending.values()].map((t) => t.ms);
  }

  /** Run every timer that is due now (all of them: time is the test's to give). */
  runAll() {
    const due = [...this.pending.entries()];
    this.pending.clear();
    for (const [, { fn }] of due) fn();
  }
}

/** A HostPort wired to fakes; `ports` lists every connection it opened. */
export function connector() {
  const ports = [];
  const connectNative = (name) => {
    const port = new FakeNativePort(name);
    ports.push(port);
    return port;
  };
  return { ports, connectNative };
}

export const flush = () => new Promise((resolve) => setImmediate(resolve));

export const quietLog = { info() {}, warn() {}, error() {} };

/** A storage.local / storage.sync area in memory. */
export function storageArea() {
  const data = {};
  return {
    data,
    async get(keys) {
      if (keys === null || keys === undefined) return structuredClone(data);
      if (typeof keys === "string") return keys in data ? { [keys]: structuredClone(data[keys]) } : {};
      if (Array.isArray(keys)) return Object.fromEntries(keys.filter((k) => k in data).map((k) => [k, structuredClone(data[k])]));
      return Object.fromEntries(Object.entries(keys).map(([k, fallback]) => [k, k in data ? structuredClone(data[k]) : fallback]));
    },
    async set(values) {
      Object.assign(data, structuredClone(values));
    },
    async remove(keys) {
      for (const key of [keys].flat()) delete data[key];
    },
  };
}
