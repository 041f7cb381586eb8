"""hubsync's plugin development kit for Python.

Typed helpers written for the plugin contract (`wit/hubsync-plugin.wit`):
values as Python objects, rows read by column name, decisions, a strict
configuration parser, and one base class per role. A plugin subclasses a
role's class and exports it from `app.py`:

    from hubsync_pdk import ConflictPolicy, TAKE_HUB, TAKE_MEMBER, exports

    class Policy(ConflictPolicy):
        NAME, VERSION, DESCRIPTION = "my-policy", "0.1.0", "Keeps the hub's rows."

        def resolve_one(self, conflict):
            return TAKE_HUB

    WitWorld, ConflictResolver = exports(Policy)

componentize-py builds `app.py` into a component; the same module runs
under CPython for `pytest` (with the bindings `componentize-py bindings`
writes), so a policy's logic is tested like any Python code.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import sys
import traceback
import uuid
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, Iterable, Optional, Sequence

from componentize_py_types import Err
from wit_world.imports import types as wit

__all__ = [
    "ColumnType",
    "Direction",
    "TableSchema",
    "Column",
    "Value",
    "Row",
    "Side",
    "Conflict",
    "ConflictBatch",
    "TAKE_HUB",
    "TAKE_MEMBER",
    "merged",
    "skip",
    "ConfigError",
    "parse_config",
    "to_python",
    "to_value",
    "table",
    "renamed",
    "Plugin",
    "ConflictPolicy",
    "ColumnFilter",
    "SchemaMap",
    "exports",
]

ColumnType = wit.ColumnType
Direction = wit.Direction
TableSchema = wit.TableSchema
Column = wit.Column
Value = wit.Value

_EPOCH_DAY = dt.date(1970, 1, 1)
_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MICROS = dt.timedelta(microseconds=1)


# --- values ---------------------------------------------------------------


def to_python(v: Value) -> Any:
    """A contract value as the Python object a user expects.

    NULL is None; decimal is `decimal.Decimal` (exact); date, time and
    timestamps are `datetime` objects (timestamptz aware, in UTC); uuid is
    `uuid.UUID`; json stays its text (parse it with `json.loads` when
    needed, so nothing is reformatted on the way back).
    """
    if isinstance(v, wit.Value_Null):
        return None
    if isinstance(v, wit.Value_Decimal):
        return decimal.Decimal(v.value)
    if isinstance(v, wit.Value_Date):
        return _EPOCH_DAY + dt.timedelta(days=v.value)
    if isinstance(v, wit.Value_Time):
        secs, micros = divmod(v.value, 1_000_000)
        mins, sec = divmod(secs, 60)
        hour, minute = divmod(mins, 60)
        return dt.time(hour, minute, sec, micros)
    if isinstance(v, wit.Value_Timestamp):
        return _EPOCH + v.value * _MICROS
    if isinstance(v, wit.Value_Timestamptz):
        return _EPOCH_UTC + v.value * _MICROS
    if isinstance(v, wit.Value_Uuid):
        hi, lo = v.value
        return uuid.UUID(int=(hi << 64) | lo)
    return v.value


def _plain(d: decimal.Decimal) -> str:
    if not d.is_finite():
        raise ValueError(f"{d} is not a number a database can store")
    return format(d, "f")


def to_value(x: Any, kind: ColumnType) -> Value:
    """A Python object as a contract value of a column of `kind`.

    Accepts what `to_python` gives back, and the obvious neighbours (an int
    or a str for a decimal, a str for a uuid); anything else is a
    `TypeError` naming the kind.
    """
    if x is None:
        return wit.Value_Null()
    if _is_value(x):
        return x
    try:
        if kind == ColumnType.BOOL and isinstance(x, bool):
            return wit.Value_Bool(x)
        if kind == ColumnType.INT and isinstance(x, int) and not isinstance(x, bool):
            if not -(1 << 63) <= x < (1 << 63):
                raise ValueError(f"{x} does not fit in 64 bits")
            return wit.Value_Int(x)
        if kind == ColumnType.FLOAT and isinstance(x, (int, float)) and not isinstance(x, bool):
            return wit.Value_Float(float(x))
        if kind == ColumnType.DECIMAL and isinstance(x, (decimal.Decimal, int, str)) and not isinstance(x, bool):
            return wit.Value_Decimal(_plain(decimal.Decimal(x)))
        if kind == ColumnType.TEXT and isinstance(x, str):
            return wit.Value_Text(x)
        if kind == ColumnType.BYTES and isinstance(x, (bytes, bytearray)):
            return wit.Value_Bytes(bytes(x))
        if kind == ColumnType.DATE and isinstance(x, dt.date) and not isinstance(x, dt.datetime):
            return wit.Value_Date((x - _EPOCH_DAY).days)
        if kind == ColumnType.TIME and isinstance(x, dt.time):
            return wit.Value_Time(((x.hour * 60 + x.minute) * 60 + x.second) * 1_000_000 + x.microsecond)
        if kind == ColumnType.TIMESTAMP and isinstance(x, dt.datetime) and x.tzinfo is None:
            return wit.Value_Timestamp((x - _EPOCH) // _MICROS)
        if kind == ColumnType.TIMESTAMPTZ and isinstance(x, dt.datetime) and x.tzinfo is not None:
            return wit.Value_Timestamptz((x - _EPOCH_UTC) // _MICROS)
        if kind == ColumnType.UUID and isinstance(x, (uuid.UUID, str)):
            n = (x if isinstance(x, uuid.UUID) else uuid.UUID(x)).int
            return wit.Value_Uuid((n >> 64, n & ((1 << 64) - 1)))
        if kind == ColumnType.JSON:
            return wit.Value_Json(x if isinstance(x, str) else json.dumps(x))
    except (ValueError, decimal.InvalidOperation) as e:
        raise ValueError(f"{x!r} is not a valid {kind.name.lower()} value: {e}") from None
    raise TypeError(f"{type(x).__name__} {x!r} cannot be a {kind.name.lower()} value")


_VALUE_TYPES = tuple(
    getattr(wit, n) for n in dir(wit) if n.startswith("Value_") and isinstance(getattr(wit, n), type)
)


def _is_value(x: Any) -> bool:
    return isinstance(x, _VALUE_TYPES)


# --- tables and rows ------------------------------------------------------


def table(name: str, columns: Sequence[tuple[str, ColumnType]], key: Sequence[str] = ("id",),
          namespace: Optional[str] = None) -> TableSchema:
    """A table schema for tests: `table("orders", [("id", ColumnType.INT), ("amount", ColumnType.DECIMAL)])`."""
    cols = [wit.Column(name=n, kind=k, nullable=n not in key, declared_type=None) for n, k in columns]
    names = [c.name for c in cols]
    missing = [k for k in key if k not in names]
    if missing:
        raise ValueError(f"key columns {missing} are not among the columns {names}")
    return wit.TableSchema(namespace=namespace, name=name, columns=cols, primary_key=[names.index(k) for k in key])


def renamed(t: TableSchema, name: Optional[str] = None, columns: Optional[Mapping[str, str]] = None) -> TableSchema:
    """A copy of `t` with the table and some columns renamed (`columns` maps old to new names)."""
    columns = dict(columns or {})
    unknown = set(columns) - {c.name for c in t.columns}
    if unknown:
        raise ValueError(f"table {t.name} has no column {sorted(unknown)[0]!r}")
    cols = [wit.Column(name=columns.get(c.name, c.name), kind=c.kind, nullable=c.nullable,
                       declared_type=c.declared_type) for c in t.columns]
    return wit.TableSchema(namespace=t.namespace, name=name or t.name, columns=cols, primary_key=list(t.primary_key))


class Row(Mapping):
    """A row read by column name: `row["amount"]` is a Python object (see
    `to_python`); `row.raw("amount")` the contract value; `row.values` the
    positional list the contract carries."""

    __slots__ = ("table", "values", "_index")

    def __init__(self, table: TableSchema, values: Sequence[Value]):
        if len(values) != len(table.columns):
            raise ValueError(f"a row of {table.name} has {len(table.columns)} values, not {len(values)}")
        self.table = table
        self.values = list(values)
        self._index = {c.name: i for i, c in enumerate(table.columns)}

    @classmethod
    def of(cls, table: TableSchema, **columns: Any) -> "Row":
        """A row from Python objects by column name (for tests); missing columns are NULL."""
        unknown = set(columns) - {c.name for c in table.columns}
        if unknown:
            raise KeyError(f"table {table.name} has no column {sorted(unknown)[0]!r}")
        return cls(table, [to_value(columns.get(c.name), c.kind) for c in table.columns])

    def _at(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"table {self.table.name} has no column {name!r} "
                           f"(it has {', '.join(self._index)})") from None

    def __getitem__(self, name: str) -> Any:
        return to_python(self.values[self._at(name)])

    def raw(self, name: str) -> Value:
        """The contract value of a column."""
        return self.values[self._at(name)]

    def __iter__(self):
        return iter(self._index)

    def __len__(self) -> int:
        return len(self.values)

    def replace(self, **changes: Any) -> "Row":
        """A copy with some columns set to new values (Python objects or contract values)."""
        values = list(self.values)
        for name, x in changes.items():
            i = self._at(name)
            values[i] = to_value(x, self.table.columns[i].kind)
        return Row(self.table, values)

    def __repr__(self) -> str:
        return f"Row({self.table.name}, {dict(self)!r})"


# --- conflicts and decisions ----------------------------------------------


class Side:
    """One side's latest change in a conflict."""

    __slots__ = ("row", "changed_at", "origin")

    def __init__(self, row: Optional[Row], changed_at: dt.datetime, origin: str):
        #: The row after the change, or None when it was deleted.
        self.row = row
        #: When the change was recorded (aware, UTC).
        self.changed_at = changed_at
        #: The database the change was first made on.
        self.origin = origin

    @property
    def deleted(self) -> bool:
        """Whether this side deleted the row."""
        return self.row is None

    def __repr__(self) -> str:
        return f"Side(row={self.row!r}, changed_at={self.changed_at.isoformat()}, origin={self.origin!r})"


class Conflict:
    """The same key changed on the hub and on a member since they last synced."""

    __slots__ = ("table", "member", "key", "hub", "member_side")

    def __init__(self, table: TableSchema, member: str, key: dict, hub: Side, member_side: Side):
        self.table, self.member, self.key, self.hub, self.member_side = table, member, key, hub, member_side

    def __repr__(self) -> str:
        return f"Conflict(key={self.key!r}, hub={self.hub!r}, member={self.member_side!r})"


class ConflictBatch:
    """A batch as the contract sends it, read through `Conflict` objects."""

    def __init__(self, batch: wit.ConflictBatch):
        self.raw = batch
        self.table = batch.table
        self.member = batch.member
        key_names = [batch.table.columns[i].name for i in batch.table.primary_key]

        def side(c: wit.Change) -> Side:
            row = Row(batch.table, c.row) if c.row is not None else None
            origin = batch.peers[c.origin] if c.origin < len(batch.peers) else f"peer {c.origin}"
            return Side(row, _EPOCH_UTC + c.changed_at * _MICROS, origin)

        self.conflicts = [
            Conflict(batch.table, batch.member, dict(zip(key_names, map(to_python, c.key))), side(c.hub),
                     side(c.member))
            for c in batch.conflicts
        ]

    @classmethod
    def of(cls, table: TableSchema, member: str, conflicts: Iterable[tuple[Optional[Row], Optional[Row]]],
           hub_at: int = 2, member_at: int = 1) -> "ConflictBatch":
        """A batch for tests: (hub row, member row) pairs, None for a delete.
        Both rows of a pair share the key of whichever is not None."""
        out = []
        for hub, member_row in conflicts:
            some = hub if hub is not None else member_row
            if some is None:
                raise ValueError("a conflict needs at least one row to take its key from")
            key = [some.values[i] for i in table.primary_key]
            out.append(wit.Conflict(
                key=key,
                hub=wit.Change(row=hub.values if hub is not None else None, changed_at=hub_at, origin=0),
                member=wit.Change(row=member_row.values if member_row is not None else None,
                                  changed_at=member_at, origin=1)))
        return cls(wit.ConflictBatch(table=table, member=member, peers=["hub", member], conflicts=out))


TAKE_HUB: wit.Resolution = wit.Resolution_TakeHub()
"""Keep the hub's change (row or delete) everywhere."""
TAKE_MEMBER: wit.Resolution = wit.Resolution_TakeMember()
"""Keep the member's change (row or delete) everywhere."""


def merged(row: Row) -> wit.Resolution:
    """Write this row on both sides (build it with `Row.replace`)."""
    return wit.Resolution_Merged(list(row.values))


def skip(reason: str) -> wit.Resolution:
    """Leave both sides as they are; the reason goes to the sync history."""
    return wit.Resolution_Skip(str(reason))


# --- configuration --------------------------------------------------------


class ConfigError(ValueError):
    """The configuration is wrong; the message says what to fix."""


def parse_config(text: str, defaults: Mapping[str, Any]) -> SimpleNamespace:
    """Parse a JSON object configuration against `defaults` (option -> default).

    Unknown options and values of another type than their default are
    errors that name the option, so a typo never passes silently. A default
    of None accepts any JSON value.
    """
    text = text.strip() or "{}"
    try:
        given = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"invalid configuration: {e.msg} at line {e.lineno} column {e.colno}") from None
    if not isinstance(given, dict):
        raise ConfigError(f"invalid configuration: expected a JSON object, found {type(given).__name__}")
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        known = ", ".join(defaults) or "none"
        raise ConfigError(f"invalid configuration: unknown option {unknown[0]!r} (known options: {known})")
    out = dict(defaults)
    for name, value in given.items():
        d = defaults[name]
        ok = d is None or isinstance(value, type(d)) or (isinstance(d, float) and isinstance(value, int))
        if not ok or (isinstance(value, bool) and not isinstance(d, bool) and d is not None):
            raise ConfigError(
                f"invalid configuration: option {name!r} must be {type(d).__name__}, found {json.dumps(value)}")
        out[name] = value
    return SimpleNamespace(**out)


# --- roles ----------------------------------------------------------------


class Plugin:
    """What every plugin provides. Subclasses set NAME, VERSION, DESCRIPTION
    and OPTIONS (option name -> default); `self.options` holds the parsed
    configuration. Override `__init__` to check it further (raise
    ConfigError)."""

    NAME = "unnamed"
    VERSION = "0.1.0"
    DESCRIPTION = ""
    OPTIONS: Mapping[str, Any] = {}
    ROLE: wit.Role

    def __init__(self, options: SimpleNamespace):
        self.options = options

    @classmethod
    def configure(cls, text: str = "{}") -> "Plugin":
        """Build the plugin from its JSON configuration."""
        return cls(parse_config(text, cls.OPTIONS))


class ConflictPolicy(Plugin):
    """Settles conflicts between hub and member changes."""

    ROLE = wit.Role.CONFLICT_POLICY

    def resolve_one(self, conflict: Conflict) -> wit.Resolution:
        """Settle one conflict: TAKE_HUB, TAKE_MEMBER, merged(row) or skip(reason)."""
        raise NotImplementedError(f"{type(self).__name__} must define resolve_one")

    def resolve(self, batch: ConflictBatch) -> list:
        """Settle a batch, one resolution per conflict in order; the default
        calls `resolve_one` for each. Override it to see the whole batch."""
        return [self.resolve_one(c) for c in batch.conflicts]


class ColumnFilter(Plugin):
    """Chooses the columns and rows of a table that a member receives."""

    ROLE = wit.Role.COLUMN_FILTER

    def columns(self, table: TableSchema, member: str) -> list:
        """Indexes of the columns `member` receives, ascending, keys included; default all."""
        return list(range(len(table.columns)))

    def keep_row(self, row: Row, member: str) -> bool:
        """Whether `row` goes to `member`; default every row."""
        return True


class SchemaMap(Plugin):
    """Renames and retypes a hub table for a member and maps rows both ways."""

    ROLE = wit.Role.SCHEMA_MAP

    def map_schema(self, hub_table: TableSchema, member: str) -> TableSchema:
        """The member-side schema of `hub_table` (see `renamed`)."""
        raise NotImplementedError(f"{type(self).__name__} must define map_schema")

    def map_row(self, hub_table: TableSchema, member: str, direction: Direction, row: list) -> list:
        """Map one positional row; the default passes it unchanged (right
        for renames, which keep positions)."""
        return row

    def map_rows(self, hub_table: TableSchema, member: str, direction: Direction, rows: list) -> list:
        """Map a batch of rows, one out per row in; default calls `map_row`."""
        return [self.map_row(hub_table, member, direction, r) for r in rows]


# --- export ---------------------------------------------------------------


def _error(cls: type, e: BaseException) -> Err:
    """An exception as the contract's error: what was raised and where in
    the plugin's own code (hubsync names the plugin and the call). Must
    never raise itself: an exception escaping an export traps the guest."""
    if isinstance(e, Err):
        return e
    if isinstance(e, ConfigError):
        return Err(str(e))
    where = ""
    try:
        frames = traceback.extract_tb(e.__traceback__)
        # The plugin's own files sit beside the module defining its class.
        home = os.path.dirname(getattr(sys.modules.get(cls.__module__), "__file__", None) or "") + os.sep
        own = [f for f in frames if f.filename.startswith(home) and not f.filename.endswith("hubsync_pdk.py")]
        if own or frames:
            f = (own or frames)[-1]
            where = f" (at {f.filename.rsplit('/', 1)[-1]}:{f.lineno}, in {f.name})"
    except Exception:  # noqa: BLE001 - the location is a courtesy
        pass
    return Err(f"{type(e).__name__}: {e}{where}")


def exports(cls: type):
    """The classes componentize-py exports for a plugin class: assign them
    in `app.py` as `WitWorld, ConflictResolver = exports(MyPolicy)` (or
    `RowFilter` for a column filter, `SchemaMapper` for a schema map)."""
    import wit_world

    state: dict = {}

    def instance():
        p = state.get("plugin")
        if p is None:
            raise Err(f"{cls.NAME} was called before `configure`")
        return p

    class World(wit_world.WitWorld):
        def describe(self) -> wit.Info:
            return wit.Info(name=cls.NAME, version=cls.VERSION, role=cls.ROLE, description=cls.DESCRIPTION)

        def configure(self, config: str) -> None:
            try:
                state["plugin"] = cls.configure(config)
            except Exception as e:  # noqa: BLE001 - every failure becomes the contract's error
                raise _error(cls, e) from None

    if issubclass(cls, ConflictPolicy):
        from wit_world.exports import ConflictResolver as Base

        class Export(Base):
            def resolve(self, batch: wit.ConflictBatch) -> list:
                try:
                    out = instance().resolve(ConflictBatch(batch))
                except Exception as e:  # noqa: BLE001
                    raise _error(cls, e) from None
                if len(out) != len(batch.conflicts):
                    raise Err(f"{cls.NAME}: resolve gave {len(out)} resolutions for {len(batch.conflicts)} conflicts")
                return out

    elif issubclass(cls, ColumnFilter):
        from wit_world.exports import RowFilter as Base

        class Export(Base):
            def columns(self, table: TableSchema, member: str) -> list:
                try:
                    return list(instance().columns(table, member))
                except Exception as e:  # noqa: BLE001
                    raise _error(cls, e) from None

            def filter(self, table: TableSchema, member: str, rows: list) -> list:
                try:
                    p = instance()
                    return [bool(p.keep_row(Row(table, r), member)) for r in rows]
                except Exception as e:  # noqa: BLE001
                    raise _error(cls, e) from None

    elif issubclass(cls, SchemaMap):
        from wit_world.exports import SchemaMapper as Base

        class Export(Base):
            def map_schema(self, hub_table: TableSchema, member: str) -> TableSchema:
                try:
                    return instance().map_schema(hub_table, member)
                except Exception as e:  # noqa: BLE001
                    raise _error(cls, e) from None

            def map_rows(self, hub_table: TableSchema, member: str, direction: Direction, rows: list) -> list:
                try:
                    return list(instance().map_rows(hub_table, member, direction, rows))
                except Exception as e:  # noqa: BLE001
                    raise _error(cls, e) from None

    else:
        raise TypeError(f"{cls.__name__} must subclass ConflictPolicy, ColumnFilter or SchemaMap")
    return World, Export
