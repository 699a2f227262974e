/**
 * The one place that picks the extension API namespace.
 *
 * Firefox exposes `browser.*` (promise based); Chromium exposes `chrome.*`,
 * whose Manifest V3 methods also return promises when called without a
 * callback. Everything else imports `ext` from here, so the difference lives
 * in one line instead of in every module.
 */
export const ext = globalThis.browser ?? globalThis.chrome;

/** The message of the last port/API error, whichever way the browser reports it. */
export function lastErrorMessage(port) {
  return port?.error?.message ?? globalThis.chrome?.runtime?.lastError?.message ?? null;
}
