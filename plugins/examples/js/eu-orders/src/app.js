// eu-orders, in JavaScript: a column filter with a row predicate.
//
// Members receive only the orders of one region whose amount is at least a
// minimum (an order without an amount is not sent), and never the columns
// listed as hidden; key columns are always sent.

import { ColumnFilter, ConfigError, compareNumeric, exports } from "./hubsync-pdk.js";

export class EuOrders extends ColumnFilter {
  static NAME = "eu-orders";
  static VERSION = "0.1.0";
  static DESCRIPTION = "Sends one region's orders above a minimum amount, without hidden columns.";
  static OPTIONS = { region: "EU", min_amount: "100", hidden: ["internal_note"] };

  constructor(options) {
    super(options);
    if (!/^\d+(\.\d+)?$/.test(options.min_amount)) {
      throw new ConfigError(`invalid configuration: min_amount ${JSON.stringify(options.min_amount)} is not a number`);
    }
  }

  columns(table, member) {
    const keys = [...table.primaryKey];
    return table.columns.map((c, i) => [c, i]).filter(([c, i]) => keys.includes(i) || !this.options.hidden.includes(c.name)).map(([, i]) => i);
  }

  keepRow(row, member) {
    const amount = row.raw("amount");
    return row.get("region") === this.options.region && amount.tag !== "null" && compareNumeric(amount, this.options.min_amount) >= 0;
  }
}

export const { describe, configure, rowFilter } = exports(EuOrders);
