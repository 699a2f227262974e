/**
 * Options: is the helper app there (and how to install it when not), account
 * sign-in/out, the host's service and batching settings (ops `settings` and
 * `settings_set`: they live in the host's config.toml, not in the extension),
 * default tags, shortcuts.
 */
import { ext } from "../lib/browser.js";
import { tagChips } from "../lib/chips.js";
import { showProblems } from "../lib/problems.js";
import { BackgroundClient } from "../lib/relay.js";
import { LIST_SERVICES, loginRequest, logoutRequest, normalizeInstance } from "../lib/requests.js";
import { normalizeTagList, parseTags } from "../lib/tags.js";
import { INSTALL_COMMAND, describeError } from "../lib/words.js";
import { startCopies } from "./copies.js";
import { helperSteps, hostUpdate, osFamily } from "./helper.js";
import { BATCH_KEYS, INPUT_FOR, describeField, invalidInputs, settingsChanges, sourceNote } from "./settings.js";

const client = new BackgroundClient();
const $ = (id) => document.getElementById(id);
let defaultTags = [];

function pill(id, text, kind = "") {
  const el = $(id);
  el.textContent = text;
  el.className = `pill ${kind}`.trim();
}

function message(id, text, kind = "") {
  const el = $(id);
  el.textContent = text ?? "";
  el.className = `message ${kind}`.trim();
}

// -- helper app and accounts -----------------------------------------------------

let pocketLinked = false;
let hostSettings = null;
/** The list service signed in (null: the list is on this computer). */
let linkedList = null;

const BACKEND_WORDS = {
  pocket: "your Pocket-compatible server",
  wallabag: "your wallabag",
  readeck: "your Readeck",
  local: "the list on this computer",
};
const LIST_NAMES = { pocket: "Pocket", wallabag: "wallabag", readeck: "Readeck" };

/** Show the panel of `choice` ("local" or a list service) and tick its radio button. */
function choose(choice) {
  for (const name of ["local", ...LIST_SERVICES]) {
    $(`panel-${name}`).hidden = name !== choice;
    $(`list-${name}`).checked = name === choice;
  }
}

function showListChoice(accounts) {
  linkedList = LIST_SERVICES.find((name) => accounts[name]?.linked) ?? null;
  for (const name of ["local", ...LIST_SERVICES]) $(`list-${name}`).disabled = Boolean(linkedList);
  $("list-note").textContent = linkedList
    ? `Your list is in ${LIST_NAMES[linkedList]}. Sign out there to keep it somewhere else.`
    : "";
  const current = document.querySelector('input[name="list"]:checked')?.value;
  choose(linkedList ?? current ?? "local");
  pill("list-state", linkedList ? LIST_NAMES[linkedList] : "This computer", linkedList ? "ok" : "");
  for (const name of ["wallabag", "readeck"]) {
    const account = accounts[name] ?? {};
    pill(`${name}-state`, account.linked ? `Signed in${account.username ? ` as ${account.username}` : ""}` : "Not signed in",
      account.linked ? "ok" : "");
    if (account.instance) $(`${name}-url`).value = account.instance;
    for (const input of $(`${name}-form`).querySelectorAll("input")) input.disabled = Boolean(account.linked);
    $(`${name}-login`).hidden = Boolean(account.linked);
    $(`${name}-login`).disabled = false;
    $(`${name}-logout`).hidden = !account.linked;
  }
}

function showHost(info) {
  $("host").dataset.state = "found";
  $("host-found").hidden = false;
  $("host-missing").hidden = true;
  pill("host-badge", "Connected", "ok");
  $("host-version").textContent = `tuckaway ${info.version} (protocol ${info.protocol})`;
  $("host-backend").textContent = BACKEND_WORDS[info.backend] ?? "the list on this computer";
  $("host-pending").textContent = info.pending ? String(info.pending) : "nothing";
  if (showProblems($("host-problems"), $("host-problem-list"), info).length) {
    pill("host-badge", "Needs attention", "error");
  }
  showUpdate(hostUpdate(info.version));
  showAccounts(info.accounts ?? {});
}

function showUpdate(update) {
  $("host-update").hidden = !update;
  if (!update) return;
  pill("host-badge", "Update needed", "error");
  $("host-update-text").textContent = update.text;
  $("host-waiting").replaceChildren(...update.waiting.map((what) => {
    const li = document.createElement("li");
    li.textContent = what;
    return li;
  }));
}

async function showSteps() {
  let os = "linux";
  try {
    os = (await ext.runtime.getPlatformInfo()).os;
  } catch {
    // The steps for Linux are still the right shape: better than none.
  }
  const [get] = helperSteps(osFamily(os), ext.runtime.getManifest().version);
  $("get-helper-text").textContent = get.text;
  $("get-helper-command").textContent = get.command;
  $("get-helper").hidden = false;
}

function showMissing(error) {
  $("host").dataset.state = "missing";
  $("host-found").hidden = true;
  $("host-missing").hidden = false;
  pill("host-badge", "Not found", "error");
  showSteps();
  const reason = error?.code === "host_unavailable" ? "" : `: ${describeError(error)}`;
  $("host-reason").textContent = reason;
  for (const id of ["pocket-login", "mastodon-login", "wallabag-login", "readeck-login", "service-save",
    "batching-save", "batching-reset"]) {
    $(id).disabled = true;
  }
  pill("pocket-state", "Needs the helper app");
  pill("wallabag-state", "Needs the helper app");
  pill("readeck-state", "Needs the helper app");
  pill("mastodon-state", "Needs the helper app");
}

function showAccounts(accounts) {
  const pocket = accounts.pocket ?? {};
  pocketLinked = Boolean(pocket.linked);
  pill("pocket-state", pocket.linked ? `Signed in${pocket.username ? ` as ${pocket.username}` : ""}` : "Not signed in",
    pocket.linked ? "ok" : "");
  $("pocket-login").hidden = Boolean(pocket.linked);
  $("pocket-login").disabled = false;
  $("pocket-logout").hidden = !pocket.linked;

  const mastodon = accounts.mastodon ?? {};
  pill("mastodon-state", mastodon.linked ? `Signed in as ${mastodon.acct ?? "you"}` : "Not signed in",
    mastodon.linked ? "ok" : "");
  const instance = $("mastodon-instance");
  if (mastodon.instance) instance.value = mastodon.instance;
  instance.disabled = Boolean(mastodon.linked);
  $("mastodon-login").hidden = Boolean(mastodon.linked);
  $("mastodon-login").disabled = false;
  $("mastodon-logout").hidden = !mastodon.linked;
  showListChoice(accounts);
}

async function checkHost() {
  $("host").dataset.state = "checking";
  pill("host-badge", "Checking\u2026");
  try {
    showHost(await client.hello());
  } catch (error) {
    showMissing(error);
    return;
  }
  await loadSettings();
}

// -- the host's settings (config.toml) --------------------------------------------

function showSettings(settings) {
  hostSettings = settings;
  const { values, sources } = settings;
  $("config-path").textContent = settings.config_file ? ` (${settings.config_file})` : "";

  const url = $("pocket-url");
  // The built-in default is Pocket's own address, closed in 2025: never offer it.
  url.value = sources.pocket_url === "default" ? "" : values.pocket_url;
  const urlPinned = sources.pocket_url === "environment";
  url.disabled = urlPinned || pocketLinked;
  $("pocket-url-note").textContent = pocketLinked
    ? "Sign out to use another service."
    : sourceNote("pocket_url", sources.pocket_url)
      ?? "Pocket itself closed in 2025: enter the address of the Pocket-compatible service you use.";
  const key = $("pocket-key");
  key.value = "";
  key.disabled = sources.pocket_consumer_key === "environment" || pocketLinked;
  key.placeholder = values.pocket_consumer_key_set ? "set (type to replace it)" : "from your service";
  $("pocket-key-note").textContent = sourceNote("pocket_consumer_key", sources.pocket_consumer_key) ?? "";
  $("service-save").disabled = pocketLinked || (urlPinned && key.disabled);

  let pinned = 0;
  for (const name of BATCH_KEYS) {
    const input = $(name);
    input.value = String(values[name]);
    input.disabled = sources[name] === "environment";
    pinned += input.disabled ? 1 : 0;
    const note = sourceNote(name, sources[name]);
    if (note) $(`${name}-note`).textContent = note;
  }
  $("batching-save").disabled = pinned === BATCH_KEYS.length;
  $("batching-reset").disabled = !BATCH_KEYS.some((name) => sources[name] === "config");
}

async function loadSettings() {
  try {
    showSettings(await client.request({ op: "settings" }));
  } catch (error) {
    // An older helper app without the settings ops: say where the settings live instead,
    // in both cards whose Save it turns off (the Pocket service's and batching).
    const text = error?.code === "invalid_request"
      ? "This helper app is too old to change its settings here: edit its config.toml (`tuckaway status` shows where)."
      : describeError(error);
    message("service-message", text, "error");
    message("batching-message", text, "error");
    for (const id of ["service-save", "batching-save", "batching-reset"]) $(id).disabled = true;
  }
}

/** The inputs of the card whose message line is `out`. */
const CARD_INPUTS = { "service-message": ["pocket-url", "pocket-key"], "batching-message": BATCH_KEYS };

/** Mark exactly `ids` of card `out`'s inputs invalid; the first one takes the focus. */
function markInvalid(out, ids) {
  for (const id of CARD_INPUTS[out]) $(id).removeAttribute("aria-invalid");
  for (const id of ids) $(id).setAttribute("aria-invalid", "true");
  const first = ids.map((id) => $(id)).find((input) => !input.disabled);
  first?.focus();
}

async function saveSettings(out, body, done) {
  message(out, "Saving\u2026");
  try {
    showSettings(await client.request({ op: "settings_set", ...body }));
    markInvalid(out, []);
    message(out, done, "ok");
  } catch (error) {
    // What was typed stays in its field (showSettings runs only on success).
    const fields = (error?.fields ?? []).filter((f) => INPUT_FOR[f?.loc]);
    message(out, fields.length ? fields.map(describeField).join(" ") : describeError(error), "error");
    markInvalid(out, fields.map((f) => INPUT_FOR[f.loc]));
  }
}

const FIRST_INPUT = { mastodon: "mastodon-instance", wallabag: "wallabag-url", readeck: "readeck-url" };

async function signIn(service, instance = null, fields = {}) {
  const out = `${service}-message`;
  let request;
  try {
    request = loginRequest(service, instance, fields);
  } catch (error) {
    message(out, error.message, "error");
    $(FIRST_INPUT[service] ?? "pocket-login").focus();
    return;
  }
  $(`${service}-login`).disabled = true;
  message(out, "Starting sign-in\u2026");
  try {
    const result = await client.request(request, (event) => {
      if (event.event === "authorize") message(out, "Finish signing in in the tab that opened.");
    });
    message(out, `Signed in${result?.username ? ` as ${result.username}` : ""}.`, "ok");
  } catch (error) {
    message(out, describeError(error, { service }), "error");
  } finally {
    $(`${service}-login`).disabled = false;
    await checkHost();
  }
}

async function signOut(service) {
  const out = `${service}-message`;
  try {
    await client.request(logoutRequest(service));
    message(out, "Signed out. The token was removed from this computer.", "ok");
  } catch (error) {
    message(out, describeError(error, { service }), "error");
  }
  await checkHost();
}

// -- default tags ------------------------------------------------------------------

function renderDefaultTags() {
  const onRemove = (tag) => {
    storeDefaultTags(defaultTags.filter((t) => t !== tag));
    $("default-tag-input").focus();
  };
  $("default-chips").replaceChildren(
    ...tagChips(defaultTags, { onRemove, label: (tag) => `Remove default tag ${tag}` }),
  );
}

async function storeDefaultTags(tags) {
  defaultTags = normalizeTagList(tags);
  renderDefaultTags();
  try {
    await ext.storage.sync.set({ defaultTags });
    message("tags-message", defaultTags.length ? "Saved." : "No default tags.", "ok");
  } catch (error) {
    message("tags-message", `Could not store the tags: ${error.message}`, "error");
  }
}

async function loadDefaultTags() {
  const stored = await ext.storage.sync.get({ defaultTags: [] }).catch(() => ({ defaultTags: [] }));
  defaultTags = normalizeTagList(stored.defaultTags);
  renderDefaultTags();
}

// -- shortcuts -----------------------------------------------------------------------

async function showShortcuts() {
  const commands = (await ext.commands?.getAll?.().catch(() => [])) ?? [];
  const names = { _execute_action: "Save this page and open the popup", "save-page": "Save this page (no popup)" };
  $("shortcuts").replaceChildren(
    ...commands.map((command) => {
      const li = document.createElement("li");
      const what = document.createElement("span");
      what.textContent = names[command.name] ?? command.description ?? command.name;
      const key = document.createElement("kbd");
      key.textContent = command.shortcut || "not set";
      li.append(what, key);
      return li;
    }),
  );
  const firefox = typeof globalThis.browser !== "undefined" && navigator.userAgent.includes("Firefox");
  $("shortcuts-help").textContent = firefox
    ? "Change them in Add-ons and themes \u2192 the gear menu \u2192 Manage Extension Shortcuts."
    : "Change them at chrome://extensions/shortcuts (or your browser's extension shortcut settings).";
}

// -- wiring --------------------------------------------------------------------------

function copyButton(buttonId, codeId) {
  $(buttonId).addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($(codeId).textContent);
      $(buttonId).textContent = "Copied";
    } catch {
      $(buttonId).textContent = "Select and copy";
    }
  });
}

function wire() {
  $("install-command").textContent = INSTALL_COMMAND;
  copyButton("copy-install", "install-command");
  copyButton("copy-get-helper", "get-helper-command");
  $("recheck").addEventListener("click", checkHost);
  $("pocket-login").addEventListener("click", () => signIn("pocket"));
  $("pocket-logout").addEventListener("click", () => signOut("pocket"));
  $("mastodon-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const instance = normalizeInstance($("mastodon-instance").value);
    if (!instance) {
      message("mastodon-message", "Enter your Mastodon server's address, like mastodon.social.", "error");
      $("mastodon-instance").focus();
      return;
    }
    signIn("mastodon", instance);
  });
  $("mastodon-logout").addEventListener("click", () => signOut("mastodon"));
  $("list-choice").addEventListener("change", (event) => choose(event.target.value));
  $("wallabag-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = (id) => $(`wallabag-${id}`).value;
    const fields = {
      client_id: value("client-id"),
      client_secret: value("client-secret"),
      username: value("username"),
      password: value("password"),
    };
    if (fields.password) $("wallabag-password").value = ""; // used once, by the helper app
    signIn("wallabag", $("wallabag-url").value, fields);
  });
  $("readeck-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("readeck-token").value;
    $("readeck-token").value = "";
    signIn("readeck", $("readeck-url").value, { token });
  });
  for (const name of ["wallabag", "readeck"]) {
    $(`${name}-logout`).addEventListener("click", () => signOut(name));
  }
  $("service-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!hostSettings) return;
    const typed = {
      pocket_url: $("pocket-url").disabled ? null : $("pocket-url").value,
      pocket_consumer_key: $("pocket-key").disabled ? null : $("pocket-key").value,
    };
    const { changes, problems } = settingsChanges(hostSettings, typed);
    markInvalid("service-message", invalidInputs(hostSettings, typed));
    if (problems.length) return message("service-message", problems.join(" "), "error");
    if (!Object.keys(changes).length) return message("service-message", "Nothing to change.");
    saveSettings("service-message", changes, "Saved. Sign in to use the service.");
  });
  $("batching-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!hostSettings) return;
    const typed = Object.fromEntries(BATCH_KEYS.filter((k) => !$(k).disabled).map((k) => [k, $(k).value]));
    const { changes, problems } = settingsChanges(hostSettings, typed);
    markInvalid("batching-message", invalidInputs(hostSettings, typed));
    if (problems.length) return message("batching-message", problems.join(" "), "error");
    if (!Object.keys(changes).length) return message("batching-message", "Nothing to change.");
    saveSettings("batching-message", changes, "Saved.");
  });
  $("batching-reset").addEventListener("click", () => {
    const reset = BATCH_KEYS.filter((k) => hostSettings?.sources?.[k] === "config");
    if (reset.length) saveSettings("batching-message", { reset }, "Back to the defaults.");
  });
  $("default-tag-input").addEventListener("keydown", (event) => {
    const input = event.currentTarget;
    if (event.key === "Enter") {
      event.preventDefault();
      const { tags, problems } = parseTags(input.value, defaultTags);
      input.value = "";
      if (problems.length) message("tags-message", `Not added: ${problems.join("; ")}.`, "error");
      if (tags.length) storeDefaultTags([...defaultTags, ...tags]);
    } else if (event.key === "Backspace" && input.value === "" && defaultTags.length) {
      storeDefaultTags(defaultTags.slice(0, -1));
    }
  });
}

wire();
checkHost();
loadDefaultTags();
startCopies(client);
showShortcuts();
