"""Rebuild: restore Redis from SQL after Redis was lost.

What comes back: wallets (streak freezes held among them: a wallet resource; the ledger
history stays in SQL, where the API reads what Redis does not hold), leaderboards and
aggregates of the retained periods, battle-pass progress, streaks (with a break that may
still be bought back, and a zoned claim's day ends), the idempotency records of recent
requests and exam attempts (so a client retrying a request made before the loss is
answered, not counted again), the settings, each player's time zone, each
league player's record as the last close they took part in left it (so their next join
lands in the tier they carried over, lower after whole periods away, by the same rule as
without the loss), and the cohorts of the league periods not closed yet (each player who
scored in one joins it again, in their tier, with their total). What cannot come back is
what had not been persisted yet: the changes made in the last persist interval before
Redis died (see the README's data-loss window).

What SQL does not hold, so a rebuild does not restore:
- a day's counters (the daily hash: bonus claimed, ads watched, mission progress,
  earnings towards the caps): they live one game day; the streak's `last_day` comes back,
  so a bonus claimed that day is not paid twice, but the day's mission progress starts
  again from nothing;
- who shared a cohort with whom in a period not closed yet (the cohorts are formed again
  in the order the players reached their totals), and the `closed` markers of closed
  periods (their cohorts are read from league_results; a rerun of league_close over such
  a period finds no cohort in Redis and changes nothing);
- rate-limit windows and the refusals' idempotency records.

Progress is reported through `progress(step, done, total)` for large restores.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select

from engine import boards, db, keys, leagues
from engine.boards import Board, exam_record
from engine.calendar import add_periods
from engine.clock import to_ms
from engine.leagues import close
from engine.leagues.cohorts import periods_between
from engine.ops import persistence
from engine.progression import timezones
from engine.runtime import Engine

CHUNK = 5_000
Progress = Callable[[str, int, int], None]


def _quiet(step: str, done: int, total: int) -> None:
    return None


def rebuild(engine: Engine, progress: Progress = _quiet) -> dict[str, int]:
    """Write SQL's record back into Redis. Safe to run twice (every write is absolute)."""
    counts = {
        "wallets": _wallets(engine, progress),
        "ledger_entries": _ledger(engine, progress),
        "board_entries": _leaderboards(engine, progress),
        "battle_passes": _battle_passes(engine, progress),
        "streaks": _streaks(engine, progress),
        "exam_attempts": _exam_attempts(engine, progress),
        "settings": _settings(engine, progress),
        "timezones": _timezones(engine, progress),
        "league_records": _league_records(engine, progress),
        "league_players": _league_cohorts(engine, progress),
    }
    return counts


def _count(engine: Engine, table, where=None) -> int:
    from sqlalchemy import func

    query = select(func.count()).select_from(table)
    if where is not None:
        query = query.where(where)
    with engine.sql.connect() as conn:
        return conn.execute(query).scalar_one()


def _stream(engine: Engine, query):
    with engine.sql.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(query)
        yield from result.mappings().partitions(CHUNK)


def _wallets(engine: Engine, progress: Progress) -> int:
    total = _count(engine, db.user_resources)
    done = 0
    players = set()
    query = select(db.user_resources).order_by(db.user_resources.c.player_id)
    for rows in _stream(engine, query):
        pipe = engine.redis.pipeline(transaction=False)
        for row in rows:
            pipe.hset(keys.wallet(row["player_id"]), row["resource"], row["balance"])
            players.add(row["player_id"])
        pipe.execute()
        done += len(rows)
        progress("wallets", done, total)
    return len(players)


def _ledger(engine: Engine, progress: Progress) -> int:
    """The idempotency records of recent requests, from the ledger rows; and each shard
    outbox's last ID raised to the newest transaction id of its players, so the next
    change's id (an outbox ID) still follows every id in SQL. The ledger itself stays in
    SQL: the API reads the pages Redis does not hold from there (engine.economy.ledger).
    """
    table = db.user_resource_logs
    total = _count(engine, table)
    done = 0
    cutoff = to_ms(engine.clock.now()) - engine.idempotency_ttl_seconds * 1000
    newest: dict[str, tuple[int, int]] = {}  # outbox -> the newest transaction id in it
    query = select(table).order_by(table.c.player_id, table.c.at_ms, table.c.id)
    for rows in _stream(engine, query):
        pipe = engine.redis.pipeline(transaction=False)
        for row in rows:
            outbox = keys.player_outbox(row["player_id"])
            ms, _, seq = row["transaction_id"].partition("-")
            newest[outbox] = max(newest.get(outbox, (0, 0)), (int(ms), int(seq)))
            if row["fingerprint"] and row["at_ms"] >= cutoff and "/" in row["ref"]:
                route, key = row["ref"].split("/", 1)
                outcome = json.dumps(
                    {
                        "fp": row["fingerprint"],
                        "code": 0,
                        "tx": row["transaction_id"],
                        "at": row["at_ms"],
                        "deltas": json.loads(row["deltas"]),
                        "balances": json.loads(row["balances_after"]),
                    },
                    separators=(",", ":"),
                )
                remaining = max(1, (row["at_ms"] - cutoff) // 1000)
                pipe.set(
                    keys.idempotency(row["player_id"], route, key), outcome, ex=remaining, nx=True
                )
        pipe.execute()
        done += len(rows)
        progress("ledger", done, total)
    _raise_outbox_ids(engine, newest)
    return done


def _raise_outbox_ids(engine: Engine, newest: dict[str, tuple[int, int]]) -> None:
    """An entry added at the newest id and deleted in the same MULTI leaves the stream's
    last ID there, unseen by any reader (XSETID does the same, but not on every server
    the tests use); an outbox already past that id refuses the XADD and keeps its own."""
    for outbox, (ms, seq) in newest.items():
        pipe = engine.redis.pipeline(transaction=True)
        pipe.xadd(outbox, {"type": "id"}, id=f"{ms}-{seq}")
        pipe.xdel(outbox, f"{ms}-{seq}")
        for reply in pipe.execute(raise_on_error=False):
            if isinstance(reply, Exception) and "equal or smaller" not in str(reply):
                raise reply


def _leaderboards(engine: Engine, progress: Progress) -> int:
    """Boards and aggregates back from SQL. Each board's players come in the order they
    reached their totals (SQL keeps the second; within one second, by player id) and
    take their places behind each other as update_board.lua would have placed them."""
    table = db.quiz_leaderboard_aggregates
    total = _count(engine, table)
    done = restored = 0
    query = select(table).order_by(
        table.c.period_type,
        table.c.period,
        table.c.category,
        table.c.total_score,
        table.c.reached_s,
        table.c.player_id,
    )
    periods: dict[tuple[str, str], tuple] = {}  # (type, name) -> (period, ttl)
    places: dict[str, tuple[int, int]] = {}  # scores key -> (ranked total, next place)
    for rows in _stream(engine, query):
        pipe = engine.redis.pipeline(transaction=False)
        expiring: dict[str, int] = {}  # key -> ttl, set once a chunk
        scores: dict[str, dict[str, int]] = {}
        stored: dict[str, dict[str, str]] = {}
        for row in rows:
            done += 1
            period_id = (row["period_type"], row["period"])
            if period_id not in periods:
                period = engine.calendar.parse(*period_id)
                periods[period_id] = (period, boards.seconds_to_expiry(engine, period))
            period, ttl = periods[period_id]
            if ttl <= 0:
                continue  # past its retention: it would have expired anyway
            category = row["category"]
            board = Board(row["period_type"], period, None if category == "global" else category)
            total_score = row["total_score"]
            ranked = min(total_score, boards.CAP)
            held, place = places.get(board.scores_key, (ranked, 0))
            place = place if held == ranked else 0
            places[board.scores_key] = (ranked, place + 1)
            composite = boards.composite(total_score, place)
            stats = keys.player_board_stats(row["player_id"], row["period_type"], row["period"])
            sums = boards.Sums(
                total_score,
                row["exams_taken"],
                row["questions"],
                row["correct_answers"],
                row["reached_s"],
            )
            pipe.hset(stats, category, sums.text())
            expiring[stats] = ttl
            scores.setdefault(board.scores_key, {})[row["player_id"]] = composite
            stored.setdefault(board.aggregates_key, {})[row["player_id"]] = (
                f"{total_score}:{row['exams_taken']}:{row['questions']}:{row['correct_answers']}"
            )
            expiring[board.scores_key] = expiring[board.aggregates_key] = ttl
            if board.category is not None:
                index = keys.board_index(board.period_type, period.name)
                pipe.sadd(index, board.category)
                expiring[index] = ttl
            restored += 1
        for key, members in scores.items():
            pipe.zadd(key, members, gt=True)
        for key, mapping in stored.items():
            pipe.hset(key, mapping=mapping)
        for key, ttl in expiring.items():
            pipe.expire(key, ttl)
        pipe.execute()
        progress("leaderboards", done, total)
    return restored


def _restore_hashes(engine: Engine, progress: Progress, step: str, table, hash_of) -> int:
    """Every row of `table` back into the hash `hash_of(row)` names, with its fields."""
    total = _count(engine, table)
    done = 0
    for rows in _stream(engine, select(table)):
        pipe = engine.redis.pipeline(transaction=False)
        for row in rows:
            key, fields = hash_of(row)
            pipe.hset(key, mapping=fields)
        pipe.execute()
        done += len(rows)
        progress(step, done, total)
    return done


def _battle_passes(engine: Engine, progress: Progress) -> int:
    return _restore_hashes(
        engine,
        progress,
        "battle_pass",
        db.user_battle_pass,
        lambda row: (
            keys.battle_pass(row["player_id"], row["season_id"]),
            {"xp": row["xp"], "rewarded_level": row["rewarded_level"]},
        ),
    )


def _streaks(engine: Engine, progress: Progress) -> int:
    return _restore_hashes(
        engine,
        progress,
        "streaks",
        db.user_streaks,
        lambda row: (
            keys.streak(row["player_id"]),
            {
                "last_day": row["last_day"],
                "streak": row["streak"],
                "best": row["best"],
                **{
                    name: row[name]
                    for name in persistence.STREAK_EXTRAS
                    if row.get(name) is not None
                },
            },
        ),
    )


def _exam_attempts(engine: Engine, progress: Progress) -> int:
    table = db.quiz_exam_attempts
    keep_ms = engine.idempotency_ttl_seconds * 1000  # the records' lifetime
    now_ms = to_ms(engine.clock.now())
    since = now_ms - keep_ms
    total = _count(engine, table, table.c.at_ms >= since)
    done = 0
    query = select(table).where(table.c.at_ms >= since)
    for rows in _stream(engine, query):
        pipe = engine.redis.pipeline(transaction=False)
        for row in rows:
            if not row["summary"]:
                continue  # persisted in the microseconds before its summary: cannot answer
            record = keys.exam(row["player_id"], row["exam_id"])
            summary = exam_record.pack(row["summary"].encode())
            pipe.hset(record, mapping={"fp": row["fingerprint"], "summary": summary})
            pipe.expire(record, max(1, (row["at_ms"] - since) // 1000))
        pipe.execute()
        done += len(rows)
        progress("exam_attempts", done, total)
    return done


def _settings(engine: Engine, progress: Progress) -> int:
    table = db.settings
    with engine.sql.connect() as conn:
        query = select(table).where(table.c.name.not_like(f"{timezones.SQL_PREFIX}%"))
        rows = conn.execute(query).mappings().all()
    today = engine.calendar.game_day(engine.clock.now())
    restored = 0
    for row in rows:
        kind, _, value = row["name"].partition(":")
        if kind == "tool" and value >= (today - timedelta(days=1)).isoformat():
            engine.redis.set(keys.tool_of_day(value), row["value"], ex=3 * 86_400)
            restored += 1
        elif kind == "season-archived":
            engine.redis.set(keys.season_archived(value), row["value"])
            restored += 1
    progress("settings", restored, len(rows))
    return restored


def _timezones(engine: Engine, progress: Progress) -> int:
    """Each player's time zone (engine.progression.timezones) from its `settings` row: the
    settings hash with its table of local days, worked out once per zone name."""
    table = db.settings
    where = table.c.name.like(f"{timezones.SQL_PREFIX}%")
    total = _count(engine, table, where)
    done = restored = 0
    fields_of: dict[str, dict[str, str]] = {}
    for rows in _stream(engine, select(table).where(where)):
        pipe = engine.redis.pipeline(transaction=False)
        for row in rows:
            player = row["name"].removeprefix(timezones.SQL_PREFIX)
            name = row["value"]
            if not name:  # cleared: the game calendar
                pipe.delete(keys.settings(player))
                continue
            if name not in fields_of:
                fields_of[name] = timezones.settings_for(engine, name).fields()
            pipe.hset(keys.settings(player), mapping=fields_of[name])
            restored += 1
        pipe.execute()
        done += len(rows)
        progress("timezones", done, total)
    return restored


def _league_records(engine: Engine, progress: Progress) -> int:
    """Each player's league record (engine.leagues.cohorts) as the close of the last
    period they played in left it: that period, their tier in it and the next tier the
    close gave them, from `league_results`. Their next join then lands where it would
    have without the loss: in that next tier, lower by the rules' `absent_drop` for each
    whole period missed since (the same record, read by the same rule). A record that
    already names a later period (the player joined one since) is left as it is."""
    table = db.league_results
    where = table.c.period_type == engine.rules.leagues.period
    total = _count(engine, table, where)
    query = (
        select(table.c.player_id, table.c.period, table.c.tier, table.c.next_tier)
        .where(where)
        .order_by(table.c.player_id, table.c.period)
    )
    done = restored = 0
    latest: dict[str, dict] = {}  # player -> their newest row, for the players of a chunk
    for rows in _stream(engine, query):
        last_player = rows[-1]["player_id"]
        for row in rows:
            latest[row["player_id"]] = row  # ordered by period: the newest stays
        ready = {player: row for player, row in latest.items() if player != last_player}
        restored += _write_league_records(engine, ready)
        latest = {last_player: latest[last_player]}  # may go on in the next chunk
        done += len(rows)
        progress("league_records", done, total)
    return restored + _write_league_records(engine, latest)


def _write_league_records(engine: Engine, rows: dict[str, dict]) -> int:
    if not rows:
        return 0
    rules = engine.rules.leagues
    pipe = engine.redis.pipeline(transaction=False)
    for player in rows:
        pipe.hget(keys.player_league(player), "period")
    held = pipe.execute()
    pipe = engine.redis.pipeline(transaction=False)
    written = 0
    for (player, row), period in zip(rows.items(), held, strict=True):
        closed = engine.calendar.parse(rules.period, row["period"])
        if period is not None:
            played = engine.calendar.parse(rules.period, period.decode())
            if periods_between(closed, played) > 0:
                continue  # joined a later period since: its record is newer
        record = {
            "period": row["period"],
            "tier": row["tier"],
            "next": f"{row['period']}|{row['next_tier']}",
        }
        pipe.hset(keys.player_league(player), mapping=record)
        written += 1
    pipe.execute()
    return written


def _league_cohorts(engine: Engine, progress: Progress) -> int:
    """The cohorts of the league periods not closed yet (the current one, and any that
    ended after the last close), which SQL does not hold: each player with a total on
    the league's board of such a period joins again, in their tier, in the order they
    reached their totals (engine.leagues.cohorts.join). Tiers and scores come back as
    they were; who shares a cohort with whom may differ from before the loss. The
    periods are joined oldest first, so a later period's tiers follow the earlier's
    standings as they would have."""
    rules = engine.rules.leagues
    now = engine.clock.now()
    current = engine.calendar.period_of(rules.period, now)
    with engine.sql.connect() as conn:
        table = db.league_results
        newest = conn.execute(
            select(func.max(table.c.period)).where(table.c.period_type == rules.period)
        ).scalar_one()
    periods = [add_periods(current, -back) for back in range(close.CATCH_UP, -1, -1)]
    if newest is not None:
        last_closed = engine.calendar.parse(rules.period, newest)
        periods = [p for p in periods if periods_between(last_closed, p) > 0]
    table = db.quiz_leaderboard_aggregates
    joined = 0
    for period in periods:
        if engine.redis.exists(keys.league_closed(period.period_type, period.name)):
            continue
        at = min(now, engine.calendar.end(period) - timedelta(seconds=1))
        query = (
            select(table.c.player_id, table.c.total_score)
            .where(
                table.c.period_type == rules.period,
                table.c.period == period.name,
                table.c.category == rules.score,
            )
            .order_by(table.c.reached_s, table.c.player_id)
        )
        for rows in _stream(engine, query):
            totals = {row["player_id"]: row["total_score"] for row in rows}
            leagues.join(engine, at, totals)
            joined += len(totals)
            progress("league_cohorts", joined, joined)
    return joined
