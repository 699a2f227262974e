/**
 * Requests to the host (PROTOCOL.md 2-3) and the bookkeeping of the ones in flight.
 *
 * Builders produce exactly the fields the protocol allows (the host refuses
 * unknown fields), so the rest of the extension never spells a request by
 * hand. `RequestTable` gives each request its id and routes the host's
 * replies and events back to whoever asked.
 */
import { ITEM_OPS, TAG_OPS, WRITE_OPS } from "./ops.js";
import { normalizeTagList } from "./tags.js";

export const HOST_NAME = "org.tuckaway.host";
export const PROTOCOL_VERSION = 1;
export const MAX_TITLE_LENGTH = 2000;

// The op lists are the host's (lib/ops.js is generated from its protocol schema).
export { ITEM_OPS, TAG_OPS, WRITE_OPS } from "./ops.js";

/** An error reply from the host, or a failure to reach it (code `host_unavailable`). */
export class HostError extends Error {
  constructor(code, message, { fields = null, retryAfter = null, ref = null } = {}) {
    super(message);
    this.name = "HostError";
    this.code = code;
    this.fields = fields;
    this.retryAfter = retryAfter;
    // An internal error's reference: the log line with its traceback carries it too.
    this.ref = ref;
  }

  static fromWire(error) {
    const body = error && typeof error === "object" ? error : {};
    return new HostError(String(body.code ?? "internal"), String(body.message ?? "the host gave no reason"), {
      fields: Array.isArray(body.fields) ? body.fields : null,
      retryAfter: typeof body.retry_after === "number" ? body.retry_after : null,
      ref: typeof body.ref === "string" && body.ref ? body.ref : null,
    });
  }
}

function target(where) {
  if (where && typeof where.item_id === "string" && where.item_id) return { item_id: where.item_id };
  if (where && typeof where.url === "string" && where.url.trim()) return { url: where.url.trim() };
  throw new TypeError("an item op needs an item_id or a url");
}

/** Only pages on the web can be saved (PROTOCOL.md: url is http or https). */
export function isSaveableUrl(url) {
  try {
    const parsed = new URL(url);
    return (parsed.protocol === "http:" || parsed.protocol === "https:") && Boolean(parsed.hostname);
  } catch {
    return false;
  }
}

export function saveRequest({ url, title = null, tags = [] }) {
  if (!isSaveableUrl(url)) throw new TypeError(`only http and https pages can be saved: ${url}`);
  const request = { op: "save", url: url.trim() };
  const cleanTitle = typeof title === "string" ? title.trim().slice(0, MAX_TITLE_LENGTH) : "";
  if (cleanTitle) request.title = cleanTitle;
  const cleanTags = normalizeTagList(tags);
  if (cleanTags.length) request.tags = cleanTags;
  return request;
}

export function itemRequest(op, where) {
  if (!ITEM_OPS.has(op)) throw new TypeError(`not an item op: ${op}`);
  return { op, ...target(where) };
}

export function tagsRequest(op, where, tags) {
  if (!TAG_OPS.has(op)) throw new TypeError(`not a tags op: ${op}`);
  const clean = normalizeTagList(tags);
  if (!clean.length) throw new TypeError(`${op} needs at least one tag`);
  return { op, ...target(where), tags: clean };
}

export function lookupRequest(url) {
  return { op: "lookup", url: url.trim() };
}

/** Known tags; with `counts`, `[{tag, count}]` most used first. */
export function tagsListRequest(prefix = "", { counts = false } = {}) {
  const request = prefix ? { op: "tags", prefix } : { op: "tags" };
  if (counts) request.counts = true;
  return request;
}

export function bookmarkRequest(bookmarked, statusUrl) {
  if (!isSaveableUrl(statusUrl)) throw new TypeError(`not a post URL: ${statusUrl}`);
  return { op: bookmarked ? "bookmark" : "unbookmark", status_url: statusUrl.trim() };
}

/** Is this post bookmarked? One read, answered from the user's server (protocol.md `bookmark_state`). */
export function bookmarkStateRequest(statusUrl) {
  if (!isSaveableUrl(statusUrl)) throw new TypeError(`not a post URL: ${statusUrl}`);
  return { op: "bookmark_state", status_url: statusUrl.trim() };
}

/**
 * One chunk of an item's kept copy (protocol.md `article`): its metadata and
 * the html from `offset`; the reader asks again from `next_offset` until null.
 */
export function articleRequest(where, offset = 0) {
  const request = { op: "article", ...target(where) };
  if (Number.isInteger(offset) && offset > 0) request.offset = offset;
  return request;
}

/** How many copies are kept and their size; deleting them all. */
export function articleStatsRequest() {
  return { op: "article_stats" };
}

export function articlesClearRequest() {
  return { op: "articles_clear" };
}

/** The services whose account holds the reading list (one at most is linked). */
export const LIST_SERVICES = Object.freeze(["pocket", "wallabag", "readeck"]);
const SERVICES = Object.freeze([...LIST_SERVICES, "mastodon"]);

/**
 * A `login` request. Mastodon needs `instance`; wallabag needs `instance` and
 * `fields` {client_id, client_secret, username, password} (the password is used
 * once by the helper app, never kept); Readeck needs `instance`, and signs in in
 * a tab unless `fields.token` (an API token) is given.
 */
export function loginRequest(service, instance = null, fields = {}) {
  if (service === "pocket") return { op: "login", service };
  if (!SERVICES.includes(service)) throw new TypeError(`unknown service: ${service}`);
  const server = normalizeInstance(instance);
  const name = { mastodon: "Mastodon", wallabag: "wallabag", readeck: "Readeck" }[service];
  if (!server) throw new TypeError(`${name} sign-in needs your server's address`);
  const request = { op: "login", service, instance: server };
  if (service === "wallabag") {
    for (const [key, label] of [["client_id", "client ID"], ["client_secret", "client secret"],
      ["username", "user name"], ["password", "password"]]) {
      const value = key === "password" ? String(fields[key] ?? "") : String(fields[key] ?? "").trim();
      if (!value) throw new TypeError(`wallabag sign-in needs your ${label}`);
      request[key] = value;
    }
  }
  const token = String(fields.token ?? "").trim();
  if (service === "readeck" && token) request.token = token;
  return request;
}

export function logoutRequest(service) {
  if (!SERVICES.includes(service)) throw new TypeError(`unknown service: ${service}`);
  return { op: "logout", service };
}

/** "mastodon.social" or "https://mastodon.social/" -> "https://mastodon.social"; null if unusable. */
export function normalizeInstance(text) {
  let value = String(text ?? "").trim();
  if (!value) return null;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) value = `https://${value}`;
  try {
    const url = new URL(value);
    if (url.protocol !== "https:" && !(url.protocol === "http:" && ["127.0.0.1", "localhost"].includes(url.hostname))) {
      return null;
    }
    if (!url.hostname.includes(".") && url.hostname !== "localhost") return null;
    return url.origin;
  } catch {
    return null;
  }
}

/**
 * Requests waiting for their final reply, keyed by id.
 *
 * `open()` stamps an id and returns the frame to send plus a promise of the
 * result; `route()` takes every frame the host writes. Events go to the
 * request's `onEvent`; a final reply settles its promise (a `HostError` on
 * `ok: false`). A write is marked `queued` once the host has recorded it
 * durably, which is what lets port.js recover it after the host exits.
 */
export class RequestTable {
  /** `onEmpty()` runs whenever settling a request leaves nothing waiting. */
  constructor(prefix = "r", { onEmpty = null } = {}) {
    this.prefix = prefix;
    this.counter = 0;
    this.entries = new Map();
    this.onEmpty = onEmpty;
  }

  /** Take an entry out; tell `onEmpty` when it was the last one. */
  settle(entry) {
    this.entries.delete(entry.id);
    if (this.entries.size === 0) this.onEmpty?.();
  }

  nextId() {
    this.counter += 1;
    return `${this.prefix}${this.counter}`;
  }

  open(request, { onEvent = null } = {}) {
    if (!request || typeof request.op !== "string") throw new TypeError("a request needs an op");
    const id = this.nextId();
    const message = { id, ...request };
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const entry = {
      id,
      message,
      op: request.op,
      write: WRITE_OPS.has(request.op),
      queued: false,
      sent: false,
      onEvent,
      resolve,
      reject,
    };
    this.entries.set(id, entry);
    return { id, message, promise, entry };
  }

  get size() {
    return this.entries.size;
  }

  /** Every request still waiting, in the order they were opened. */
  pending() {
    return [...this.entries.values()];
  }

  /**
   * Route one frame from the host. Returns what it was:
   * "event", "reply", "stray" (an id we do not know) or "invalid".
   */
  route(frame) {
    if (!frame || typeof frame !== "object" || Array.isArray(frame)) return "invalid";
    const entry = frame.id === null || frame.id === undefined ? undefined : this.entries.get(frame.id);
    if (typeof frame.event === "string") {
      if (!entry) return "stray";
      if (frame.event === "queued") entry.queued = true;
      entry.onEvent?.(frame);
      return "event";
    }
    if (typeof frame.ok !== "boolean") return "invalid";
    if (!entry) return "stray";
    this.settle(entry);
    if (frame.ok) entry.resolve(frame.result ?? {});
    else entry.reject(HostError.fromWire(frame.error));
    return "reply";
  }

  /** Settle a request without a frame from the host (recovery, giving up). */
  resolve(id, result) {
    const entry = this.entries.get(id);
    if (!entry) return false;
    this.settle(entry);
    entry.resolve(result);
    return true;
  }

  reject(id, error) {
    const entry = this.entries.get(id);
    if (!entry) return false;
    this.settle(entry);
    entry.reject(error);
    return true;
  }
}
