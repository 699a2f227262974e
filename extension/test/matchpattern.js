// The browsers' match patterns (https://developer.chrome.com/docs/extensions/develop/concepts/match-patterns),
// enough to check the extension's own patterns in node: <scheme>://<host><path>,
// scheme "*" = http or https, host "*" or "*.domain" or exact, path a glob
// over the path and query.

export function parsePattern(pattern) {
  const match = /^(\*|https?|file|ftp|wss?):\/\/(\*|\*\.[^/*]+|[^/*]+)?(\/.*)$/.exec(pattern);
  if (!match) throw new SyntaxError(`not a match pattern: ${pattern}`);
  const [, scheme, host = "", path] = match;
  return { scheme, host, path };
}

function glob(text) {
  return new RegExp(`^${text.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
}

export function matchesPattern(pattern, url) {
  const { scheme, host, path } = parsePattern(pattern);
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  const protocol = parsed.protocol.slice(0, -1);
  if (scheme === "*" ? !["http", "https"].includes(protocol) : scheme !== protocol) return false;
  if (host !== "*") {
    if (host.startsWith("*.")) {
      const base = host.slice(2);
      if (parsed.hostname !== base && !parsed.hostname.endsWith(`.${base}`)) return false;
    } else if (parsed.hostname !== host) {
      return false;
    }
  }
  return glob(path).test(parsed.pathname + parsed.search);
}
