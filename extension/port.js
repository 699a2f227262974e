/**
 * The one long-lived native-messaging port to org.tuckaway.host.
 *
 * Every request of the extension goes through `HostPort.request()`. The port
 * is opened on first use and kept while requests are in flight (the host
 * answers writes only when the service has), then closed after a quiet spell
 * so the browser may unload the background. When the host exits with
 * requests in flight, the port reconnects with backoff (lib/backoff.js) and:
 *
 * - resends reads and writes the host had not yet acknowledged (`queued`),
 * - answers writes the host had recorded from `lookup` on the new port, since
 *   the host's outbox still holds them (PROTOCOL.md 2: "its outcome is
 *   visible through lookup"); a write without a url resolves as still queued.
 *
 * A host that does not come up (not installed, refused, crashing at start)
 * fails the waiting requests with code `host_unavailable`.
 */
import { lastErrorMessage } from "./lib/browser.js";
import { ReconnectPolicy } from "./lib/backoff.js";
import { HOST_NAME, HostError, RequestTable, lookupRequest } from "./lib/requests.js";

export const IDLE_CLOSE_MS = 20000;

/** Why the host could not be reached, in words a user can act on. */
export function unavailableError(reason) {
  const detail = reason ? ` (${reason})` : "";
  return new HostError(
    "host_unavailable",
    `The Tuckaway helper app did not answer${detail}. Install it with: tuckaway install --all`,
  );
}

export class HostPort {
  /**
   * @param {object} deps
   * @param {(name: string) => object} deps.connectNative  runtime.connectNative
   * @param {(port: object) => string|null} [deps.errorOf]  why a port closed
   */
  constructor({
    connectNative,
    hostName = HOST_NAME,
    errorOf = lastErrorMessage,
    policy = new ReconnectPolicy(),
    setTimer = (fn, ms) => setTimeout(fn, ms),
    clearTimer = (handle) => clearTimeout(handle),
    idleMs = IDLE_CLOSE_MS,
    log = console,
    idPrefix = `t${Math.random().toString(36).slice(2, 6)}-`,
  }) {
    this.connectNative = connectNative;
    this.hostName = hostName;
    this.errorOf = errorOf;
    this.policy = policy;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.idleMs = idleMs;
    this.log = log;
    // Whenever the last waiting request settles (a reply, a recovery answered from
    // lookup, giving up), start the quiet spell that closes the port.
    this.table = new RequestTable(idPrefix, { onEmpty: () => this.scheduleIdle() });
    this.port = null;
    this.gotMessage = false;
    this.reconnectTimer = null;
    this.idleTimer = null;
    this.state = "idle"; // idle | connecting | up | reconnecting | unavailable
    this.lastError = null;
    this.info = null; // the latest hello result
    this.held = false; // kept open while the host drains waiting writes (hold/release)
    this.listeners = new Set();
  }

  /** Listen to state changes: fn({state, lastError, info}). Returns an unsubscribe function. */
  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  setState(state, lastError = this.lastError) {
    this.state = state;
    this.lastError = lastError;
    for (const fn of this.listeners) {
      try {
        fn({ state, lastError, info: this.info });
      } catch (err) {
        this.log.error("tuckaway: state listener failed", err);
      }
    }
  }

  /**
   * Send one request (built by lib/requests.js); resolves with its result.
   * `onEvent` receives the host's events for it (queued, retrying, authorize).
   */
  request(request, { onEvent = null } = {}) {
    this.cancelIdle();
    const { promise, entry } = this.table.open(request, { onEvent });
    if (this.port) this.post(entry);
    else if (!this.reconnectTimer) this.connect();
    return promise;
  }

  /** Ask the host who it is; remembers the answer in `info`. */
  async hello() {
    const info = await this.request({ op: "hello" });
    this.info = info;
    this.setState("up", null);
    return info;
  }

  connect() {
    this.reconnectTimer = null;
    this.gotMessage = false;
    this.setState(this.state === "reconnecting" ? "reconnecting" : "connecting");
    let port;
    try {
      port = this.connectNative(this.hostName);
    } catch (err) {
      this.log.warn("tuckaway: connectNative failed", err);
      this.disconnected(null, String(err?.message ?? err));
      return;
    }
    this.port = port;
    port.onMessage.addListener((frame) => this.received(port, frame));
    port.onDisconnect.addListener(() => this.disconnected(port, this.errorOf(port)));
    for (const entry of this.table.pending()) {
      if (!entry.sent && !entry.recovering) this.resume(entry);
    }
  }

  /** Put a request (back) on the wire, or recover it if the old host had recorded it. */
  resume(entry) {
    if (entry.recover) {
      this.recover(entry);
    } else {
      this.post(entry);
    }
  }

  post(entry) {
    if (!this.port) return;
    try {
      this.port.postMessage(entry.message);
      entry.sent = true;
    } catch (err) {
      // The port died under us; onDisconnect follows (or already ran).
      this.log.warn("tuckaway: postMessage failed", err);
    }
  }

  recover(entry) {
    entry.recovering = true;
    const url = entry.message.url;
    if (typeof url !== "string") {
      this.table.resolve(entry.id, { recovered: true, item_id: entry.message.item_id ?? null, lookup: null });
      return;
    }
    this.request(lookupRequest(url)).then(
      (lookup) => this.table.resolve(entry.id, { recovered: true, item_id: lookup.item_id, url, lookup }),
      (error) => this.table.reject(entry.id, error),
    );
  }

  received(port, frame) {
    if (port !== this.port) return;
    if (!this.gotMessage) {
      this.gotMessage = true;
      this.policy.succeeded();
      if (this.state !== "up") this.setState("up", null);
    }
    const kind = this.table.route(frame);
    if (kind === "invalid" || kind === "stray") {
      this.log.warn(`tuckaway: ${kind} frame from the host`, frame);
    }
  }

  disconnected(port, reason) {
    if (port !== null && port !== this.port) return;
    this.port = null;
    const hadReplies = this.gotMessage;
    this.gotMessage = false;
    const waiting = this.table.pending();
    for (const entry of waiting) {
      if (entry.sent) {
        entry.sent = false;
        if (entry.write && entry.queued) entry.recover = true;
      }
    }
    if (waiting.length === 0) {
      this.setState(hadReplies ? "idle" : "unavailable", hadReplies ? null : reason);
      return;
    }
    const next = this.policy.disconnected(hadReplies);
    if (next.action === "give_up") {
      this.giveUp(reason);
      return;
    }
    this.log.info(`tuckaway: host port closed (${reason ?? "no reason given"}); reconnecting in ${next.delay} ms`);
    this.setState("reconnecting", reason);
    this.reconnectTimer = this.setTimer(() => this.connect(), next.delay);
  }

  giveUp(reason) {
    const error = unavailableError(reason);
    for (const entry of this.table.pending()) {
      if (entry.recover) {
        // The host recorded it durably; the next host process delivers it.
        this.table.resolve(entry.id, { recovered: true, item_id: null, url: entry.message.url ?? null, lookup: null });
      } else {
        this.table.reject(entry.id, error);
      }
    }
    this.setState("unavailable", reason);
  }

  /**
   * Keep the port (and so the host) open with nothing in flight: the host is
   * delivering writes left waiting, on its own. `release()` lets the quiet
   * spell close it again.
   */
  hold() {
    this.held = true;
    this.cancelIdle();
  }

  release() {
    if (!this.held) return;
    this.held = false;
    if (this.table.size === 0) this.scheduleIdle();
  }

  scheduleIdle() {
    this.cancelIdle();
    if (!this.port || this.held) return; // nothing to close, or kept open on purpose
    this.idleTimer = this.setTimer(() => {
      this.idleTimer = null;
      if (this.table.size === 0 && this.port) this.close();
    }, this.idleMs);
  }

  cancelIdle() {
    if (this.idleTimer) {
      this.clearTimer(this.idleTimer);
      this.idleTimer = null;
    }
  }

  /** Close the port on purpose (idle, or the extension is going away). */
  close() {
    this.cancelIdle();
    if (this.reconnectTimer) {
      this.clearTimer(this.reconnectTimer);
      this.reconnectTimer = null;
    }
    const port = this.port;
    this.port = null;
    if (port) {
      try {
        port.disconnect();
      } catch {
        // already closed
      }
    }
    this.setState("idle", null);
  }
}
