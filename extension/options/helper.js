/**
 * The helper-app card's words: how to get the helper app on this computer's OS
 * (every step, not only the last), and what waits when the helper app that
 * answered is older than this extension needs.
 */

/** What each helper-app version brought that this extension uses (oldest first). */
export const HOST_FEATURES = [
  { since: "0.1.0", what: "saving, tags, archive and favorites through the helper app" },
  { since: "0.1.0", what: "changing the service and batching settings on this page" },
  { since: "0.1.0", what: "Mastodon bookmarks" },
];

/** The oldest helper app that does everything this extension asks of it. */
export const NEEDED_HOST = HOST_FEATURES.reduce(
  (newest, f) => (compareVersions(f.since, newest) > 0 ? f.since : newest), "0.0.0");

/** -1, 0 or 1 as dotted version `a` is older than, the same as, or newer than `b`. */
export function compareVersions(a, b) {
  const pa = String(a).split(/[.+-]/).map((p) => Number.parseInt(p, 10) || 0);
  const pb = String(b).split(/[.+-]/).map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Null when `version` is new enough; else what to say and which features wait. */
export function hostUpdate(version) {
  const waiting = HOST_FEATURES.filter((f) => compareVersions(version, f.since) < 0).map((f) => f.what);
  if (!waiting.length) return null;
  return {
    text: `Update the helper app: this is tuckaway ${version}, and this extension needs ${NEEDED_HOST} or newer.`,
    waiting,
  };
}

/** `chrome.runtime.getPlatformInfo().os` to the three layouts the steps know. */
export function osFamily(os) {
  if (os === "win") return "windows";
  if (os === "mac") return "macos";
  return "linux";
}

/**
 * The steps to get the helper app running, for one OS: [{text, command?}].
 * The last command is the one the card's Copy button copies (`tuckaway install --all`).
 */
export function helperSteps(family, version) {
  const wheel = `tuckaway-${version}-py3-none-any.whl`;
  const get = {
    linux: {
      text: `Download tuckaway-${version}-linux-x86_64.tar.gz from the Tuckaway release, unpack it and run its install.sh (it puts the helper app in ~/.local/lib/tuckaway and registers it). Or, with Python 3.11+ and pipx:`,
      command: `pipx install ${wheel}`,
    },
    macos: {
      text: `Install Python 3.11 or newer and pipx (for example brew install pipx), then install the helper app from the Tuckaway release's ${wheel}:`,
      command: `pipx install ${wheel}`,
    },
    windows: {
      text: `Install Python 3.11 or newer from python.org and pipx (py -m pip install --user pipx), then, in a terminal, install the helper app from the Tuckaway release's ${wheel}:`,
      command: `py -m pipx install ${wheel}`,
    },
  }[family];
  return [
    get,
    { text: "Register it with your browsers (every one it finds):", command: "tuckaway install --all" },
    { text: "Check it with tuckaway doctor, restart the browser if it says so, then check again." },
  ];
}
