"""rename-orders, in Python: a schema map that renames a table and a column.

On members the hub's table is called `sales_orders` and its `amount`
column `total` (both configurable); rows keep their positions, so they
pass unchanged both ways.
"""

from hubsync_pdk import ConfigError, SchemaMap, exports, renamed


class RenameOrders(SchemaMap):
    NAME = "rename-orders"
    VERSION = "0.1.0"
    DESCRIPTION = "Renames a table and some of its columns on members."
    OPTIONS = {"table": "sales_orders", "columns": {"amount": "total"}}

    def __init__(self, options):
        super().__init__(options)
        if not all(isinstance(v, str) and v for v in options.columns.values()):
            raise ConfigError("invalid configuration: every new column name must be a non-empty string")

    def map_schema(self, hub_table, member):
        present = {c.name for c in hub_table.columns}
        return renamed(hub_table, name=self.options.table,
                       columns={old: new for old, new in self.options.columns.items() if old in present})


WitWorld, SchemaMapper = exports(RenameOrders)
