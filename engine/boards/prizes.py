"""Period-end prizes on the boards (rules `[leaderboards.prizes]`), paid exactly once.

`close_ended` (the `board_prizes` job, daily after the reset) looks at the ended
periods of every board the rules give prizes to (`_periods_to_close`: every one still
kept that ended after the job first saw the board, however long it was stopped, and
at least the last CATCH_UP), and for each not yet closed:

1. ranks the board's final standings once: its first run reads them live, down to the
   deepest rank with a prize (every player tied at it: equal scores share a rank and
   its prize), and keeps the prized ranks beside the payout, which every later run
   pays and records (keys.payouts_standings); a cheater removed before the close
   (engine.boards.moderation) is no longer on the board, so the next player holds the
   rank and its prize; a player banned when the
   close first ran (engine.leagues.payouts.banned_at_close) stays on the board but is
   skipped the same way: the prize of rank N goes to the N-th player not banned;
2. pays through engine.leagues.payouts, the payer the league close uses: each prize a
   ledger entry of kind `prize` under a key fixed by the board and period, recorded
   per player, so a rerun, or a run killed between payments and run again, pays
   nothing twice;
3. records what it paid: in Redis beside the board (what the closed period's page
   shows, kept as long as the board) and in SQL (`board_prizes`, rows by their key),
   which the page reads instead once Redis has lost its record (`prizes_of`); each
   record keeps the rules' prize and the payment's transaction id, or
   "refused:<code>" for a prize the wallet refused (a balance at the rules' maximum:
   nothing credited, not tried again), which the page shows refused, not paid;
4. marks the board's period closed; a run that finds no mark in Redis but the close's
   rows in SQL (Redis was lost, and a rebuild brought the board back without its mark)
   marks it again and pays nothing.

Every step is safe to repeat. A cheater removed after the close (or after its first
run, stopped midway) takes nothing back and
is paid nothing more: the closed page then lists the others moved up, each with the
prize the close paid them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select

from engine import boards, db, keys
from engine import overrides as settings
from engine.boards import Board, leaderboards
from engine.calendar import add_periods
from engine.clock import from_ms, to_ms
from engine.leagues import payouts
from engine.leagues.results import MemberPrize, PrizeRefused
from engine.rules.board_prizes import board_name
from engine.runtime import Engine

CATCH_UP = 4  # ended periods looked back over at least (those before the board was seen)
SEEN = "board-prizes-seen:"  # the settings row (SQL) of keys.board_prizes_seen
NONE = MemberPrize()  # what a player without a prize on a closed board was given


@dataclass(frozen=True)
class PrizeReport:
    board: str
    period: str
    paid: int  # prizes paid or found paid; 0 when closed before


def close_ended(
    engine: Engine, keep_going: Callable[[], bool] = lambda: True, chunk: int | None = None
) -> list[PrizeReport]:
    """The job: every ended, unclosed period (`_periods_to_close`) of every prized board."""
    now = engine.clock.now()
    reports = []
    for name in engine.rules.leaderboards.prizes.boards:
        period_type, _, category = name.partition(":")
        for period in _periods_to_close(engine, name, period_type, now):
            if not keep_going():
                return reports
            board = Board(period_type, period, None if category == "global" else category)
            report = close(engine, board, now, keep_going, chunk)
            if report is not None:
                reports.append(report)
    return reports


def _periods_to_close(engine: Engine, name: str, period_type: str, now: datetime) -> list:
    """The board's ended periods to look at, oldest first: every one still kept (rules
    `[leaderboards]` keep_*) that ended after the job first saw the board, so a job
    stopped for weeks pays them all once it runs; and the last CATCH_UP in any case.
    Those that ended before the board was seen (rules that name it for the first time)
    are not looked at beyond CATCH_UP: a new prize is not paid for years past."""
    seen = _first_seen(engine, name, now)
    last = add_periods(engine.calendar.period_of(period_type, now), -1)
    back = CATCH_UP - 1
    while back < engine.rules.leaderboards.keep(period_type) and (
        engine.calendar.end(add_periods(last, -(back + 1))) > seen
    ):
        back += 1
    return [add_periods(last, -step) for step in range(back, -1, -1)]


def _first_seen(engine: Engine, name: str, now: datetime) -> datetime:
    """When the job first saw the board among the prized ones: kept in Redis and, for a
    Redis that was lost, in SQL's settings (read back from there, else set to now)."""
    key = keys.board_prizes_seen(name)
    raw = engine.redis.get(key)
    if raw is None and engine.database_url:
        with engine.sql.connect() as conn:
            raw = conn.execute(
                select(db.settings.c.value).where(db.settings.c.name == f"{SEEN}{name}")
            ).scalar()
        if raw is not None:
            engine.redis.set(key, raw, nx=True)
    if raw is None:
        if engine.redis.set(key, to_ms(now), nx=True):
            settings.put(engine, f"{SEEN}{name}", str(to_ms(now)))
        raw = engine.redis.get(key)
    return from_ms(int(raw))


def close(
    engine: Engine,
    board: Board,
    now: datetime,
    keep_going: Callable[[], bool] = lambda: True,
    chunk: int | None = None,
) -> PrizeReport | None:
    """Pay one ended period's prizes of one board once; None if not ended, closed
    before, no longer kept, or stopped before the end (the next run completes it)."""
    name = board_name(board.period_type, board.category)
    period = board.period.name
    if engine.calendar.end(board.period) > now or boards.expires_at(engine, board.period) <= now:
        return None
    closed_key = keys.board_prizes_closed(name, period)
    if engine.redis.exists(closed_key):
        return None
    closed_ms = _closed_in_sql(engine, name, period)
    if closed_ms is not None:  # Redis lost its mark (a rebuild does not bring it back)
        expiry = boards.seconds_to_expiry(engine, board.period)
        engine.redis.set(closed_key, json.dumps({"closed_ms": closed_ms}), ex=max(expiry, 1))
        return None
    payout = f"board:{name}:{period}"
    banned = payouts.banned_at_close(engine, payout, to_ms(now))
    ranked = _standings_at_close(engine, board, name, payout, banned)
    prizes = [
        payouts.Prize(placed.player_id, placed.prize, f"board {name} {period} rank {placed.rank}")
        for placed in ranked
    ]
    paid = payouts.pay(engine, payout, prizes, keep_going, chunk)
    if len(paid) < len(prizes):
        return None
    _record(engine, board, name, ranked, paid, to_ms(now))
    expiry = boards.seconds_to_expiry(engine, board.period)
    engine.redis.set(closed_key, json.dumps({"closed_ms": to_ms(now)}), ex=max(expiry, 1))
    return PrizeReport(name, period, len(paid))


@dataclass(frozen=True)
class Placed:
    """A player whose final rank on a board has a prize."""

    player_id: str
    rank: int
    score: int
    prize: dict[str, int]


def _standings_at_close(
    engine: Engine, board: Board, name: str, payout: str, banned: frozenset[str]
) -> list[Placed]:
    """The players with a prize, ranked at the close's first run and kept beside its
    payout (keys.payouts_standings), so every run of the close pays and records the same
    ranks: a cheater removed from the board between a run stopped midway and the next
    would otherwise move the others up, past the prizes the first run paid."""
    kept = keys.payouts_standings(payout)
    recorded = engine.redis.get(kept)
    if recorded is None:
        rules = engine.rules.leaderboards.prizes
        entries = _ranked_without(_top(engine, board, rules.deepest_rank(name), banned), banned)
        rows = [
            [entry.player_id, entry.rank, entry.score, prize]
            for entry in entries
            if (prize := rules.prize_for(name, entry.rank))
        ]
        pipe = engine.redis.pipeline(transaction=False)
        pipe.set(kept, json.dumps(rows), nx=True, ex=payouts.KEEP_SECONDS)  # two runs: one
        pipe.get(kept)
        recorded = pipe.execute()[1]
    return [Placed(*row) for row in json.loads(recorded)]


def _top(
    engine: Engine, board: Board, deepest: int, banned: frozenset[str]
) -> list[leaderboards.Entry]:
    """The board's top entries down to the first one ranked past `deepest` among the
    players not banned: every player of a rank with a prize, banned players passed
    over, and every player tied at the deepest prized rank (equal scores share a rank,
    so the player listed `deepest + 1`-th may still hold it). Read again, twice as deep,
    until then or the board's end."""
    limit = deepest
    while True:
        entries = leaderboards.top(engine, board, limit=limit).entries
        kept = _ranked_without(entries, banned)
        if len(entries) < limit or (kept and kept[-1].rank > deepest):
            return entries
        limit *= 2


def _ranked_without(
    entries: Sequence[leaderboards.Entry], banned: frozenset[str]
) -> list[leaderboards.Entry]:
    """The entries of players not banned, ranked again among themselves as the board
    ranks (competition ranks from the top of the board: 1, 2, 2, 4)."""
    if not banned:
        return list(entries)
    kept: list[leaderboards.Entry] = []
    rank, last_score = 0, None
    for position, entry in enumerate((e for e in entries if e.player_id not in banned), 1):
        if entry.score != last_score:
            rank, last_score = position, entry.score
        kept.append(replace(entry, rank=rank))
    return kept


def _closed_in_sql(engine: Engine, name: str, period: str) -> int | None:
    """When the close of the board's period recorded its prizes in SQL (step 3), if it
    did: the record is written once every prize is paid, so a close that finds it after
    Redis was lost (its closed mark and paid records with it, while `questboard rebuild`
    brings the board back) pays nothing again, however old the payments are."""
    if not engine.database_url:
        return None
    table = db.board_prizes
    query = select(table.c.paid_ms).where(table.c.board == name, table.c.period == period)
    with engine.sql.connect() as conn:
        return conn.execute(query.limit(1)).scalar()


def _record(
    engine: Engine,
    board: Board,
    name: str,
    ranked: Sequence[Placed],
    paid: dict[str, str],
    closed_ms: int,
) -> None:
    records = {
        placed.player_id: {
            "rank": placed.rank,
            "score": placed.score,
            "prize": placed.prize,
            "transaction_id": paid[placed.player_id],
        }
        for placed in ranked
    }
    if records:
        paid_key = keys.board_prizes(name, board.period.name)
        pipe = engine.redis.pipeline(transaction=False)
        pipe.hset(paid_key, mapping={p: json.dumps(r) for p, r in records.items()})
        pipe.expire(paid_key, max(boards.seconds_to_expiry(engine, board.period), 1))
        pipe.execute()
    if engine.database_url and records:
        rows = [
            {
                "board": name,
                "period": board.period.name,
                "player_id": player,
                "rank": record["rank"],
                "score": record["score"],
                "prize": json.dumps(record["prize"]),
                "transaction_id": record["transaction_id"],
                "paid_ms": closed_ms,
            }
            for player, record in records.items()
        ]
        with engine.sql.begin() as conn:
            db.insert_ignore(conn, db.board_prizes, rows)


def prizes_of(engine: Engine, board: Board, player_ids: Sequence[str]) -> dict[str, MemberPrize]:
    """What the close of a closed period's board gave each player: the prize paid, or
    the prize the wallet refused with the refusal's code (nothing credited), or none.

    Read from the record beside the board in Redis, in one round trip; when Redis no
    longer holds it (lost and rebuilt from SQL), from the close's rows in SQL, for a
    board the rules give prizes to (the others' closed pages never read SQL).
    """
    if not player_ids:
        return {}
    name = board_name(board.period_type, board.category)
    paid_key = keys.board_prizes(name, board.period.name)
    pipe = engine.redis.pipeline(transaction=False)
    pipe.exists(paid_key)
    pipe.hmget(paid_key, list(player_ids))
    recorded, raw = pipe.execute()
    if not recorded and engine.database_url and name in engine.rules.leaderboards.prizes.boards:
        return _prizes_from_sql(engine, name, board.period.name, player_ids)
    found: dict[str, MemberPrize] = {}
    for player, value in zip(player_ids, raw, strict=True):
        record = json.loads(value) if value is not None else None
        found[player] = _prize_of(record["prize"], record["transaction_id"]) if record else NONE
    return found


def _prize_of(prize: dict[str, int], transaction_id: str) -> MemberPrize:
    """A record's prize (the rules') as what the player was paid: a transaction id of
    "refused:<code>" is the wallet's refusal (engine.leagues.payouts.pay)."""
    if transaction_id.startswith(payouts.REFUSED):
        return MemberPrize(
            refused=PrizeRefused(prize, transaction_id.removeprefix(payouts.REFUSED))
        )
    return MemberPrize(paid=prize)


def _prizes_from_sql(
    engine: Engine, name: str, period: str, player_ids: Sequence[str]
) -> dict[str, MemberPrize]:
    table = db.board_prizes
    query = select(table.c.player_id, table.c.prize, table.c.transaction_id).where(
        table.c.board == name, table.c.period == period, table.c.player_id.in_(player_ids)
    )
    with engine.sql.connect() as conn:
        found = {
            row.player_id: _prize_of(json.loads(row.prize), row.transaction_id)
            for row in conn.execute(query)
        }
    return {player: found.get(player, NONE) for player in player_ids}
