/**
 * The host's own settings as the options page edits them (ops `settings` and
 * `settings_set`): which fields changed, what is wrong with what was typed,
 * and why a field cannot be edited here. No DOM: unit-tested in node.
 */

export const BATCH_KEYS = Object.freeze(["batch_quiet_ms", "batch_max_delay_ms", "batch_max_actions"]);

/** Bounds the host enforces (protocol.py SettingsSet); checked here for a message in words. */
export const LIMITS = Object.freeze({
  batch_quiet_ms: [0, 60000, "Wait for quiet"],
  batch_max_delay_ms: [0, 600000, "Longest wait"],
  batch_max_actions: [1, 1000, "Largest batch"],
});

/** Which input shows a setting (for focusing the field an error names). */
export const INPUT_FOR = Object.freeze({
  pocket_url: "pocket-url",
  pocket_consumer_key: "pocket-key",
  batch_quiet_ms: "batch_quiet_ms",
  batch_max_delay_ms: "batch_max_delay_ms",
  batch_max_actions: "batch_max_actions",
});

/** Why a setting is not the page's to change, or null when it is. */
export function sourceNote(key, source) {
  if (source !== "environment") return null;
  return `Set by TUCKAWAY_${key.toUpperCase()} in the helper app's environment; change it there.`;
}

function serviceUrl(text) {
  const value = String(text ?? "").trim();
  if (!value) return { problem: "Enter the service's address, like https://pocket.example.org." };
  const withScheme = /^[a-z][a-z0-9+.-]*:/i.test(value) ? value : `https://${value}`;
  let url;
  try {
    url = new URL(withScheme);
  } catch {
    return { problem: `"${value}" is not a web address.` };
  }
  if (!["http:", "https:"].includes(url.protocol) || !url.hostname) {
    return { problem: "The service's address must start with https://." };
  }
  return { value: withScheme.replace(/\/+$/, "") };
}

/**
 * The `settings_set` fields for what was typed (`typed`: setting -> text, or
 * null for a field left alone), compared with the host's current `settings`
 * result. Returns `{changes, problems}`; an empty consumer key means "keep".
 */
export function settingsChanges(current, typed) {
  const changes = {};
  const problems = [];
  const values = current?.values ?? {};
  for (const [key, raw] of Object.entries(typed)) {
    if (raw === null || raw === undefined) continue;
    if (key === "pocket_url") {
      const { value, problem } = serviceUrl(raw);
      if (problem) problems.push(problem);
      else if (value !== values.pocket_url) changes.pocket_url = value;
    } else if (key === "pocket_consumer_key") {
      const value = String(raw).trim();
      if (value) changes.pocket_consumer_key = value;
    } else if (key in LIMITS) {
      const [low, high, label] = LIMITS[key];
      const text = String(raw).trim();
      const number = Number(text);
      if (!/^\d+$/.test(text) || number < low || number > high) {
        problems.push(`${label}: a whole number from ${low} to ${high}.`);
      } else if (number !== values[key]) {
        changes[key] = number;
      }
    }
  }
  return { changes, problems };
}

/**
 * Plain words for a field the host refused in `settings_set` (`{loc, msg}`),
 * instead of `invalid settings_set request: pocket_url: ...`.
 */
export function describeField(field) {
  const key = String(field?.loc ?? "");
  const why = String(field?.msg ?? "").trim().replace(/^(url|value)\s+/i, "");
  if (key === "pocket_url") {
    return `The service's address is not a web address${why ? ` (it ${why})` : ""}. Fix it and save again.`;
  }
  if (key in LIMITS) {
    const [low, high, label] = LIMITS[key];
    return `${label}: a whole number from ${low} to ${high}.`;
  }
  if (key === "pocket_consumer_key") return `The consumer key was refused${why ? `: ${why}` : ""}.`;
  return why ? `This setting was refused: ${why}.` : "This setting was refused.";
}

/** Which inputs the problems of `settingsChanges` are about (to mark them invalid). */
export function invalidInputs(current, typed) {
  return Object.keys(typed).filter((key) => INPUT_FOR[key]
    && settingsChanges(current, { [key]: typed[key] }).problems.length > 0).map((key) => INPUT_FOR[key]);
}
