// hello's problems in plain words (lib/problems.js): file, line, key, allowed values.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { describeProblem, problemLines } from "../lib/problems.js";

const config = (fields) => ({ kind: "config", file: "/home/a/.config/tuckaway/config.toml", line: 3, key: "log_level",
  message: "'LOUD' is not a log level", allowed: "debug, info, warning, error", text: "x", ...fields });

describe("problems in words", () => {
  it("names the file, line, key, what was wrong and what is allowed", () => {
    assert.equal(
      describeProblem(config()),
      "The setting \"log_level\" in /home/a/.config/tuckaway/config.toml, line 3 is wrong: 'LOUD' is not a log level." +
        " Allowed: debug, info, warning, error. Tuckaway uses its default until you fix it.",
    );
  });

  it("says an environment variable is one, and a file that cannot be read is the whole file", () => {
    assert.match(describeProblem(config({ file: "TUCKAWAY_LOG_LEVEL", line: null })), /in the environment variable TUCKAWAY_LOG_LEVEL is wrong/);
    const broken = describeProblem(config({ key: "", allowed: "", message: "cannot read it: Expected '=' (at line 2, column 5)" }));
    assert.match(broken, /^The settings file .*config\.toml, line 3 cannot be used: cannot read it/);
    assert.match(broken, /uses its defaults until you fix it\.$/);
  });

  it("does not repeat allowed values the message already gives", () => {
    const line = describeProblem(config({ message: "must be one of: a, b", allowed: "a, b" }));
    assert.equal(line.match(/a, b/g).length, 1);
  });

  it("gives a damaged database the host's own advice", () => {
    const text = "the database /d/tuckaway.db is damaged (file is not a database). Keep a copy of it; `tuckaway repair` keeps one";
    assert.equal(describeProblem({ kind: "database", file: "/d/tuckaway.db", text }), text);
    assert.match(describeProblem({ kind: "database", file: "/d/t.db", message: "disk I/O error" }), /tuckaway repair/);
  });

  it("lists nothing when hello has no problems, and the host's words for a kind it does not know", () => {
    assert.deepEqual(problemLines({ name: "tuckaway" }), []);
    assert.deepEqual(problemLines(null), []);
    assert.deepEqual(problemLines({ problems: [{ kind: "new", text: "Something new" }] }), ["Something new"]);
  });
});
