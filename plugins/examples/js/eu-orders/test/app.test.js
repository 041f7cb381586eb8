// Tests of eu-orders' logic, in Node: `node --test`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { EuOrders } from "../src/app.js";
import { Row, table } from "../src/hubsync-pdk.js";

const ORDERS = table("orders", [["id", "int"], ["region", "text"], ["amount", "decimal"], ["internal_note", "text"]]);

test("one region above the minimum, without hidden columns", () => {
  const f = EuOrders.configure("{}");
  assert.deepEqual(f.columns(ORDERS, "m"), [0, 1, 2]);
  assert.equal(f.keepRow(Row.of(ORDERS, { id: 1, region: "EU", amount: "100.00" }), "m"), true);
  assert.equal(f.keepRow(Row.of(ORDERS, { id: 2, region: "US", amount: "900" }), "m"), false);
  assert.equal(f.keepRow(Row.of(ORDERS, { id: 3, region: "EU", amount: "99.99" }), "m"), false);
  assert.equal(f.keepRow(Row.of(ORDERS, { id: 4, region: "EU" }), "m"), false);
});

test("options are checked", () => {
  const us = EuOrders.configure('{"region": "US", "min_amount": "0"}');
  assert.equal(us.keepRow(Row.of(ORDERS, { id: 2, region: "US", amount: "1" }), "m"), true);
  assert.throws(() => EuOrders.configure('{"min_amount": "lots"}'), /not a number/);
});
