"""keep-larger-amount, in Python: the conflict policy of `plugins/README.md`.

When the hub and a member both changed a row, keep the version with the
larger value in a numeric column (`amount` unless configured). A delete
wins over an update, so a removed row stays removed; ties go to the hub.
"""

from decimal import Decimal

from hubsync_pdk import TAKE_HUB, TAKE_MEMBER, ConfigError, ConflictPolicy, exports


class KeepLargerAmount(ConflictPolicy):
    NAME = "keep-larger-amount"
    VERSION = "0.1.0"
    DESCRIPTION = "Keeps the version with the larger amount; deletes win; ties go to the hub."
    OPTIONS = {"column": "amount"}

    def __init__(self, options):
        super().__init__(options)
        if not options.column:
            raise ConfigError("invalid configuration: option 'column' must name a column")

    def resolve_one(self, conflict):
        hub, member = conflict.hub.row, conflict.member_side.row
        if hub is None:
            return TAKE_HUB
        if member is None:
            return TAKE_MEMBER
        h, m = hub[self.options.column], member[self.options.column]
        # NULL counts as smaller than any number.
        if h is None:
            return TAKE_HUB if m is None else TAKE_MEMBER
        if m is None:
            return TAKE_HUB
        for v in (h, m):
            if not isinstance(v, (int, float, Decimal)) or isinstance(v, bool):
                raise ValueError(f"column {self.options.column!r} is not numeric ({h!r} vs {m!r})")
        return TAKE_MEMBER if m > h else TAKE_HUB


WitWorld, ConflictResolver = exports(KeepLargerAmount)
