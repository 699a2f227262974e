import assert from "node:assert/strict";
import { test } from "node:test";

import { NEEDED_HOST, compareVersions, helperSteps, hostUpdate, osFamily } from "../options/helper.js";

test("versions compare part by part, not as text", () => {
  assert.equal(compareVersions("0.10.0", "0.9.9"), 1);
  assert.equal(compareVersions("0.1", "0.1.0"), 0);
  assert.equal(compareVersions("0.0.9", "0.1.0"), -1);
});

test("a helper app as new as needed needs no update", () => {
  assert.equal(hostUpdate(NEEDED_HOST), null);
  assert.equal(hostUpdate("9.0.0"), null);
});

test("an older helper app is told to update, with what waits for it", () => {
  const update = hostUpdate("0.0.1");
  assert.match(update.text, /^Update the helper app: this is tuckaway 0\.0\.1/);
  assert.ok(update.text.includes(NEEDED_HOST));
  assert.ok(update.waiting.length > 0);
});

test("every OS gets every step: get the helper app, install --all, doctor", () => {
  for (const os of ["linux", "mac", "win", "openbsd"]) {
    const steps = helperSteps(osFamily(os), "1.2.3");
    assert.equal(steps.length, 3, os);
    assert.ok(steps[0].command.includes("tuckaway-1.2.3-py3-none-any.whl"), os);
    assert.equal(steps[1].command, "tuckaway install --all");
    assert.match(steps[2].text, /tuckaway doctor/);
  }
  assert.match(helperSteps("linux", "1.2.3")[0].text, /install\.sh/);
  assert.match(helperSteps("windows", "1.2.3")[0].command, /^py -m pipx/);
});
