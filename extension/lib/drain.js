/**
 * Writes left waiting when the browser closed (issue 15): the host delivers
 * them on its own once started, but the browser starts it only through a port.
 *
 * Every hello's `pending` is remembered (storage.local) and shown on the badge.
 * At browser start, when the last hello said writes waited, the background
 * says hello; while the host holds writes, the port is kept open and an alarm
 * asks again every half minute (reconnecting if the host went away) until the
 * host says none wait. Then the port's usual quiet spell closes it.
 */

export const DRAIN_ALARM = "tuckaway-drain";
/** Chrome's shortest alarm period. */
export const DRAIN_PERIOD_MINUTES = 0.5;

export class Drain {
  /**
   * @param {object} deps
   * @param {object} deps.port     HostPort: hello(), hold(), release()
   * @param {object} deps.alarms   chrome.alarms
   * @param {object} deps.storage  storage.local
   * @param {object} deps.badge    BadgeModel
   * @param {() => void} deps.paint  repaint the badge
   */
  constructor({ port, alarms, storage, badge, paint }) {
    Object.assign(this, { port, alarms, storage, badge, paint });
    this.lastInfo = null;
  }

  /** A hello result arrived (port.onChange): remember, show and keep the port as it says. */
  seen(info) {
    if (!info || info === this.lastInfo) return;
    this.lastInfo = info;
    const count = Number.isInteger(info.pending) && info.pending > 0 ? info.pending : 0;
    this.storage.set({ pendingAtHello: count }).catch(() => {});
    this.show(count);
    if (count > 0) {
      this.port.hold();
      this.alarms?.create(DRAIN_ALARM, { periodInMinutes: DRAIN_PERIOD_MINUTES });
    } else {
      this.port.release();
      this.alarms?.clear(DRAIN_ALARM)?.catch?.(() => {});
    }
  }

  /** The helper app's count on the badge, painted only when that changes what it shows. */
  show(count) {
    const shown = () => `${this.badge.view().text}|${this.badge.title()}`;
    const before = shown();
    this.badge.heldByHost(count);
    if (shown() !== before) this.paint();
  }

  /** Ask the host how many writes wait; a host that does not answer is asked at the next alarm. */
  check() {
    return this.port.hello().catch(() => null);
  }

  /**
   * runtime.onStartup, and the background's own start (an unpacked extension loaded
   * from the command line gets no onStartup; a background stopped while idle starts
   * again on the next event): connect when the last hello said writes were waiting.
   * Once per background start.
   */
  atStart() {
    this.starting ??= this.connectIfWaiting();
    return this.starting;
  }

  async connectIfWaiting() {
    const { pendingAtHello = 0 } = await this.storage.get({ pendingAtHello: 0 }).catch(() => ({}));
    if (!(pendingAtHello > 0)) return null;
    this.show(pendingAtHello);
    this.alarms?.create(DRAIN_ALARM, { periodInMinutes: DRAIN_PERIOD_MINUTES });
    return this.check();
  }

  /** alarms.onAlarm */
  onAlarm(alarm) {
    return alarm?.name === DRAIN_ALARM ? this.check() : Promise.resolve(null);
  }
}
