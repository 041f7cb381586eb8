// rename-orders, in JavaScript: a schema map that renames a table and a column.
//
// On members the hub's table is called `sales_orders` and its `amount`
// column `total` (both configurable); rows keep their positions, so they
// pass unchanged both ways.

import { ConfigError, SchemaMap, exports, renamed } from "./hubsync-pdk.js";

export class RenameOrders extends SchemaMap {
  static NAME = "rename-orders";
  static VERSION = "0.1.0";
  static DESCRIPTION = "Renames a table and some of its columns on members.";
  static OPTIONS = { table: "sales_orders", columns: { amount: "total" } };

  constructor(options) {
    super(options);
    if (!Object.values(options.columns).every((v) => typeof v === "string" && v !== "")) {
      throw new ConfigError("invalid configuration: every new column name must be a non-empty string");
    }
  }

  mapSchema(hubTable, member) {
    const present = new Set(hubTable.columns.map((c) => c.name));
    const columns = Object.fromEntries(Object.entries(this.options.columns).filter(([old]) => present.has(old)));
    return renamed(hubTable, { name: this.options.table, columns });
  }
}

export const { describe, configure, schemaMapper } = exports(RenameOrders);
