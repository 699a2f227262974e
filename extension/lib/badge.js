/**
 * What the toolbar badge says.
 *
 * - a number while writes wait for the service (queued, retrying),
 * - a check mark for a moment after a write succeeds, once nothing else waits,
 * - "!" after a write failed, until the next write succeeds.
 *
 * The check mark belongs to the write that succeeded: it lasts until its
 * moment is over (`flashDone`, background.js's timer) or a write fails. Other
 * writes starting meanwhile show their count over it, and one handed over to
 * the helper app (`handedOver`) neither earns a check mark nor ends another's.
 *
 * The model is pure; background.js paints it and runs the check mark timer.
 */

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
  }

  started() {
    this.pending += 1;
  }

  /** A write succeeded: its check mark starts now (shown once nothing waits). */
  succeeded() {
    this.pending = Math.max(0, this.pending - 1);
    this.failed = false;
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
      return { text: this.pending > 99 ? "99+" : String(this.pending), color: COLORS.pending };
    }
    if (this.failed) return { text: "!", color: COLORS.error };
    if (this.flash) return { text: CHECK, color: COLORS.ok };
    return { text: "", color: COLORS.pending };
  }
}
