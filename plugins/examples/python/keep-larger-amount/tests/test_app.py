"""Tests of keep-larger-amount's logic, in CPython: `.venv/bin/python -m pytest`."""

from decimal import Decimal

import pytest

from app import KeepLargerAmount
from hubsync_pdk import TAKE_HUB, TAKE_MEMBER, ColumnType, ConfigError, ConflictBatch, Row, table

ORDERS = table("orders", [("id", ColumnType.INT), ("amount", ColumnType.DECIMAL), ("note", ColumnType.TEXT)])


def pair(i, hub, member):
    return (Row.of(ORDERS, id=i, amount=hub), Row.of(ORDERS, id=i, amount=member))


def test_the_larger_amount_wins_and_deletes_win():
    batch = ConflictBatch.of(ORDERS, "shop-1", [
        pair(1, Decimal("10.00"), "12.50"),
        pair(2, "99.99", "100"),
        pair(3, "7", "7.00"),
        (None, Row.of(ORDERS, id=4, amount="1")),
        (Row.of(ORDERS, id=5, amount="1"), None),
        pair(6, None, "0.01"),
    ])
    decisions = KeepLargerAmount.configure("{}").resolve(batch)
    assert decisions == [TAKE_MEMBER, TAKE_MEMBER, TAKE_HUB, TAKE_HUB, TAKE_MEMBER, TAKE_MEMBER]


def test_the_column_is_configurable_and_checked():
    p = KeepLargerAmount.configure('{"column": "note"}')
    batch = ConflictBatch.of(ORDERS, "shop-1", [(Row.of(ORDERS, id=1, note="a"), Row.of(ORDERS, id=1, note="b"))])
    with pytest.raises(ValueError, match="not numeric"):
        p.resolve(batch)
    with pytest.raises(ConfigError, match="unknown option 'colum'"):
        KeepLargerAmount.configure('{"colum": "amount"}')
    with pytest.raises(ConfigError, match="must be str"):
        KeepLargerAmount.configure('{"column": 3}')
