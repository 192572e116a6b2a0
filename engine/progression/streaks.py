"""The streak repair a player's streak hash offers: read by the day's state.

The break is noted by lua/include/claim.lua when a claim finds the streak broken
(`lost`, `repair_by` in the streak hash); engine.economy.streak_repair buys it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.clock import from_ms, to_ms
from engine.rules.progression import StreakRepair


@dataclass(frozen=True)
class StreakRepairOffer:
    """A break that may still be bought back: what it costs and until when."""

    lost: int  # the length of the streak lost
    streak: int  # the streak once repaired: lost + the days claimed since the restart
    price: dict[str, int]
    repair_by: datetime


def repair_offer(
    rules: StreakRepair | None, streak_hash: dict[bytes, bytes], now: datetime
) -> StreakRepairOffer | None:
    """The repair the streak hash offers at `now`; None: nothing to buy back (no break,
    repaired, too late, or no repair in the rules)."""
    lost = int(streak_hash.get(b"lost", 0))
    if rules is None or lost <= 0:
        return None
    repair_by = int(streak_hash[b"repair_by"])
    if repair_by < to_ms(now):
        return None
    return StreakRepairOffer(
        lost=lost,
        streak=lost + int(streak_hash.get(b"streak", 0)),
        price={rules.resource: rules.price(lost)},
        repair_by=from_ms(repair_by),
    )
