// The toolbar's saved sign: lookup once per url (then storage.session), never
// for pages that are not on the web, and a failed lookup changes nothing.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { SAVED_ICON, SAVED_TITLE, SavedState, UNSAVED_TITLE, cacheKey } from "../lib/savedstate.js";
import { storageArea } from "./fakes.js";

function harness(answers) {
  const asked = [];
  const painted = [];
  const session = storageArea();
  const state = new SavedState({
    session,
    request: async (request) => {
      asked.push(request);
      const answer = answers[request.url];
      if (answer instanceof Error) throw answer;
      return answer;
    },
    paint: async (tabId, look) => painted.push([tabId, look.title]),
  });
  return { state, asked, painted, session };
}

describe("saved state on the toolbar", () => {
  it("looks a page up once, then answers from storage.session", async () => {
    const url = "https://e.example/a";
    const { state, asked, painted, session } = harness({ [url]: { saved: true } });
    assert.equal(await state.show(1, url), true);
    assert.equal(await state.show(2, url), true);
    assert.deepEqual(asked, [{ op: "lookup", url }]);
    assert.deepEqual(painted, [[1, SAVED_TITLE], [2, SAVED_TITLE]]);
    assert.equal(session.data[cacheKey(url)], true);
    assert.equal(SAVED_ICON[16], "icons/saved-16.png");
  });

  it("never asks about pages that are not http or https", async () => {
    const { state, asked, painted } = harness({});
    assert.equal(await state.show(3, "chrome://extensions/"), null);
    assert.equal(await state.show(4, undefined), null);
    assert.deepEqual(asked, []);
    assert.deepEqual(painted, [[3, UNSAVED_TITLE], [4, UNSAVED_TITLE]]);
  });

  it("leaves the icon alone when the helper app cannot answer, and asks again later", async () => {
    const url = "https://e.example/b";
    const answers = { [url]: Object.assign(new Error("gone"), { code: "host_unavailable" }) };
    const { state, asked, painted } = harness(answers);
    assert.equal(await state.show(5, url), null);
    assert.deepEqual(painted, []);
    answers[url] = { saved: false };
    assert.equal(await state.show(5, url), false);
    assert.equal(asked.length, 2);
  });

  it("forgets every cached answer after a write", async () => {
    const { state, session } = harness({ "https://e.example/c": { saved: false } });
    await state.show(6, "https://e.example/c");
    await session.set({ other: 1 });
    await state.forget();
    assert.deepEqual(session.data, { other: 1 });
  });
});
