"""Tests of rename-orders' logic, in CPython: `.venv/bin/python -m pytest`."""

import pytest

from app import RenameOrders
from hubsync_pdk import ColumnType, ConfigError, table

ORDERS = table("orders", [("id", ColumnType.INT), ("amount", ColumnType.DECIMAL)])


def test_the_table_and_a_column_are_renamed():
    mapped = RenameOrders.configure("{}").map_schema(ORDERS, "m")
    assert (mapped.name, [c.name for c in mapped.columns]) == ("sales_orders", ["id", "total"])
    assert mapped.primary_key == [0]


def test_bad_names_are_refused():
    with pytest.raises(ConfigError, match="non-empty string"):
        RenameOrders.configure('{"columns": {"amount": ""}}')
