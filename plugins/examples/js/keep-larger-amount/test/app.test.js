// Tests of keep-larger-amount's logic, in Node: `npm test`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { KeepLargerAmount } from "../src/app.js";
import { ConflictBatch, Row, TAKE_HUB, TAKE_MEMBER, table } from "../src/hubsync-pdk.js";

const ORDERS = table("orders", [["id", "int"], ["amount", "decimal"], ["note", "text"]]);
const pair = (id, hub, member) => [Row.of(ORDERS, { id, amount: hub }), Row.of(ORDERS, { id, amount: member })];

test("the larger amount wins and deletes win", () => {
  const batch = ConflictBatch.of(ORDERS, "shop-1", [
    pair(1, "10.00", "12.50"),
    pair(2, "99.99", "100"),
    pair(3, "7", "7.00"),
    [null, Row.of(ORDERS, { id: 4, amount: "1" })],
    [Row.of(ORDERS, { id: 5, amount: "1" }), null],
    pair(6, null, "0.01"),
  ]);
  const decisions = KeepLargerAmount.configure("{}").resolve(batch);
  assert.deepEqual(decisions, [TAKE_MEMBER, TAKE_MEMBER, TAKE_HUB, TAKE_HUB, TAKE_MEMBER, TAKE_MEMBER]);
});

test("the column is configurable and checked", () => {
  const p = KeepLargerAmount.configure('{"column": "note"}');
  const batch = ConflictBatch.of(ORDERS, "shop-1", [[Row.of(ORDERS, { id: 1, note: "a" }), Row.of(ORDERS, { id: 1, note: "b" })]]);
  assert.throws(() => p.resolve(batch), /is not a number/);
  assert.throws(() => KeepLargerAmount.configure('{"colum": "amount"}'), /unknown option "colum"/);
  assert.throws(() => KeepLargerAmount.configure('{"column": 3}'), /must be string/);
});
