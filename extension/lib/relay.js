/**
 * Extension pages (popup, options) talk to the background over one runtime
 * port named "tuckaway-ui"; the background owns the native port, the badge
 * and every request, so a save started in the popup finishes (and is counted
 * on the badge) even if the popup closes at once.
 *
 * Frames page -> background: {rid, kind: "request", request} | {rid, kind: "hello"}
 *                            | {rid, kind: "status"}
 * Frames background -> page: {rid, event: {...}} | {rid, ok: true, result}
 *                            | {rid, ok: false, error: {code, message, retryAfter, fields, ref}}
 */
import { ext } from "./browser.js";

export const UI_PORT_NAME = "tuckaway-ui";

export function errorToWire(error) {
  return {
    code: String(error?.code ?? "internal"),
    message: String(error?.message ?? error ?? "unknown error"),
    retryAfter: error?.retryAfter ?? null,
    // Kept so the page can name the field (invalid_request) or the log reference (internal).
    fields: Array.isArray(error?.fields) ? error.fields : null,
    ref: typeof error?.ref === "string" ? error.ref : null,
  };
}

/** The page side: `client.request(req, onEvent)`, `client.hello()`, `client.status()`. */
export class BackgroundClient {
  constructor(connect = () => ext.runtime.connect({ name: UI_PORT_NAME })) {
    this.connectFn = connect;
    this.port = null;
    this.counter = 0;
    this.waiting = new Map();
  }

  ensure() {
    if (this.port) return this.port;
    const port = this.connectFn();
    port.onMessage.addListener((frame) => this.received(frame));
    port.onDisconnect.addListener(() => {
      this.port = null;
      for (const { reject } of this.waiting.values()) {
        reject(Object.assign(new Error("the background page went away"), { code: "internal" }));
      }
      this.waiting.clear();
    });
    this.port = port;
    return port;
  }

  received(frame) {
    const waiter = this.waiting.get(frame?.rid);
    if (!waiter) return;
    if (frame.event) {
      waiter.onEvent?.(frame.event);
      return;
    }
    this.waiting.delete(frame.rid);
    if (frame.ok) waiter.resolve(frame.result);
    else waiter.reject(Object.assign(new Error(frame.error?.message ?? "failed"), frame.error ?? {}));
  }

  send(message, onEvent = null) {
    this.counter += 1;
    const rid = this.counter;
    return new Promise((resolve, reject) => {
      this.waiting.set(rid, { resolve, reject, onEvent });
      this.ensure().postMessage({ rid, ...message });
    });
  }

  request(request, onEvent = null) {
    return this.send({ kind: "request", request }, onEvent);
  }

  hello() {
    return this.send({ kind: "hello" });
  }

  status() {
    return this.send({ kind: "status" });
  }
}
