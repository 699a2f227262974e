/**
 * hello's `problems` (a bad config key that took its default, a damaged
 * database) in plain words, for the options page and the popup.
 *
 * Each problem names the file, the line and the key, says what was wrong and
 * what is allowed, and what Tuckaway does meanwhile. The host's own `text` is
 * the fallback for a kind this version does not know.
 */

/** One sentence or two for one problem. */
export function describeProblem(problem) {
  const p = problem ?? {};
  if (p.kind === "config") {
    const env = /^TUCKAWAY_/.test(p.file ?? "");
    const where = env ? `the environment variable ${p.file}` : p.line ? `${p.file}, line ${p.line}` : p.file;
    const why = p.message ? stripStop(p.message) : "not valid";
    const allowed = p.allowed && !why.includes(p.allowed) ? ` Allowed: ${p.allowed}.` : "";
    if (!p.key) return `The settings file ${where} cannot be used: ${why}. Tuckaway uses its defaults until you fix it.`;
    return `The setting "${p.key}" in ${where} is wrong: ${why}.${allowed} Tuckaway uses its default until you fix it.`;
  }
  if (p.kind === "database") {
    return p.text || `The database ${p.file} cannot be used: ${p.message}. Run "tuckaway repair".`;
  }
  return p.text || p.message || "The helper app reported a problem.";
}

/** Every problem of a hello result, in words (an empty list when all is well). */
export function problemLines(info) {
  const problems = Array.isArray(info?.problems) ? info.problems : [];
  return problems.map(describeProblem);
}

/** Fill a list element with the problems; hide `box` when there are none. */
export function showProblems(box, list, info, doc = globalThis.document) {
  const lines = problemLines(info);
  list.replaceChildren(...lines.map((line) => {
    const li = doc.createElement("li");
    li.textContent = line;
    return li;
  }));
  box.hidden = lines.length === 0;
  return lines;
}

function stripStop(text) {
  return String(text).replace(/[.\s]+$/, "");
}
