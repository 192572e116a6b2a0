"""A player's exact aggregates on the boards they play, as Redis keeps them.

One hash a player (engine.keys.board_stats), a field a board: "<period>:<category>" ->
"score:exams:questions:correct:reached" (engine.boards.Sums), for every kept period the
player played, "global" and each category. One hash instead of one a period (the
layout before, engine.keys.player_board_stats): 12 fields of a typical player's week,
month and year in one listpack of about 520 bytes against three of 216 (the key, its
object and the encoding's header once, not three times).

Period names tell their type apart ("2026-W48", "2026-11", "2026": engine.calendar),
so the period's name is the field's whole prefix. lua/record_exams.lua writes the hash,
moves in a period's hash of the earlier layout at the player's first exam of the
period, and drops the fields of periods past their retention then; Redis 7.0 has no
expiry per field, so the hash expires with the longest kept period it holds (the
year's), and a player who stops playing leaves it to expire. Readers take a period's
fields from this hash, or from the earlier layout's hash of the period while one
lives out its TTL (a period the player has not played since the upgrade).
"""

from __future__ import annotations

from collections.abc import Mapping

from engine import keys
from engine.calendar import Period


def field(period: Period, category: str) -> str:
    """The field of one board: its period's name and its category ("global" or one)."""
    return f"{period.name}:{category}"


def earlier_keys(player_id: str, periods: list[Period]) -> list[str]:
    """The hashes the earlier layout kept for these periods, one a period."""
    return [keys.player_board_stats(player_id, p.period_type, p.name) for p in periods]


def of_period(
    stats: Mapping[bytes, bytes], earlier: Mapping[bytes, bytes], period: Period
) -> dict[str, bytes]:
    """One period's sums by category: from the player's stats hash (`stats`, as HGETALL
    answers it), else from the period's hash of the earlier layout (`earlier`)."""
    prefix = f"{period.name}:".encode()
    found = {
        name[len(prefix) :].decode(): value
        for name, value in stats.items()
        if name.startswith(prefix)
    }
    if found:
        return found
    return {name.decode(): value for name, value in earlier.items()}


def pairs(flat: list) -> dict[bytes, bytes]:
    """A flat [field, value, ...] reply (HGETALL through a script) as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))
