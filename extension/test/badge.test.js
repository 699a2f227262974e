import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { BadgeModel, CHECK, COLORS } from "../lib/badge.js";

describe("BadgeModel", () => {
  it("is empty at rest", () => {
    assert.equal(new BadgeModel().view().text, "");
  });

  it("counts writes that wait", () => {
    const badge = new BadgeModel();
    badge.started();
    badge.started();
    assert.equal(badge.view().text, "2");
    badge.succeeded();
    assert.equal(badge.view().text, "1");
  });

  it("shows a check when the last write succeeds, until the moment passes", () => {
    const badge = new BadgeModel();
    badge.started();
    badge.succeeded();
    assert.equal(badge.view().text, CHECK);
    badge.flashDone();
    assert.equal(badge.view().text, "");
  });

  it("shows ! after a failure until a write succeeds", () => {
    const badge = new BadgeModel();
    badge.started();
    badge.failedWrite();
    assert.equal(badge.view().text, "!");
    badge.started();
    assert.equal(badge.view().text, "1");
    badge.succeeded();
    assert.equal(badge.view().text, CHECK);
  });

  it("caps the count at 99+", () => {
    const badge = new BadgeModel();
    for (let i = 0; i < 120; i += 1) badge.started();
    assert.equal(badge.view().text, "99+");
  });

  it("settles a write by its outcome", () => {
    const badge = new BadgeModel();
    badge.started();
    badge.settled("done");
    assert.equal(badge.view().text, CHECK);
    badge.flashDone();
    badge.started();
    badge.settled("waiting");
    assert.equal(badge.view().text, "", "a write the helper app still holds earns no check mark");
    badge.started();
    badge.settled("failed");
    assert.equal(badge.view().text, "!");
    badge.started();
    badge.settled("waiting");
    assert.equal(badge.view().text, "!", "still waiting does not clear an earlier failure");
  });

  it("keeps the check mark another write just earned when one is handed over", () => {
    const badge = new BadgeModel();
    badge.started();
    badge.started();
    badge.succeeded();
    assert.equal(badge.view().text, "1");
    badge.settled("waiting");
    assert.equal(badge.view().text, CHECK, "the first write succeeded and nothing else waits here");
    badge.flashDone();
    assert.equal(badge.view().text, "");
  });

  it("shows a write's check mark again when one started meanwhile is handed over", () => {
    const badge = new BadgeModel();
    badge.started();
    badge.succeeded();
    assert.equal(badge.view().text, CHECK);
    badge.started();
    assert.equal(badge.view().text, "1");
    badge.handedOver();
    assert.equal(badge.view().text, CHECK);
    badge.flashDone();
    assert.equal(badge.view().text, "");
  });

  it("ends a check mark when a write fails", () => {
    const badge = new BadgeModel();
    badge.started();
    badge.started();
    badge.succeeded();
    badge.failedWrite();
    assert.equal(badge.view().text, "!");
    badge.started();
    badge.handedOver();
    assert.equal(badge.view().text, "!");
  });

  it("shows what the helper app holds when no write of its own waits, with a tooltip", () => {
    const badge = new BadgeModel();
    badge.heldByHost(4);
    assert.equal(badge.view().text, "4");
    assert.match(badge.title(), /4 changes wait to be sent/);
    badge.started();
    assert.equal(badge.view().text, "1", "its own writes first");
    assert.equal(badge.title(), null);
    badge.heldByHost(0);
    badge.succeeded();
    assert.equal(badge.view().text, CHECK);
    assert.equal(badge.title(), null);
  });

  it("says the disk is full until a write goes through or nothing waits", () => {
    const badge = new BadgeModel();
    badge.retrying({ reason: "unavailable" });
    assert.equal(badge.view().text, "");
    badge.retrying({ reason: "disk_full" });
    assert.deepEqual(badge.view(), { text: "full", color: COLORS.error });
    assert.equal(badge.title(), "Your disk is full: Tuckaway will save when there is space.");
    badge.started();
    badge.succeeded();
    assert.equal(badge.view().text, CHECK);
    badge.retrying({ reason: "disk_full" });
    badge.heldByHost(0);
    assert.equal(badge.title(), null);
  });
});
