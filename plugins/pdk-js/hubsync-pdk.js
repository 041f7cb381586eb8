// hubsync's plugin development kit for JavaScript.
//
// Typed helpers written for the plugin contract (wit/hubsync-plugin.wit):
// values as JavaScript values, rows read by column name, decisions, a
// strict configuration parser, and one base class per role. A plugin
// extends a role's class and exports it from app.js:
//
//     import { ConflictPolicy, TAKE_HUB, exports } from "./hubsync-pdk.js";
//     class Policy extends ConflictPolicy {
//       static NAME = "my-policy"; static VERSION = "0.1.0";
//       static DESCRIPTION = "Keeps the hub's rows.";
//       resolveOne(conflict) { return TAKE_HUB; }
//     }
//     export const { describe, configure, conflictResolver } = exports(Policy);
//
// componentize-js builds app.js into a component; the same module runs
// under Node for `node --test`. Contract values are plain objects
// ({ tag: "int", val: 5n }), as componentize-js passes them; the types
// jco generates from the contract describe them (types/).

const MICROS_PER_MS = 1000n;

/** Keep the hub's change (row or delete) everywhere. */
export const TAKE_HUB = Object.freeze({ tag: "take-hub" });
/** Keep the member's change (row or delete) everywhere. */
export const TAKE_MEMBER = Object.freeze({ tag: "take-member" });

/** Write this row on both sides (build it with `row.replace`). */
export function merged(row) {
  return { tag: "merged", val: [...row.values] };
}

/** Leave both sides as they are; the reason goes to the sync history. */
export function skip(reason) {
  return { tag: "skip", val: String(reason) };
}

// --- values -------------------------------------------------------------

const pad = (n, w = 2) => String(n).padStart(w, "0");

/**
 * A contract value as the JavaScript value a user expects. Exact where
 * JavaScript can be: int is a BigInt, decimal its text ("12.50": compare
 * with `compareNumeric`), date "YYYY-MM-DD", time "HH:MM:SS.ffffff",
 * timestamps a Date (milliseconds; `row.raw` keeps the microseconds),
 * uuid its text, bytes a Uint8Array, json its text, NULL null.
 */
export function toJs(v) {
  switch (v.tag) {
    case "null":
      return null;
    case "date": {
      const d = new Date(v.val * 86400000);
      return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    }
    case "time": {
      const us = BigInt(v.val);
      const s = Number(us / 1000000n);
      return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}.${pad(Number(us % 1000000n), 6)}`;
    }
    case "timestamp":
    case "timestamptz":
      return new Date(Number(BigInt(v.val) / MICROS_PER_MS));
    case "uuid": {
      const hex = ((BigInt(v.val[0]) << 64n) | BigInt(v.val[1])).toString(16).padStart(32, "0");
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }
    default:
      return v.val;
  }
}

const isValue = (x) => x !== null && typeof x === "object" && typeof x.tag === "string" && !(x instanceof Date);
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)$/;

/**
 * A JavaScript value as a contract value of a column of `kind` (one of
 * the contract's column types). Accepts what `toJs` gives and the obvious
 * neighbours (a number for an int or a decimal, a Date for a date);
 * anything else throws a TypeError naming the kind.
 */
export function toValue(x, kind) {
  if (x === null || x === undefined) return { tag: "null" };
  if (isValue(x)) return x;
  const bad = () => new TypeError(`${typeof x} ${JSON.stringify(String(x))} cannot be a ${kind} value`);
  switch (kind) {
    case "bool":
      if (typeof x === "boolean") return { tag: "bool", val: x };
      break;
    case "int":
      if (typeof x === "bigint" || (typeof x === "number" && Number.isInteger(x))) {
        const n = BigInt(x);
        if (n < -(1n << 63n) || n >= 1n << 63n) throw new RangeError(`${n} does not fit in 64 bits`);
        return { tag: "int", val: n };
      }
      break;
    case "float":
      if (typeof x === "number") return { tag: "float", val: x };
      break;
    case "decimal":
      if (typeof x === "bigint" || (typeof x === "number" && Number.isFinite(x))) return { tag: "decimal", val: String(x) };
      if (typeof x === "string" && DECIMAL.test(x.trim())) return { tag: "decimal", val: x.trim() };
      break;
    case "text":
      if (typeof x === "string") return { tag: "text", val: x };
      break;
    case "bytes":
      if (x instanceof Uint8Array) return { tag: "bytes", val: x };
      break;
    case "date":
      if (x instanceof Date) return { tag: "date", val: Math.floor(x.getTime() / 86400000) };
      if (typeof x === "string" && /^\d{4}-\d\d-\d\d$/.test(x)) return { tag: "date", val: Date.parse(`${x}T00:00:00Z`) / 86400000 };
      break;
    case "time": {
      const m = typeof x === "string" && /^(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?$/.exec(x);
      if (m) {
        const us = ((BigInt(m[1]) * 60n + BigInt(m[2])) * 60n + BigInt(m[3])) * 1000000n + BigInt((m[4] ?? "").padEnd(6, "0"));
        return { tag: "time", val: us };
      }
      break;
    }
    case "timestamp":
    case "timestamptz":
      if (x instanceof Date) return { tag: kind, val: BigInt(x.getTime()) * MICROS_PER_MS };
      break;
    case "uuid":
      if (typeof x === "string" && /^[0-9a-f]{8}-?([0-9a-f]{4}-?){3}[0-9a-f]{12}$/i.test(x)) {
        const n = BigInt(`0x${x.replaceAll("-", "")}`);
        return { tag: "uuid", val: [n >> 64n, n & ((1n << 64n) - 1n)] };
      }
      break;
    case "json":
      return { tag: "json", val: typeof x === "string" ? x : JSON.stringify(x) };
    default:
      throw new TypeError(`unknown column type ${JSON.stringify(kind)}`);
  }
  throw bad();
}

/** Split a decimal's text into sign, integer digits and fraction digits. */
function decimalParts(s) {
  let t = String(s).trim();
  const neg = t.startsWith("-");
  if (neg || t.startsWith("+")) t = t.slice(1);
  let [int, frac = ""] = t.split(".");
  int = int.replace(/^0+/, "");
  frac = frac.replace(/0+$/, "");
  return { neg: neg && (int !== "" || frac !== ""), int, frac };
}

/**
 * Compare two numbers exactly: BigInts, numbers, decimal texts or contract
 * values of int, float or decimal. Returns -1, 0 or 1; throws a TypeError
 * for anything else (NULL included: decide about NULL first).
 */
export function compareNumeric(a, b) {
  const text = (x) => {
    const y = isValue(x) ? (x.tag === "null" ? null : x.val) : x;
    if (typeof y === "bigint") return y.toString();
    if (typeof y === "number" && Number.isFinite(y)) return y.toString().includes("e") ? y.toFixed(20) : y.toString();
    if (typeof y === "string" && DECIMAL.test(y.trim())) return y;
    throw new TypeError(`${JSON.stringify(String(y))} is not a number`);
  };
  const x = decimalParts(text(a));
  const y = decimalParts(text(b));
  if (x.neg !== y.neg) return x.neg ? -1 : 1;
  const sign = x.neg ? -1 : 1;
  if (x.int.length !== y.int.length) return x.int.length < y.int.length ? -sign : sign;
  if (x.int !== y.int) return x.int < y.int ? -sign : sign;
  const w = Math.max(x.frac.length, y.frac.length);
  const fx = x.frac.padEnd(w, "0");
  const fy = y.frac.padEnd(w, "0");
  return fx === fy ? 0 : fx < fy ? -sign : sign;
}

// --- tables and rows ----------------------------------------------------

/** A table schema for tests: table("orders", [["id", "int"], ["amount", "decimal"]]). */
export function table(name, columns, key = ["id"], namespace = undefined) {
  const cols = columns.map(([n, kind]) => ({ name: n, kind, nullable: !key.includes(n), declaredType: undefined }));
  const names = cols.map((c) => c.name);
  const missing = key.filter((k) => !names.includes(k));
  if (missing.length) throw new Error(`key columns ${missing.join(", ")} are not among the columns ${names.join(", ")}`);
  return { namespace, name, columns: cols, primaryKey: key.map((k) => names.indexOf(k)) };
}

/** A copy of `t` with the table and some columns renamed (`columns` maps old to new names). */
export function renamed(t, { name, columns = {} } = {}) {
  for (const old of Object.keys(columns)) {
    if (!t.columns.some((c) => c.name === old)) throw new Error(`table ${t.name} has no column ${JSON.stringify(old)}`);
  }
  return {
    ...t,
    name: name ?? t.name,
    columns: t.columns.map((c) => ({ ...c, name: columns[c.name] ?? c.name })),
    primaryKey: [...t.primaryKey],
  };
}

/** Column name -> position, per table object (computed once, not per row). */
const INDEXES = new WeakMap();
function indexOf(table) {
  let m = INDEXES.get(table);
  if (!m) {
    m = new Map(table.columns.map((c, i) => [c.name, i]));
    INDEXES.set(table, m);
  }
  return m;
}

/** A row read by column name: `row.get("amount")` (see toJs), `row.raw("amount")`, `row.values`. */
export class Row {
  constructor(table, values) {
    if (values.length !== table.columns.length) {
      throw new Error(`a row of ${table.name} has ${table.columns.length} values, not ${values.length}`);
    }
    this.table = table;
    // Not copied: a row wraps the batch's own values (`replace` copies).
    this.values = values;
  }

  /** A row from JavaScript values by column name (for tests); missing columns are NULL. */
  static of(table, columns) {
    for (const n of Object.keys(columns)) {
      if (!indexOf(table).has(n)) throw new Error(`table ${table.name} has no column ${JSON.stringify(n)}`);
    }
    return new Row(table, table.columns.map((c) => toValue(columns[c.name], c.kind)));
  }

  #at(name) {
    const i = indexOf(this.table).get(name);
    if (i === undefined) {
      const all = this.table.columns.map((c) => c.name).join(", ");
      throw new Error(`table ${this.table.name} has no column ${JSON.stringify(name)} (it has ${all})`);
    }
    return i;
  }

  /** Whether the table has this column. */
  has(name) {
    return indexOf(this.table).has(name);
  }

  /** A column's value as a JavaScript value. */
  get(name) {
    return toJs(this.values[this.#at(name)]);
  }

  /** A column's contract value. */
  raw(name) {
    return this.values[this.#at(name)];
  }

  /** A copy with some columns set to new values (JavaScript or contract values). */
  replace(changes) {
    const values = [...this.values];
    for (const [name, x] of Object.entries(changes)) {
      const i = this.#at(name);
      values[i] = toValue(x, this.table.columns[i].kind);
    }
    return new Row(this.table, values);
  }

  /** The row as a plain object of JavaScript values. */
  toObject() {
    return Object.fromEntries(this.table.columns.map((c, i) => [c.name, toJs(this.values[i])]));
  }
}

// --- conflicts ----------------------------------------------------------

/** One side's latest change in a conflict; the row and the time are read when asked for. */
class Side {
  #batch;
  #change;
  #row;
  constructor(batch, change) {
    this.#batch = batch;
    this.#change = change;
  }
  /** The row after the change (a Row), or null when it was deleted. */
  get row() {
    if (this.#row === undefined) {
      const r = this.#change.row;
      this.#row = r === undefined || r === null ? null : new Row(this.#batch.table, r);
    }
    return this.#row;
  }
  /** Whether this side deleted the row. */
  get deleted() {
    return this.#change.row === undefined || this.#change.row === null;
  }
  /** When the change was recorded, µs since the Unix epoch (exact). */
  get changedAtMicros() {
    return BigInt(this.#change.changedAt);
  }
  /** When the change was recorded (a Date: milliseconds). */
  get changedAt() {
    return new Date(Number(this.changedAtMicros / MICROS_PER_MS));
  }
  /** The database the change was first made on. */
  get origin() {
    return this.#batch.peers[this.#change.origin] ?? `peer ${this.#change.origin}`;
  }
}

/** The same key changed on the hub and on a member since they last synced. */
class Conflict {
  #batch;
  #conflict;
  constructor(batch, conflict) {
    this.#batch = batch;
    this.#conflict = conflict;
    this.table = batch.table;
    this.member = batch.member;
    this.hub = new Side(batch, conflict.hub);
    this.memberSide = new Side(batch, conflict.member);
  }
  /** The key as an object of JavaScript values. */
  get key() {
    const t = this.#batch.table;
    return Object.fromEntries([...t.primaryKey].map((i, n) => [t.columns[i].name, toJs(this.#conflict.key[n])]));
  }
}

/**
 * A batch as the contract sends it, read through conflicts with `key`,
 * `hub` and `memberSide`; each side has `row` (a Row, or null when
 * deleted), `deleted`, `changedAt` (a Date), `changedAtMicros` (a BigInt)
 * and `origin`.
 */
export class ConflictBatch {
  constructor(batch) {
    this.raw = batch;
    this.table = batch.table;
    this.member = batch.member;
    this.conflicts = batch.conflicts.map((c) => new Conflict(batch, c));
  }

  /** A batch for tests: [hubRow, memberRow] pairs, null for a delete. */
  static of(table, member, pairs) {
    const conflicts = pairs.map(([hub, mem]) => {
      const some = hub ?? mem;
      if (!some) throw new Error("a conflict needs at least one row to take its key from");
      return {
        key: [...table.primaryKey].map((i) => some.values[i]),
        hub: { row: hub ? hub.values : undefined, changedAt: 2n, origin: 0 },
        member: { row: mem ? mem.values : undefined, changedAt: 1n, origin: 1 },
      };
    });
    return new ConflictBatch({ table, member, peers: ["hub", member], conflicts });
  }
}

// --- configuration ------------------------------------------------------

/** The configuration is wrong; the message says what to fix. */
export class ConfigError extends Error {}

/**
 * Parse a JSON object configuration against `defaults` (option -> default).
 * Unknown options and values of another type than their default are
 * errors that name the option. A default of null accepts any JSON value.
 */
export function parseConfig(text, defaults) {
  let given;
  try {
    given = JSON.parse(String(text ?? "").trim() || "{}");
  } catch (e) {
    throw new ConfigError(`invalid configuration: ${e.message}`);
  }
  if (given === null || typeof given !== "object" || Array.isArray(given)) {
    throw new ConfigError(`invalid configuration: expected a JSON object, found ${JSON.stringify(given)}`);
  }
  const known = Object.keys(defaults);
  const out = { ...defaults };
  for (const [name, value] of Object.entries(given)) {
    if (!known.includes(name)) {
      throw new ConfigError(`invalid configuration: unknown option ${JSON.stringify(name)} (known options: ${known.join(", ") || "none"})`);
    }
    const d = defaults[name];
    const type = (x) => (Array.isArray(x) ? "array" : x === null ? "null" : typeof x);
    if (d !== null && type(d) !== type(value)) {
      throw new ConfigError(`invalid configuration: option ${JSON.stringify(name)} must be ${type(d)}, found ${JSON.stringify(value)}`);
    }
    out[name] = value;
  }
  return out;
}

// --- roles ----------------------------------------------------------------

/**
 * What every plugin provides: static NAME, VERSION, DESCRIPTION and
 * OPTIONS (option -> default); `this.options` holds the parsed
 * configuration. Override the constructor to check it further (throw a
 * ConfigError).
 */
export class Plugin {
  static NAME = "unnamed";
  static VERSION = "0.1.0";
  static DESCRIPTION = "";
  static OPTIONS = {};

  constructor(options) {
    this.options = options;
  }

  /** Build the plugin from its JSON configuration. */
  static configure(text = "{}") {
    return new this(parseConfig(text, this.OPTIONS));
  }
}

/** Settles conflicts between hub and member changes. */
export class ConflictPolicy extends Plugin {
  static ROLE = "conflict-policy";

  /** Settle one conflict: TAKE_HUB, TAKE_MEMBER, merged(row) or skip(reason). */
  resolveOne(conflict) {
    throw new Error(`${this.constructor.name} must define resolveOne`);
  }

  /** Settle a batch, one resolution per conflict in order (default: resolveOne for each). */
  resolve(batch) {
    return batch.conflicts.map((c) => this.resolveOne(c));
  }
}

/** Chooses the columns and rows of a table that a member receives. */
export class ColumnFilter extends Plugin {
  static ROLE = "column-filter";

  /** Indexes of the columns `member` receives, ascending, keys included (default all). */
  columns(table, member) {
    return table.columns.map((_, i) => i);
  }

  /** Whether `row` (a Row) goes to `member` (default every row). */
  keepRow(row, member) {
    return true;
  }
}

/** Renames and retypes a hub table for a member and maps rows both ways. */
export class SchemaMap extends Plugin {
  static ROLE = "schema-map";

  /** The member-side schema of `hubTable` (see `renamed`). */
  mapSchema(hubTable, member) {
    throw new Error(`${this.constructor.name} must define mapSchema`);
  }

  /** Map one positional row ("to-member" or "to-hub"); default unchanged (right for renames). */
  mapRow(hubTable, member, direction, row) {
    return row;
  }

  /** Map a batch of rows, one out per row in (default: mapRow for each). */
  mapRows(hubTable, member, direction, rows) {
    return rows.map((r) => this.mapRow(hubTable, member, direction, r));
  }
}

// --- export ---------------------------------------------------------------

/** An exception as the contract's error: what was thrown and where (hubsync names the plugin and the call). */
function failure(e) {
  if (e instanceof ConfigError) return e.message;
  const own = String(e?.stack ?? "")
    .split("\n")
    .map((l) => /([\w.-]+\.js):(\d+)/.exec(l))
    .filter((m) => m && m[1] !== "hubsync-pdk.js");
  const at = own.length ? ` (at ${own[0][1]}:${own[0][2]})` : "";
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return `${what}${at}`;
}

/**
 * What the component exports for a plugin class; in app.js:
 *   export const { describe, configure, conflictResolver } = exports(MyPolicy);
 * (`rowFilter` for a column filter, `schemaMapper` for a schema map).
 */
export function exports(cls) {
  let plugin = null;
  const guard = (f) => {
    try {
      if (plugin === null) throw new Error(`${cls.NAME} was called before configure`);
      return f(plugin);
    } catch (e) {
      throw failure(e);
    }
  };
  const out = {
    describe: () => ({ name: cls.NAME, version: cls.VERSION, role: cls.ROLE, description: cls.DESCRIPTION }),
    configure: (text) => {
      try {
        plugin = cls.configure(text);
      } catch (e) {
        throw failure(e);
      }
    },
  };
  if (cls.prototype instanceof ConflictPolicy) {
    out.conflictResolver = {
      resolve: (batch) =>
        guard((p) => {
          const decisions = p.resolve(new ConflictBatch(batch));
          if (decisions.length !== batch.conflicts.length) {
            throw new Error(`resolve gave ${decisions.length} resolutions for ${batch.conflicts.length} conflicts`);
          }
          return decisions;
        }),
    };
  } else if (cls.prototype instanceof ColumnFilter) {
    out.rowFilter = {
      columns: (t, member) => guard((p) => Uint32Array.from(p.columns(t, member))),
      filter: (t, member, rows) => guard((p) => rows.map((r) => Boolean(p.keepRow(new Row(t, r), member)))),
    };
  } else if (cls.prototype instanceof SchemaMap) {
    out.schemaMapper = {
      mapSchema: (t, member) => guard((p) => p.mapSchema(t, member)),
      mapRows: (t, member, direction, rows) => guard((p) => p.mapRows(t, member, direction, rows)),
    };
  } else {
    throw new TypeError(`${cls.name} must extend ConflictPolicy, ColumnFilter or SchemaMap`);
  }
  return out;
}
