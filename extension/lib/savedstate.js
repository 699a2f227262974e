/**
 * The toolbar's "already saved" sign: per tab, from `lookup`, cached per url
 * in `storage.session` (cleared with the browser session, and by any write).
 *
 * Only http and https pages are looked up. A cached url asks the host nothing,
 * so switching between known pages never starts the helper app or postpones
 * its port's idle close; a lookup that fails leaves the icon as it was.
 */
import { isSaveableUrl, lookupRequest } from "./requests.js";

export const SAVED_TITLE = "Saved \u2014 click to edit";
export const UNSAVED_TITLE = "Save to Tuckaway";
export const SAVED_ICON = { 16: "icons/saved-16.png", 32: "icons/saved-32.png", 48: "icons/saved-48.png" };
export const PLAIN_ICON = { 16: "icons/icon-16.png", 32: "icons/icon-32.png", 48: "icons/icon-48.png" };
const PREFIX = "saved:";

export function cacheKey(url) {
  return `${PREFIX}${url}`;
}

/** How the toolbar button looks for a page: saved (and not deleted) or not. */
export function toolbarLook(saved) {
  return saved ? { title: SAVED_TITLE, path: SAVED_ICON } : { title: UNSAVED_TITLE, path: PLAIN_ICON };
}

export class SavedState {
  /** `session`: storage.session; `request(req)`: the host; `paint(tabId, look)`: the button. */
  constructor({ session, request, paint }) {
    this.session = session;
    this.request = request;
    this.paint = paint;
  }

  /** Show tab `tabId`'s state for `url`; resolves with true/false, or null when unknown. */
  async show(tabId, url) {
    if (!isSaveableUrl(url ?? "")) {
      await this.paint(tabId, toolbarLook(false));
      return null;
    }
    const key = cacheKey(url);
    let saved = (await this.session.get(key))[key];
    if (typeof saved !== "boolean") {
      try {
        const result = await this.request(lookupRequest(url));
        saved = Boolean(result?.saved);
      } catch {
        return null;
      }
      await this.session.set({ [key]: saved });
    }
    await this.paint(tabId, toolbarLook(saved));
    return saved;
  }

  /** Forget every cached answer (a write may have changed any of them). */
  async forget() {
    const all = await this.session.get(null);
    const keys = Object.keys(all).filter((key) => key.startsWith(PREFIX));
    if (keys.length) await this.session.remove(keys);
  }
}
