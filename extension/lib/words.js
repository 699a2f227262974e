/**
 * Errors in words: what the user reads in the popup, options and notifications.
 *
 * The host's messages are precise but technical; each code gets a sentence
 * that says what happened and what to do, with the host's own message kept
 * where it carries the specifics (a service's refusal, a field problem).
 */

export const INSTALL_COMMAND = "tuckaway install --all";

const SERVICE_NAMES = { pocket: "Pocket", mastodon: "Mastodon", wallabag: "wallabag", readeck: "Readeck" };

export function serviceName(service) {
  return SERVICE_NAMES[service] ?? "the service";
}

/** One sentence (or two) for an error from HostPort: {code, message, retryAfter}. */
export function describeError(error, { service = null } = {}) {
  const code = error?.code ?? "internal";
  const message = String(error?.message ?? "").trim();
  const name = serviceName(service);
  switch (code) {
    case "host_unavailable":
      return `The Tuckaway helper app is not installed or did not start. Install it with "${INSTALL_COMMAND}", then try again.`;
    case "not_linked":
      return service
        ? `You are not signed in to ${name}. Sign in on Tuckaway's options page.`
        : "That needs an account you have not signed in to. Sign in on Tuckaway's options page.";
    case "auth_failed":
      return `${name === "the service" ? "The service" : name} no longer accepts your sign-in. Sign in again on the options page; your saves wait until then.`;
    case "action_failed":
      return `The service refused this: ${message || "no reason given"}.`;
    case "unknown_item":
      return "This page is not in your list (it may have been removed).";
    case "not_found":
      return message ? `Not found: ${message}` : "Not found.";
    case "auth_timeout":
      return "Sign-in was not finished in time. Try again.";
    case "rate_limited": {
      const wait = error?.retryAfter ? ` Try again in ${Math.ceil(error.retryAfter)} s.` : "";
      return `The service is busy.${wait}`;
    }
    case "unavailable":
      return "The service cannot be reached right now. Check your connection and try again.";
    case "invalid_request":
      return message ? `That request was not valid: ${message}` : "That request was not valid.";
    case "invalid_message":
    case "message_too_large":
      return `The helper app could not read the request: ${message}`;
    case "config_error":
      return `The helper app cannot do this with its current setup: ${message || "no reason given"}. "tuckaway doctor" tells more.`;
    case "internal":
      // The reference is in the log line that holds the traceback: say it so a search finds it.
      return error?.ref
        ? `The helper app hit an internal error (reference ${error.ref}). Its log file has the details under that reference; "tuckaway doctor" shows where the log is.`
        : `The helper app hit an internal error. "tuckaway doctor" and its log file tell more.`;
    default:
      return message || "Something went wrong.";
  }
}

/** The words for a write kept while the disk is full (the host's `retrying` reason `disk_full`). */
export const DISK_FULL = "Your disk is full: Tuckaway will save when there is space.";

/** Why a write is still waiting, from a `retrying` event. */
export function describeRetry(event) {
  if (event?.reason === "disk_full") return DISK_FULL;
  const wait = typeof event?.retry_after === "number" ? Math.ceil(event.retry_after) : null;
  if (event?.reason === "rate_limited") {
    return wait ? `The service is busy; Tuckaway retries in ${wait} s.` : "The service is busy; Tuckaway retries shortly.";
  }
  return "Queued offline: the service cannot be reached. Tuckaway keeps it and sends it when it can.";
}

/** What each write op does, as "… did not go through" says it (one per write op: a test checks). */
export const CHANGE_WORDS = Object.freeze({
  save: "saving",
  archive: "archiving",
  readd: "moving back",
  favorite: "marking as favorite",
  unfavorite: "unmarking as favorite",
  delete: "removing",
  tags_add: "tagging",
  tags_remove: "untagging",
  tags_replace: "retagging",
  tags_clear: "clearing the tags of",
  tag_rename: "renaming a tag on",
  tag_delete: "deleting a tag from",
  bookmark: "bookmarking",
  unbookmark: "removing the bookmark of",
});

/** A write recovered after the helper app restarted whose change `lookup` does not show. */
export function describeUnconfirmed(request) {
  const what = CHANGE_WORDS[request?.op] ?? "changing";
  const target = request?.url ?? request?.status_url ?? (request?.op?.startsWith("tag_") ? "your list" : "the page");
  return `The helper app restarted before it answered, and ${what} ${target} did not go through. Try again.`;
}
