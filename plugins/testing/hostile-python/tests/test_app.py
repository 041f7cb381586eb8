"""The hostile plugin behaves when asked to."""

from app import Hostile
from hubsync_pdk import TAKE_HUB, ColumnType, ConflictBatch, Row, table

T = table("t", [("id", ColumnType.INT)])


def test_ok_takes_the_hub():
    batch = ConflictBatch.of(T, "m", [(Row.of(T, id=1), Row.of(T, id=1))])
    assert Hostile.configure('{"mode": "ok"}').resolve(batch) == [TAKE_HUB]
