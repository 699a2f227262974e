/**
 * What the toolbar badge says.
 *
 * - a number while writes wait for the service (queued, retrying),
 * - a check mark for a moment after a write succeeds, once nothing else waits,
 * - "!" after a write failed, until the next write succeeds,
 * - "full" while the helper app keeps writes because the disk is full (`diskFull`),
 * - otherwise, the writes the helper app last said it holds for the service
 *   (hello's `pending`, `waiting`): after a browser start they drain with no click.
 *
 * The check mark belongs to the write that succeeded: it lasts until its
 * moment is over (`flashDone`, background.js's timer) or a write fails. Other
 * writes starting meanwhile show their count over it, and one handed over to
 * the helper app (`handedOver`) neither earns a check mark nor ends another's.
 *
 * The model is pure; background.js paints it and runs the check mark timer.
 */
import { DISK_FULL } from "./words.js";

export const CHECK = "\u2713";
export const CHECK_MS = 2000;

export const COLORS = Object.freeze({
  pending: "#5b6472",
  ok: "#1f8a4c",
  error: "#c62828",
});

export class BadgeModel {
  constructor() {
    this.pending = 0;
    this.failed = false;
    this.flash = false;
    this.diskFull = false;
    this.waiting = 0;
  }

  /** What the helper app said it holds (hello's `pending`); 0 also ends a full disk. */
  heldByHost(count) {
    this.waiting = Number.isInteger(count) && count > 0 ? count : 0;
    if (this.waiting === 0) this.diskFull = false;
  }

  /** A `retrying` event: a full disk shows until a write goes through. */
  retrying(event) {
    if (event?.reason === "disk_full") this.diskFull = true;
  }

  started() {
    this.pending += 1;
  }

  /** A write succeeded: its check mark starts now (shown once nothing waits). */
  succeeded() {
    this.pending = Math.max(0, this.pending - 1);
    this.failed = false;
    this.diskFull = false;
    this.flash = true;
  }

  failedWrite() {
    this.pending = Math.max(0, this.pending - 1);
    this.failed = true;
    this.flash = false;
  }

  /**
   * A write left the extension's hands still queued in the helper app (it was
   * recovered after a restart, or the helper app did not come back): it no
   * longer counts here, and earns no check mark (nor takes away one another
   * write just earned).
   */
  handedOver() {
    this.pending = Math.max(0, this.pending - 1);
  }

  /** Settle one write by its outcome: "done", "waiting" or "failed" (itemstate.writeOutcome). */
  settled(outcome) {
    if (outcome === "failed") this.failedWrite();
    else if (outcome === "waiting") this.handedOver();
    else this.succeeded();
  }

  /** The check mark has been shown long enough. */
  flashDone() {
    this.flash = false;
  }

  view() {
    if (this.pending > 0) {
      return { text: counted(this.pending), color: COLORS.pending };
    }
    if (this.diskFull) return { text: "full", color: COLORS.error };
    if (this.failed) return { text: "!", color: COLORS.error };
    if (this.flash) return { text: CHECK, color: COLORS.ok };
    if (this.waiting > 0) {
      return { text: counted(this.waiting), color: COLORS.pending };
    }
    return { text: "", color: COLORS.pending };
  }

  /** The toolbar button's tooltip for what the badge shows, or null for the usual one. */
  title() {
    if (this.diskFull) return DISK_FULL;
    if (this.pending === 0 && this.waiting > 0) {
      const writes = this.waiting === 1 ? "1 change waits" : `${this.waiting} changes wait`;
      return `Tuckaway: ${writes} to be sent; the helper app sends them when the service answers.`;
    }
    return null;
  }
}

/** A count as the badge's few characters hold it. */
function counted(n) {
  return n > 99 ? "99+" : String(n);
}
