"""Joining a league and reading a cohort.

A player joins on their first scored exam of the period: the exam path
(engine.boards.exam_finish) gives `Joining` each exam's total for the period on the
league's board; it finds each player's tier (carried over from the last period they
played, lower after whole periods away), and calls lua/join_league.lua once per tier,
which places new players and writes every total in one atomic step on the tier's slot
({lg:weekly:2026-W48:bronze}). It adds no round trip to an exam: the players' league
records are read in the exam's step 2, the joins sent with its step 3.

The period's tiers index (keys.league_tiers) lists the tiers with cohorts, for the
services that read Redis directly and for a tier the rules no longer list: the close
(engine.leagues.close) and moderation ask every tier the rules list and every tier the
index names, so an index lost alone hides no tier of the rules. A process writes a tier
into it once a period (engine.index_memo), again at most REFRESH_S seconds of engine
time later for a tier it keeps writing totals into (an index lost alone), and again
when join_league.lua answers that it opened the tier's first cohort while this process
thought the tier written (Redis lost the tier and its index): one more round trip then.

A cohort is named "<tier>-<number>" ("bronze-12"); its standings follow the boards' tie
rule: higher totals first, equal totals share a rank, and among them whoever reached
the total first is listed first (and counts as ahead for promotion and relegation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine import index_memo, keys
from engine.calendar import Period, add_periods
from engine.clock import to_ms
from engine.errors import InvalidInputError, NotFoundError, PeriodExpiredError
from engine.leagues import payouts
from engine.leagues.standings import (  # noqa: F401  (re-exported: the cohort's types)
    MULTIPLIER,
    Cohort,
    CohortMember,
    cohort_id,
    cohort_of,
    ranked,
    standings,
)
from engine.rules.leagues import LeagueRules
from engine.runtime import Engine
from engine.scripts import ScriptBatch
from engine.security import rate_limits

TIERS_MEMO = "league_tiers"  # the Engine.memo entry of the tiers indexes written
OPENED = 2  # join_league's "joined" value for the member who opened a tier's first cohort


@dataclass(frozen=True)
class PlayerLeague:
    player_id: str
    period_type: str
    period: str
    ends_at: datetime
    tier: str
    cohort: Cohort | None  # None until the player's first scored exam of the period


MAX_COHORT_NUMBER = 2**63 - 1


def parse_cohort_id(rules: LeagueRules, text: str) -> tuple[str, int]:
    tier, _, number = text.rpartition("-")
    # ASCII digits only (str.isdigit takes "²" and "٣"), without a leading zero (an id
    # has one spelling: "bronze-01" would answer as "bronze-1"), and no more than SQL's
    # BIGINT and Redis's counters hold: such a number is no cohort's, so it is malformed.
    if (
        tier not in rules.tiers
        or not (number.isascii() and number.isdigit())
        or number.startswith("0")
        or not 1 <= int(number) <= MAX_COHORT_NUMBER
    ):
        raise InvalidInputError(
            f"{text!r} is not a cohort id.", {"cohort_id": ['Must look like "bronze-12".']}
        )
    return tier, int(number)


def slot_keys(period_type: str, period: str, tier: str) -> list[str]:
    """The keys of a tier's slot, in the scripts' KEYS order."""
    return [
        keys.league_members(period_type, period, tier),
        keys.league_rosters(period_type, period, tier),
        keys.league_scores(period_type, period, tier),
    ]


def expires_at(engine: Engine, period: Period) -> datetime:
    """Cohorts stay as long as the boards of their period type (rules [leaderboards])."""
    keep = engine.rules.leaderboards.keep(period.period_type)
    return engine.calendar.start(add_periods(period, keep + 1))


def periods_between(earlier: Period, later: Period) -> int:
    """How many periods `later` comes after `earlier` (0: the same period)."""
    if earlier.period_type == "weekly":
        return (later.first_day - earlier.first_day).days // 7
    first, last = earlier.first_day, later.first_day
    return (last.year - first.year) * 12 + last.month - first.month


# Joining ---------------------------------------------------------------------------


class Joining:
    """The league joins of a batch of exams, folded into the exam's own round trips:
    `queue_reads` adds the players' league records to one pipeline, `read` takes their
    replies, and `queue_joins` adds one join_league call per tier (and the records of
    the players who change period, and the tiers index when due) to the next, whose
    replies go to `joined`; `join` runs it in two of its own."""

    def __init__(self, engine: Engine, now: datetime, totals: dict[str, int]) -> None:
        self.engine = engine
        self.now = now
        self.totals = totals  # player -> their total for the period on the league's board
        self.period = engine.calendar.period_of(engine.rules.leagues.period, now)
        self.records: dict[str, dict] = {}
        self.tiers: dict[str, str] = {}
        self.by_tier: dict[str, list[str]] = {}  # tier -> its players, as queued
        self.indexed = index_memo.Registrations()  # the tiers index's write, if queued

    def queue_reads(self, pipe: Any) -> None:
        for player in self.totals:
            pipe.hgetall(keys.player_league(player))

    def read(self, replies: list[Any]) -> None:
        self.records = dict(zip(self.totals, replies, strict=True))
        self.tiers = tiers_for(self.engine, self.period, self.records, self.now)

    def queue_joins(self, batch: ScriptBatch) -> list[str]:
        """Queue the joins; returns the tiers, in the order of their replies."""
        if not self.totals:
            return []
        rules = self.engine.rules.leagues
        period = self.period
        by_tier: dict[str, list[str]] = {}
        for player in self.totals:
            by_tier.setdefault(self.tiers[player], []).append(player)
        now_s = int(self.now.timestamp())
        expiry = int(expires_at(self.engine, period).timestamp())
        for tier, members in by_tier.items():
            args = [rules.cohort_size, MULTIPLIER, expiry, now_s]
            args += [f"{player}|{self.totals[player]}" for player in members]
            batch.call("join_league", slot_keys(rules.period, period.name, tier), args)
        for player, record in self.records.items():
            if _text(record, b"period") != period.name:
                key = keys.player_league(player)
                batch.pipe.hset(key, mapping={"period": period.name, "tier": self.tiers[player]})
        index = keys.league_tiers(rules.period, period.name)
        due = index_memo.memo_of(self.engine, TIERS_MEMO).due(index, by_tier, now_s)
        if due:
            self.indexed.add(index, expiry - now_s, due)
            self.indexed.queue(batch.pipe)
        self.by_tier = by_tier
        return list(by_tier)

    def joined(self, replies: list[Any]) -> None:
        """After the round trip of `queue_joins` (its join_league replies first in
        `replies`): the tiers it wrote into the index are remembered, and a tier whose
        first cohort a join opened without that write is written in one more round trip."""
        memo = index_memo.memo_of(self.engine, TIERS_MEMO)
        now_s = int(self.now.timestamp())
        self.indexed.written(memo, now_s)
        index = keys.league_tiers(self.engine.rules.leagues.period, self.period.name)
        written = self.indexed.members.get(index, ())
        opened = [
            tier
            for tier, reply in zip(self.by_tier, replies, strict=False)
            if OPENED in reply[1::2] and tier not in written
        ]
        if opened:
            again = index_memo.Registrations()
            expiry = int(expires_at(self.engine, self.period).timestamp())
            again.add(index, expiry - now_s, opened)
            pipe = self.engine.redis.pipeline(transaction=False)
            again.queue(pipe)
            pipe.execute()
            again.written(memo, now_s)

    def placed(self, replies: list[Any]) -> dict[str, str]:
        """player -> cohort id, from the join_league replies (first in `replies`); a
        player in no cohort (their join landed once the period's close had begun) has
        none."""
        placed: dict[str, str] = {}
        for (tier, members), reply in zip(self.by_tier.items(), replies, strict=False):
            for player, number in zip(members, reply[0::2], strict=True):
                if int(number):
                    placed[player] = cohort_id(tier, int(number))
        return placed


def join(engine: Engine, now: datetime, totals: dict[str, int]) -> dict[str, str]:
    """Place each player (player -> total for the current period) in a cohort of their
    tier, or raise their score in the one they joined; returns player -> cohort id."""
    joining = Joining(engine, now, totals)
    pipe = engine.redis.pipeline(transaction=False)
    joining.queue_reads(pipe)
    joining.read(pipe.execute())
    batch = engine.scripts.batch()
    joining.queue_joins(batch)
    replies = batch.execute()
    joining.joined(replies)
    return joining.placed(replies)


def tiers_for(
    engine: Engine, period: Period, records: dict[str, dict], now: datetime
) -> dict[str, str]:
    """Each player's tier in `period`, from their league record: the tier they joined
    it in; else the tier the last period they played gave them (its close's `next`, or
    its final standings while it is not closed yet), lower by `absent_drop` for each
    whole period they missed; new players start at the lowest tier.

    Final standings not closed yet are ranked as the close will rank them: without the
    players it skips (engine.leagues.payouts.skipped_if_closed_now: those its first run
    fixed, or before it, those banned now), who keep their tier. A player who starts
    the next period before the close runs then plays it in the tier the close gives
    them (the close's later record of it names a period their record has left)."""
    rules = engine.rules.leagues
    tiers: dict[str, str] = {}
    unclosed: dict[str, tuple[Period, str]] = {}
    for player, record in records.items():
        played = _text(record, b"period")
        tier = _text(record, b"tier")
        if played is None or tier is None:
            tiers[player] = rules.tiers[0]
            continue
        last = engine.calendar.parse(rules.period, played)
        gap = periods_between(last, period)
        if gap <= 0:
            tiers[player] = tier if tier in rules.tiers else rules.tiers[0]
        elif (closed := _closed_tier(record, played)) is not None:
            tiers[player] = rules.after_absence(closed, gap - 1)
        else:
            unclosed[player] = (last, tier)
    # Before their last period's close: its final standings, read in one round trip
    known = {p: lt for p, lt in unclosed.items() if lt[1] in rules.tiers}
    batch = engine.scripts.batch()
    for player, (last, tier) in known.items():
        batch.call("read_cohort", slot_keys(last.period_type, last.name, tier), ["player", player])
    replies = dict(zip(known, batch.execute() if known else [], strict=True))
    standings_of: dict[str, Cohort] = {}
    for player, (last, tier) in known.items():
        found = cohort_of(rules, last, tier, replies[player])
        if found is not None:
            standings_of[player] = found
    members: dict[Period, set[str]] = {}  # period -> members of the standings read
    for player, standing in standings_of.items():
        members.setdefault(unclosed[player][0], set()).update(m.player_id for m in standing.members)
    skipped = {  # period -> the players of those members its close skips
        last: payouts.skipped_if_closed_now(
            engine, payouts.league_payout(last.period_type, last.name), to_ms(now), among
        )
        for last, among in members.items()
    }
    for player, (last, tier) in unclosed.items():
        absent = periods_between(last, period) - 1
        standing = standings_of.get(player)
        if standing is None:
            tiers[player] = rules.after_absence(tier, absent)
            continue
        banned = skipped[last]
        if player in banned:  # the close keeps them in their tier
            following = tier
        else:  # zoned as the close will zone them: without the players it skips
            zoned = cohort_of(rules, last, tier, replies[player], banned)
            zone = next(m.zone for m in zoned.members if m.player_id == player)
            following = rules.tier_after(tier, zone)
        tiers[player] = rules.after_absence(following, absent)
    return tiers


def _closed_tier(record: dict, played: str) -> str | None:
    """The next tier the close of `played` recorded ("<period>|<tier>"), if it did."""
    closed, _, tier = (_text(record, b"next") or "").partition("|")
    return tier if closed == played and tier else None


def _text(record: dict, field: bytes) -> str | None:
    value = record.get(field)
    return value.decode() if value is not None else None


# Reading ---------------------------------------------------------------------------


def read_cohort(
    engine: Engine, period: Period, tier: str, *, player: str | None = None, number: int = 0
) -> Cohort | None:
    """The cohort of `player` in the tier, or cohort `number`; None if there is none.
    Its zones are where the period's close would move each member if it ran now: the
    members it would skip (engine.leagues.payouts.skipped_if_closed_now: banned now, or
    those its first run fixed) have none, and the others are zoned without them, as
    the close ranks them (one more round trip)."""
    by, name = ("player", player) if player is not None else ("cohort", number)
    reply = engine.scripts.read_cohort(slot_keys(period.period_type, period.name, tier), [by, name])
    if not reply:
        return None
    payout = payouts.league_payout(period.period_type, period.name)
    now_ms = to_ms(engine.clock.now())
    members = [player_id.decode() for player_id in reply[1::2]]
    skipped = payouts.skipped_if_closed_now(engine, payout, now_ms, members)
    return cohort_of(engine.rules.leagues, period, tier, reply, skipped)


def cohort(engine: Engine, period_name: str, cohort_text: str) -> Cohort:
    """Cohort `cohort_text` ("bronze-12") of a period. A closed cohort Redis no longer
    holds is read from its close's SQL rows (engine.leagues.results).

    Raises:
        InvalidInputError: a bad period or cohort id, or a period not started yet.
        PeriodExpiredError: the period is no longer kept (its boards' retention).
        NotFoundError: no such cohort in a period that is kept.

    The period's checks and their errors are the boards' (engine.boards.resolve), so
    the cohort route answers a period as the boards' routes do."""
    rules = engine.rules.leagues
    period = engine.calendar.parse(rules.period, period_name)
    tier, number = parse_cohort_id(rules, cohort_text)
    now = engine.clock.now()
    if period.first_day > engine.calendar.period_of(rules.period, now).first_day:
        raise InvalidInputError(
            f"The {period.period_type} period {period.name} has not started.",
            {"period": ["Must not be in the future."]},
        )
    if expires_at(engine, period) <= now:
        raise PeriodExpiredError(
            f"The {period.period_type} period {period.name} is no longer kept.",
            {"period": period.name, "kept": engine.rules.leaderboards.keep(period.period_type)},
        )
    found = read_cohort(engine, period, tier, number=number)
    if found is None:
        from engine.leagues import results  # it imports this module

        found = results.closed_cohort(engine, period, tier, number)
    if found is None:
        raise NotFoundError(f"No cohort {cohort_text!r} in {period_name}.", {})
    return found


def player_league(
    engine: Engine, player_id: str, now: datetime, group: str | None = None
) -> PlayerLeague:
    """The player's league in the current period: their tier, and their cohort's
    standings once they have played (three round trips: the record, the cohort, the
    bans of its members). With `group`, the read counts in
    the player's rate limit of that group (engine.security.rate_limits.read_player).

    Raises:
        RateLimitedError: the player's window of `group` is full.
    """
    rules = engine.rules.leagues
    period = engine.calendar.period_of(rules.period, now)
    (raw,) = rate_limits.read_player(engine, player_id, group, [keys.player_league(player_id)])
    record = dict(zip(raw[::2], raw[1::2], strict=True))
    tier = tiers_for(engine, period, {player_id: record}, now)[player_id]
    found = None
    if _text(record, b"period") == period.name:
        found = read_cohort(engine, period, tier, player=player_id)
    return PlayerLeague(
        player_id, rules.period, period.name, engine.calendar.end(period), tier, found
    )
