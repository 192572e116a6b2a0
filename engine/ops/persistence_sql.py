"""Persist, writing side: one batch of outbox entries into SQL in one transaction.

The ledger rows are inserted by their natural key, then the balances, leaderboard
aggregates, battle pass, streaks, exam attempts and the day's counters of the players
the batch touched (read from Redis in one pipeline) are upserted, and the batch's
webhook events recorded, all in the same transaction (engine.ops.persistence says why
that order loses and doubles nothing).

The day's counters (the daily hashes, engine.keys.daily) are read for the players with
an entry of an activity or an exam (engine.ops.persistence_outbox.DAY_KINDS): every
hash of the days some zone was in when those entries were written, as it is when the
batch is read, so a hash in SQL lags Redis as the rest does, by at most a persist
interval plus a run's time (engine.ops.rebuild says what a change that writes no
outbox entry means for it). A row keeps until its date has ended in every zone, plus
the grace (engine.progression.timezones.kept_until): the expiry the rebuild gives the
hash back, never shorter than the one the live hash had whatever zones the player
moved through, and when the cleanup job removes the row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from engine import boards, db, keys
from engine.boards import exam_record, exam_stats
from engine.clock import from_ms, to_ms
from engine.ops.persistence_outbox import _Batch
from engine.progression import timezones
from engine.progression.battle_pass import level_for
from engine.runtime import Engine
from engine.webhooks import events as webhook_events

XP_KINDS = ("mission_reward", "level_reward")  # rewards that come with battle-pass XP
STREAK_KINDS = ("login_bonus", "streak_repair")  # entries that come with a streak change
# The streak hash's fields kept in user_streaks beside last_day, streak and best, NULL
# when the hash has none: the repair offer and a zoned claim's day ends.
STREAK_EXTRAS = ("lost", "repair_by", "claim_ends", "streak_ends", "claimed_on")
REMOVAL_TRIES = 3  # writes of one batch that removals landing meanwhile may send back


class RemovedWhileWritingError(RuntimeError):
    """Players were taken off the boards during every try at writing one batch."""


class _Overtaken(Exception):
    """A removal from the boards landed between a write's reads and its commit."""


@dataclass
class PersistReport:
    ledger_rows: int = 0
    entries: int = 0
    players: int = 0
    security_events: int = 0
    batches: int = 0
    seconds: float = 0.0
    lag_ms: int | None = None  # age of the oldest entry still waiting, after this run

    @property
    def rows(self) -> int:
        return self.ledger_rows + self.security_events


def _write(engine: Engine, batch: _Batch, report: PersistReport) -> None:
    """One SQL transaction for a batch: the ledger rows and what they changed.

    Balances come from the batch itself (each ledger entry carries the wallet after
    it), only for the resources the batch changed, and a balance is never replaced
    by an older one. Only what the batch can have changed is read from Redis: the
    aggregates of the periods its exams touched, the battle pass of players who
    gained XP, the streak of players who claimed a bonus.

    A player taken off the boards (engine.boards.moderation) between the reads and the
    commit must not get the aggregates read before back into SQL, where a rebuild would
    rank them again. The removal raises the count keys.board_removals after its Redis
    step and deletes the SQL rows after that; the write reads the count before its
    Redis reads and again inside its transaction, after its upserts. A count changed
    means a removal may have come after the reads: the transaction is rolled back and
    the batch read and written again (REMOVAL_TRIES times at most, then
    RemovedWhileWritingError: its entries stay pending for the next run). A count
    unchanged means any removal still to come raises it after the upserts, so its SQL
    delete comes after them too, waits for this transaction's row locks (MariaDB) or
    write lock (SQLite) and deletes what it wrote.
    """
    for _ in range(REMOVAL_TRIES):
        try:
            inserted = _write_once(engine, batch)
        except _Overtaken:
            continue
        report.ledger_rows += inserted
        report.players += len(batch.players)
        return
    raise RemovedWhileWritingError(
        f"players were removed from the boards during each of {REMOVAL_TRIES} writes of "
        "a persist batch; its entries stay pending for the next run"
    )


def _write_once(engine: Engine, batch: _Batch) -> int:
    """One try at `_write`: the ledger rows inserted, or _Overtaken (rolled back)."""
    # Read before the aggregates (its own round trip: on a cluster a pipeline's
    # commands for different nodes run in no set order).
    removals = engine.redis.get(keys.board_removals()) if batch.periods else None
    now_ms = to_ms(engine.clock.now())
    # player -> (outbox position, balances after) of their latest change in the batch
    latest: dict[str, tuple[tuple[int, int], dict]] = {}
    changed: dict[str, set[str]] = {}  # player -> resources changed in this batch
    streak_players = set()
    xp_players = set(batch.periods) | {event["player_id"] for event in batch.events}
    for row, position in zip(batch.ledger, batch.positions, strict=True):
        player = row["player_id"]
        if player not in latest or position >= latest[player][0]:
            latest[player] = (position, json.loads(row["balances_after"]))
        changed.setdefault(player, set()).update(json.loads(row["deltas"]))
        if row["kind"] in STREAK_KINDS:
            streak_players.add(player)
        elif row["kind"] in XP_KINDS:
            xp_players.add(player)
    balances = [
        {
            "player_id": player,
            "resource": resource,
            "balance": latest[player][1][resource],
            # the outbox entry's ms (Redis's time, only ever growing in a stream), not
            # `at`: SQL keeps a row not older, so a later change whose `at` is earlier
            # (a clock set back) still replaces the balance before it
            "updated_ms": latest[player][0][0],
        }
        for player in sorted(changed)
        for resource in sorted(changed[player])
        if resource in latest[player][1]
    ]

    current_season = engine.rules.battle_pass.season_on(
        engine.calendar.game_day(engine.clock.now())
    )
    pipe = engine.redis.pipeline(transaction=False)
    plan: list[tuple[str, str, object]] = []
    for player in sorted(streak_players):
        pipe.hgetall(keys.streak(player))
        plan.append(("streak", player, None))
    for player in sorted(batch.periods):  # the stats hash, then each period's earlier one
        pipe.hgetall(keys.board_stats(player))
        plan.append(("stats", player, None))
        for period in sorted(batch.periods[player]):
            pipe.hgetall(keys.player_board_stats(player, *period))
            plan.append(("period", player, period))
    for player in sorted(xp_players):
        seasons = set(batch.seasons.get(player, ()))
        if current_season is not None:
            seasons.add(current_season.season_id)
        for season in sorted(seasons):
            pipe.hmget(keys.battle_pass(player, season), "xp", "rewarded_level")
            plan.append(("season", player, season))
    _queue_days(engine, batch, pipe, plan)
    replies = pipe.execute() if plan else []
    # The exams' records: (fingerprint, packed summary) in either of their layouts.
    for player, exam_id, at_ms, entry_id, fingerprint in batch.exams:
        plan.append(("exam", player, (exam_id, at_ms, entry_id, fingerprint)))
    replies += exam_record.read(engine.redis, [keys.exam(p, e) for p, e, *_ in batch.exams])

    streaks, aggregates, passes, attempts, attempt_ids, days = [], [], [], [], [], []
    stats: dict[bytes, bytes] = {}  # the player's stats hash, read just before its periods
    xp_per_level = engine.rules.battle_pass.xp_per_level
    for (what, player, target), reply in zip(plan, replies, strict=True):
        if what == "streak" and reply:
            streaks.append(
                {
                    "player_id": player,
                    "last_day": int(reply[b"last_day"]),
                    "streak": int(reply[b"streak"]),
                    "best": int(reply.get(b"best", 0)),
                    "updated_ms": now_ms,
                    **{name: _int_or_none(reply.get(name.encode())) for name in STREAK_EXTRAS},
                }
            )
        elif what == "stats":
            stats = reply
        elif what == "period":
            period = engine.calendar.parse(*target)
            sums = exam_stats.of_period(stats, reply, period)
            aggregates.extend(_aggregate_rows(player, target, sums, now_ms))
        elif what == "season" and reply[0] is not None:
            xp = int(reply[0])
            passes.append(
                {
                    "player_id": player,
                    "season_id": target,
                    "xp": xp,
                    "level": level_for(xp, xp_per_level),
                    "rewarded_level": int(reply[1] or 1),
                    "updated_ms": now_ms,
                }
            )
        elif what == "day" and reply:
            days.append(_day_row(engine, player, target, reply, batch.newest_ms[player]))
        elif what == "exam" and (reply[0] is not None or target[3]):
            # The attempt is persisted from its outbox entry even when its replay
            # record has expired (a persist run more than IDEMPOTENCY_TTL_SECONDS
            # late): then without the summary, which only the record holds.
            exam_id, at_ms, entry_id, fingerprint = target
            attempt_ids.append(entry_id)
            attempts.append(
                {
                    "player_id": player,
                    "exam_id": exam_id,
                    # the outbox's: the record keeps the fingerprint's first 32 digits
                    "fingerprint": fingerprint or reply[0],
                    "summary": exam_record.unpack(reply[1]).decode() if reply[1] else None,
                    "at_ms": at_ms,
                }
            )

    with engine.sql.begin() as conn:
        inserted = db.insert_ignore(conn, db.user_resource_logs, batch.ledger)
        db.upsert(
            conn, db.user_resources, balances, update=["balance", "updated_ms"], newer="updated_ms"
        )
        db.upsert(
            conn,
            db.quiz_leaderboard_aggregates,
            aggregates,
            update=[
                "total_score",
                "exams_taken",
                "questions",
                "correct_answers",
                "reached_s",
                "updated_ms",
            ],
        )
        db.upsert(
            conn,
            db.user_battle_pass,
            passes,
            update=["xp", "level", "rewarded_level", "updated_ms"],
        )
        db.upsert(
            conn,
            db.user_streaks,
            streaks,
            update=["last_day", "streak", "best", "updated_ms", *STREAK_EXTRAS],
        )
        db.upsert(conn, db.quiz_exam_attempts, attempts, update=["summary"])
        db.upsert(
            conn,
            db.user_daily_counters,
            days,
            update=["counters", "expires_at", "updated_ms"],
            newer="updated_ms",
        )
        db.upsert(
            conn,
            db.idempotency_records,
            batch.records,
            update=["record", "created_ms"],
            newer="created_ms",
        )
        # In this transaction: the webhook events of what it persists (engine.webhooks).
        webhook_events.record(conn, _events(batch, attempts, attempt_ids), now_ms)
        if aggregates and engine.redis.get(keys.board_removals()) != removals:
            raise _Overtaken  # after the upserts: see _write
    return inserted


def _queue_days(engine: Engine, batch: _Batch, pipe, plan: list) -> None:
    """Queue the reads of the day's counters: per player whose day the batch may have
    changed, the daily hash of each day some zone was in at their entries
    (engine.progression.timezones)."""
    candidates: dict[int, list[date]] = {}  # second -> the days some zone is in then
    for player in sorted(batch.day_at):
        days: set[date] = set()
        for at_ms in set(batch.day_at[player]):
            second = at_ms // 1000
            if second not in candidates:
                candidates[second] = timezones.candidate_days(engine, from_ms(second * 1000))
            days.update(candidates[second])
        for day in sorted(days):
            pipe.hgetall(keys.daily(player, day.isoformat()))
            plan.append(("day", player, day))


def _day_row(
    engine: Engine, player: str, day: date, counters: dict[bytes, bytes], read_after_ms: int
) -> dict:
    """A user_daily_counters row: the daily hash of `day` with when it may be let go,
    the end of `day` in the last zone it ends in plus the grace (timezones.kept_until):
    not the end in the player's zone at persist time, which a move east since the hash
    was written has shortened, while the hash still lives to the end the earlier zone
    gave it (and a move back west would go on with its counts). Its updated_ms is the
    ms of the player's newest outbox entry the batch holds (the hash was read after it),
    not the run's time: a run after the clock went back is not older than the last."""
    return {
        "player_id": player,
        "day": day.isoformat(),
        "counters": json.dumps(
            {name.decode(): value.decode() for name, value in sorted(counters.items())},
            separators=(",", ":"),
        ),
        "expires_at": timezones.kept_until(engine, day),
        "updated_ms": read_after_ms,
    }


def _int_or_none(value: bytes | None) -> int | None:
    return None if value is None else int(value)


def _events(batch: _Batch, attempts: list[dict], attempt_ids: list[bytes]) -> list:
    """The webhook events of a batch in the order their outbox entries were written (a
    player's entries are in one outbox, so this is the order they happened for each
    player, and the order their deliveries are made)."""
    found = [
        (row["transaction_id"].encode(), webhook_events.from_ledger([row])) for row in batch.ledger
    ]
    found += [(entry["entry_id"], webhook_events.from_outbox([entry])) for entry in batch.events]
    found += [
        (entry_id, webhook_events.from_exams([attempt]))
        for entry_id, attempt in zip(attempt_ids, attempts, strict=True)
    ]
    return webhook_events.in_entry_order(found)


def _aggregate_rows(player: str, period: tuple[str, str], stats: dict, now_ms: int) -> list[dict]:
    rows = []
    for category, text in sorted(stats.items()):  # category -> sums
        sums = boards.Sums.parse(text)
        rows.append(
            {
                "player_id": player,
                "period_type": period[0],
                "period": period[1],
                "category": category,
                "total_score": sums.score,
                "exams_taken": sums.exams,
                "questions": sums.questions,
                "correct_answers": sums.correct,
                "reached_s": sums.reached,
                "updated_ms": now_ms,
            }
        )
    return rows
