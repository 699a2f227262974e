/**
 * The options page's "Copies of pages" card: whether to keep a copy of pages
 * saved (storage.local, on by default), the sites never copied, the storage
 * the helper app uses for copies (`article_stats`) and deleting them all
 * (`articles_clear`, after a confirmation).
 */
import { ext } from "../lib/browser.js";
import { captureSettings, parseNeverCopy } from "../lib/capture.js";
import { formatBytes } from "../lib/reader.js";
import { articleStatsRequest, articlesClearRequest } from "../lib/requests.js";
import { describeError } from "../lib/words.js";

const $ = (id) => document.getElementById(id);

function say(text, kind = "") {
  const el = $("copies-message");
  el.textContent = text ?? "";
  el.className = `message ${kind}`.trim();
}

function usedText({ count = 0, bytes = 0 } = {}) {
  if (!count) return "No copies kept";
  return `${count.toLocaleString()} ${count === 1 ? "copy" : "copies"}, ${formatBytes(bytes)}`;
}

async function showStats(client) {
  try {
    const stats = await client.request(articleStatsRequest());
    $("copies-used").textContent = usedText(stats);
    $("copies-clear").disabled = !stats?.count;
  } catch (error) {
    $("copies-used").textContent = "Unknown";
    $("copies-clear").disabled = true;
    if (error?.code === "invalid_request") {
      // A helper app older than copies does not know the op: its saves are links alone.
      say("This helper app keeps no copies of pages: update it to read saved pages offline.", "error");
    } else if (error?.code !== "host_unavailable") {
      say(describeError(error, {}), "error");
    }
  }
}

async function clearAll(client) {
  const used = $("copies-used").textContent;
  if (!globalThis.confirm(`Delete every copy of a saved page (${used})? Your list and its links stay.`)) return;
  try {
    const { deleted = 0, bytes = 0 } = await client.request(articlesClearRequest());
    say(`Deleted ${deleted.toLocaleString()} ${deleted === 1 ? "copy" : "copies"} (${formatBytes(bytes)}).`, "ok");
  } catch (error) {
    say(describeError(error, {}), "error");
  }
  await showStats(client);
}

/** Fill the card and wire its controls; `client` is the page's BackgroundClient. */
export async function startCopies(client) {
  const settings = await captureSettings(ext.storage.local);
  $("keep-copy").checked = settings.keepCopy;
  $("never-copy").value = settings.neverCopy.join("\n");
  $("keep-copy").addEventListener("change", async () => {
    await ext.storage.local.set({ keepCopy: $("keep-copy").checked });
    say($("keep-copy").checked ? "Copies will be kept." : "Only links will be saved.", "ok");
  });
  $("never-copy-save").addEventListener("click", async () => {
    const sites = parseNeverCopy($("never-copy").value);
    await ext.storage.local.set({ neverCopy: sites });
    $("never-copy").value = sites.join("\n");
    say(sites.length ? `Never copied: ${sites.length} ${sites.length === 1 ? "site" : "sites"}.` : "Every site may be copied.", "ok");
  });
  $("copies-clear").addEventListener("click", () => clearAll(client));
  await showStats(client);
}
