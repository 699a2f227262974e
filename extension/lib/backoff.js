/**
 * When to try the native host again after its port closed.
 *
 * A host that was serving and then exited (crash, update, the browser killed
 * it) is reconnected almost at once; one that does not come up at all is
 * tried a few more times with growing gaps and then reported as missing, so
 * the popup can say so within a couple of seconds instead of spinning.
 */

/** Delays in milliseconds before reconnect attempt 1, 2, 3 ... (the last one repeats). */
export const RECONNECT_DELAYS_MS = Object.freeze([100, 500, 1500, 4000, 10000, 30000]);

/** A host that never answered on this many connections in a row counts as missing. */
export const MAX_START_FAILURES = 3;

/**
 * The delay before reconnect attempt `attempt` (0-based).
 *
 * `jitter` in [0, 1) spreads retries by up to a fifth of the delay; pass 0 in
 * tests for the exact schedule.
 */
export function reconnectDelay(attempt, jitter = 0, delays = RECONNECT_DELAYS_MS) {
  if (!Number.isInteger(attempt) || attempt < 0) {
    throw new RangeError(`attempt must be a non-negative integer, got ${attempt}`);
  }
  const base = delays[Math.min(attempt, delays.length - 1)];
  return Math.round(base * (1 + 0.2 * jitter));
}

/**
 * Tracks consecutive failed starts and decides what happens after a disconnect.
 *
 * `disconnected(hadReplies)` returns `{ action: "reconnect", delay }` or
 * `{ action: "give_up" }`. A connection that delivered at least one message
 * was a working host: its exit resets the failure count.
 */
export class ReconnectPolicy {
  constructor({ delays = RECONNECT_DELAYS_MS, maxStartFailures = MAX_START_FAILURES, random = Math.random } = {}) {
    this.delays = delays;
    this.maxStartFailures = maxStartFailures;
    this.random = random;
    this.failures = 0;
  }

  disconnected(hadReplies) {
    if (hadReplies) {
      this.failures = 0;
      return { action: "reconnect", delay: reconnectDelay(0, this.random(), this.delays) };
    }
    this.failures += 1;
    if (this.failures >= this.maxStartFailures) {
      this.failures = 0;
      return { action: "give_up" };
    }
    return { action: "reconnect", delay: reconnectDelay(this.failures, this.random(), this.delays) };
  }

  /** A message arrived: the host is up. */
  succeeded() {
    this.failures = 0;
  }
}
