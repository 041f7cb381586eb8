// The hostile plugin behaves when asked to.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Hostile } from "../src/app.js";
import { ConflictBatch, Row, TAKE_HUB, table } from "../src/hubsync-pdk.js";

const T = table("t", [["id", "int"]]);

test("ok takes the hub", () => {
  const batch = ConflictBatch.of(T, "m", [[Row.of(T, { id: 1 }), Row.of(T, { id: 1 })]]);
  assert.deepEqual(Hostile.configure('{"mode": "ok"}').resolve(batch), [TAKE_HUB]);
});
