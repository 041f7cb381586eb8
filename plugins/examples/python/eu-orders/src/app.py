"""eu-orders, in Python: a column filter with a row predicate.

Members receive only the orders of one region whose amount is at least a
minimum (an order without an amount is not sent), and never the columns
listed as hidden; key columns are always sent.
"""

from decimal import Decimal

from hubsync_pdk import ColumnFilter, ConfigError, exports


class EuOrders(ColumnFilter):
    NAME = "eu-orders"
    VERSION = "0.1.0"
    DESCRIPTION = "Sends one region's orders above a minimum amount, without hidden columns."
    OPTIONS = {"region": "EU", "min_amount": "100", "hidden": ["internal_note"]}

    def __init__(self, options):
        super().__init__(options)
        try:
            self.min_amount = Decimal(options.min_amount)
        except ArithmeticError:
            raise ConfigError(f"invalid configuration: min_amount {options.min_amount!r} is not a number") from None

    def columns(self, table, member):
        return [i for i, c in enumerate(table.columns)
                if i in table.primary_key or c.name not in self.options.hidden]

    def keep_row(self, row, member):
        amount = row.get("amount")
        return row.get("region") == self.options.region and amount is not None and amount >= self.min_amount


WitWorld, RowFilter = exports(EuOrders)
