"""Tests of eu-orders' logic, in CPython: `.venv/bin/python -m pytest`."""

import pytest

from app import EuOrders
from hubsync_pdk import ColumnType, ConfigError, Row, table

ORDERS = table("orders", [("id", ColumnType.INT), ("region", ColumnType.TEXT), ("amount", ColumnType.DECIMAL),
                          ("internal_note", ColumnType.TEXT)])


def test_one_region_above_the_minimum_without_hidden_columns():
    f = EuOrders.configure("{}")
    assert f.columns(ORDERS, "m") == [0, 1, 2]
    assert f.keep_row(Row.of(ORDERS, id=1, region="EU", amount="100.00"), "m")
    assert not f.keep_row(Row.of(ORDERS, id=2, region="US", amount="900"), "m")
    assert not f.keep_row(Row.of(ORDERS, id=3, region="EU", amount="99.99"), "m")
    assert not f.keep_row(Row.of(ORDERS, id=4, region="EU"), "m")


def test_options_are_checked():
    assert EuOrders.configure('{"region": "US", "min_amount": "0"}').keep_row(
        Row.of(ORDERS, id=2, region="US", amount="1"), "m")
    with pytest.raises(ConfigError, match="not a number"):
        EuOrders.configure('{"min_amount": "lots"}')
