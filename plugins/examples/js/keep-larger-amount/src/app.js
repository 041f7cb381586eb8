// keep-larger-amount, in JavaScript: the conflict policy of plugins/README.md.
//
// When the hub and a member both changed a row, keep the version with the
// larger value in a numeric column (`amount` unless configured). A delete
// wins over an update, so a removed row stays removed; ties go to the hub.

import { ConfigError, ConflictPolicy, TAKE_HUB, TAKE_MEMBER, compareNumeric, exports } from "./hubsync-pdk.js";

export class KeepLargerAmount extends ConflictPolicy {
  static NAME = "keep-larger-amount";
  static VERSION = "0.1.0";
  static DESCRIPTION = "Keeps the version with the larger amount; deletes win; ties go to the hub.";
  static OPTIONS = { column: "amount" };

  constructor(options) {
    super(options);
    if (!options.column) throw new ConfigError("invalid configuration: option \"column\" must name a column");
  }

  resolveOne(conflict) {
    const hub = conflict.hub.row;
    const member = conflict.memberSide.row;
    if (hub === null) return TAKE_HUB;
    if (member === null) return TAKE_MEMBER;
    const h = hub.raw(this.options.column);
    const m = member.raw(this.options.column);
    // NULL counts as smaller than any number.
    if (h.tag === "null") return m.tag === "null" ? TAKE_HUB : TAKE_MEMBER;
    if (m.tag === "null") return TAKE_HUB;
    return compareNumeric(m, h) > 0 ? TAKE_MEMBER : TAKE_HUB;
  }
}

export const { describe, configure, conflictResolver } = exports(KeepLargerAmount);
