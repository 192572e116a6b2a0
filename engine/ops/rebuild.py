"""Rebuild: restore Redis from SQL after Redis was lost.

What comes back: wallets (streak freezes held among them: a wallet resource; the ledger
history stays in SQL, where the API reads what Redis does not hold), leaderboards and
aggregates of the retained periods, battle-pass progress, streaks (with a break that may
still be bought back, and a zoned claim's day ends), the day's counters (each daily hash
of a date not over in every zone yet: bonus claimed, ads watched, mission progress and
completions, earnings towards the caps, living until that date has ended in every zone,
never shorter than the live hash), the idempotency records of recent requests and exam
attempts (so a client retrying a request made before the loss is answered, not counted
again; those a ledger entry gives back, and those SQL keeps of their own, a webhook
subscription's creation and secret rotation among them), the settings, each player's
time zone, each league player's record as the last close they took part in left it (so
their next join lands in the tier they carried over, lower after whole periods away, by
the same rule as without the loss), and the cohorts of the league periods not closed yet
(each player who scored in one joins it again, in their tier, with their total). What
cannot come back is what had not been persisted yet: the changes made in the last
persist interval before Redis died (see the README's data-loss window).

The day's counters are as the persist job last read them: a hash is read when an entry
of its player's activity or exam is persisted, so it lags Redis as the rest does, by at
most a persist interval plus a run's time. A change to it that writes no outbox entry
(a reward past the balance limit: nothing paid) reaches SQL with the player's next
entry; lost, it only lets the player count that again, never be paid again. An ad whose
reward the earning cap cut to nothing writes its record's entry (it has a key), which
takes the day's counters along.

What SQL does not hold, so a rebuild does not restore:
- who shared a cohort with whom in a period not closed yet (the cohorts are formed again
  in the order the players reached their totals), and the `closed` markers of closed
  periods (their cohorts are read from league_results; a rerun of league_close over such
  a period finds no cohort in Redis and changes nothing);
- the board prizes' closed marks and paid records, which SQL's `board_prizes` rows stand
  for: a rerun of board_prizes over a closed period finds them, marks the period closed
  again and pays nothing (the closed page reads them too);
- rate-limit windows (the records no ledger entry gives back, a refusal's, a keyed
  login's that claimed nothing, an ad's the earning cap paid nothing for, come back
  from idempotency_records, where the persist job wrote their outbox entries; a login
  that claimed the bonus from the bonus's entry).

Progress is reported through `progress(step, done, total)` for large restores.

SQL's copy lags Redis by up to a persist interval, so whatever Redis still holds is as
new as it or newer: a rebuild over a Redis that lost only part of its data (a cluster
that lost some masters' data, keys lost some other way, or a rebuild run again) must
not set it back. Every family that only moves forward is written forward only: a
board's totals, aggregates and places (lua/update_board.lua, the exam path's own rule)
and league scores (lua/join_league.lua); a player's board stats field by field, a
battle pass by its XP, a streak by its last day (lua/restore_forward.lua); the day's
counters (lua/restore_daily_counters.lua); idempotency records only where Redis holds
none; outbox ids only raised; a league record only over an older period's. The
settings and time zones are SQL's own (written there first), exam attempts never
change.

Balances go both ways (a purchase lowers one), so no rule can tell a live wallet from
a stale copy: a rebuild over a wallet would put SQL's balance, up to a persist interval
behind, over the live one. `questboard rebuild` asks `live_wallet` first and refuses
when it finds one. The operator says which loss it was: `--keep-live-wallets` for a
partial one (a cluster that lost some masters' data: a player's keys share one slot,
so a wallet Redis holds was not lost, and only the wallets it lacks are written), or
`--over-live-data` for a Redis that came back older than SQL (restarted from an older
snapshot, or a rebuild interrupted: balances set back to SQL's, the rest kept where
newer). A Redis holding boards, cohorts or other keys but no wallet is rebuilt without
either: what it holds is kept where it is ahead of SQL.

Each step lives with what it restores: engine.ops.rebuild_economy (wallets, ledger),
rebuild_records (the idempotency records SQL keeps of their own),
rebuild_boards (leaderboards, exam attempts), rebuild_progression (battle passes,
streaks, the day's counters, settings, time zones) and rebuild_leagues (league records
and cohorts); they read SQL in chunks through engine.ops.rebuild_sql.
"""

from __future__ import annotations

from engine import connection, keys
from engine.ops.rebuild_boards import _exam_attempts, _leaderboards
from engine.ops.rebuild_economy import _ledger, _wallets
from engine.ops.rebuild_leagues import _league_cohorts, _league_records
from engine.ops.rebuild_progression import (
    _battle_passes,
    _daily_counters,
    _settings,
    _streaks,
    _timezones,
)
from engine.ops.rebuild_records import _idempotency_records
from engine.ops.rebuild_sql import Progress
from engine.runtime import Engine

SCAN_COUNT = 1_000  # keys a SCAN step looks at, on each primary


class RebuildRefusedError(RuntimeError):
    """`questboard rebuild` found Redis holding player data (see `live_wallet`)."""


def live_wallet(engine: Engine) -> str | None:
    """The name of a wallet Redis holds, or None when it holds none (a flushed Redis).

    A wallet is what any player's first balance change writes, and what a rebuild over
    live data would set back. Every primary of a cluster is asked; a live Redis answers
    in its first SCAN step or so, an empty one in one step per primary.
    """
    for found in connection.scan_keys(engine.redis, keys.wallets_pattern(), SCAN_COUNT):
        return found[0].decode()
    return None


def _quiet(step: str, done: int, total: int) -> None:
    return None


def rebuild(
    engine: Engine, progress: Progress = _quiet, keep_live_wallets: bool = False
) -> dict[str, int]:
    """Write SQL's record back into Redis. Safe to run twice, and over what Redis still
    holds: every write but a wallet's only moves forward (see the module); with
    `keep_live_wallets`, a wallet is written only where Redis holds none."""
    counts = {
        "wallets": _wallets(engine, progress, keep_live_wallets),
        "ledger_entries": _ledger(engine, progress),
        "idempotency_records": _idempotency_records(engine, progress),
        "board_entries": _leaderboards(engine, progress),
        "battle_passes": _battle_passes(engine, progress),
        "streaks": _streaks(engine, progress),
        "daily_counters": _daily_counters(engine, progress),
        "exam_attempts": _exam_attempts(engine, progress),
        "settings": _settings(engine, progress),
        "timezones": _timezones(engine, progress),
        "league_records": _league_records(engine, progress),
        "league_players": _league_cohorts(engine, progress),
    }
    return counts
