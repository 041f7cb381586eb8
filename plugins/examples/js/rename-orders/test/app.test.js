// Tests of rename-orders' logic, in Node: `node --test`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { RenameOrders } from "../src/app.js";
import { table } from "../src/hubsync-pdk.js";

const ORDERS = table("orders", [["id", "int"], ["amount", "decimal"]]);

test("the table and a column are renamed", () => {
  const mapped = RenameOrders.configure("{}").mapSchema(ORDERS, "m");
  assert.deepEqual([mapped.name, mapped.columns.map((c) => c.name)], ["sales_orders", ["id", "total"]]);
  assert.deepEqual([...mapped.primaryKey], [0]);
});

test("bad names are refused", () => {
  assert.throws(() => RenameOrders.configure('{"columns": {"amount": ""}}'), /non-empty string/);
});
