"""The housekeeping jobs: cleanup, season rollover and reconciliation.

Each is idempotent: running it twice, or late, gives the same end state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import delete, func, select, tuple_

from engine import alerts, connection, db, keys
from engine import overrides as settings
from engine.clock import to_ms
from engine.ops import persistence
from engine.progression import timezones
from engine.progression.battle_pass import level_for
from engine.rules.seasons import ended_recently
from engine.runtime import Engine
from engine.security import bans
from engine.webhooks import retention as webhook_retention

LEDGER_KEEP_DAYS = 30
CHUNK = 5_000
ROLLOVER_LOOKBACK_DAYS = 400  # season rollover archives the seasons that ended this recently


def cleanup(engine: Engine) -> int:
    """Weekly: archive old ledger rows, purge expired ban entries and old security events,
    the day's counters of days that are over (their hashes expired: the end of the day
    plus the grace), and the webhook deliveries and events past their 30 days
    (engine.webhooks.retention); and gives a daily hash left without an expiry the one
    its date needs (`_bound_daily_hashes`).

    Idempotency records and nonces need no purge: they expire by TTL in Redis.
    Returns the rows moved or removed.
    """
    now = engine.clock.now()
    cutoff = to_ms(now - timedelta(days=LEDGER_KEEP_DAYS))
    moved = 0
    columns = [c for c in db.user_resource_logs.c if c.name != "id"]
    while True:
        with engine.sql.begin() as conn:
            ids = [
                row.id
                for row in conn.execute(
                    select(db.user_resource_logs.c.id)
                    .where(db.user_resource_logs.c.at_ms < cutoff)
                    .order_by(db.user_resource_logs.c.id)
                    .limit(CHUNK)
                )
            ]
            if not ids:
                break
            rows = (
                conn.execute(select(*columns).where(db.user_resource_logs.c.id.in_(ids)))
                .mappings()
                .all()
            )
            db.insert_ignore(conn, db.user_resource_logs_archive, [dict(r) for r in rows])
            conn.execute(delete(db.user_resource_logs).where(db.user_resource_logs.c.id.in_(ids)))
            moved += len(ids)

    retention = engine.rules.security.event_retention_days
    event_cutoff = to_ms(now - timedelta(days=retention))
    with engine.sql.begin() as conn:
        purged = conn.execute(
            delete(db.security_events).where(db.security_events.c.at_ms < event_cutoff)
        ).rowcount
    engine.redis.xtrim(keys.security_events(), minid=f"{event_cutoff}-0", approximate=False)
    purged += _purge_daily_counters(engine) + _bound_daily_hashes(engine)
    return moved + purged + bans.purge_expired(engine) + webhook_retention.purge(engine)


def _bound_daily_hashes(engine: Engine) -> int:
    """Give every daily hash without an expiry the latest end its date may have
    (timezones.kept_until: the date over in every zone, plus the grace), or let it go at
    once when that is past. Every writer sets a hash's expiry with its first write; a
    hash without one was left by a defect (a move west of more than a day once left the
    next date's so) and would never go, nor its counts with it. Through
    lua/restore_daily_counters.lua with no fields (Redis 6.2, make run's embedded server,
    has no EXPIRE NX): an expiry a request set meanwhile is only ever extended, and one
    already past removes the hash. Returns the hashes found without an expiry."""
    now_s = to_ms(engine.clock.now()) // 1000
    bounded = 0
    for found in connection.scan_keys(engine.redis, keys.daily_pattern(), CHUNK):
        pipe = engine.redis.pipeline(transaction=False)
        for key in found:
            pipe.ttl(key)
        unbounded = [key for key, ttl in zip(found, pipe.execute(), strict=True) if ttl == -1]
        if not unbounded:
            continue
        batch = engine.scripts.batch()
        for key in unbounded:
            day = date.fromisoformat(key.decode().split(":daily:", 1)[1].split(":", 1)[0])
            batch.call("restore_daily_counters", [key], [timezones.kept_until(engine, day) - now_s])
        batch.execute()
        bounded += len(unbounded)
    return bounded


def _purge_daily_counters(engine: Engine) -> int:
    """The user_daily_counters rows whose hash has expired: a rebuild no longer restores
    them (engine.ops.rebuild_progression), and their day is over everywhere. CHUNK rows a
    transaction, as the ledger's archiving: a week holds a row per player a day played."""
    table = db.user_daily_counters
    now_s = to_ms(engine.clock.now()) // 1000
    removed = 0
    while True:
        with engine.sql.begin() as conn:
            ended = conn.execute(
                select(table.c.player_id, table.c.day)
                .where(table.c.expires_at <= now_s)
                .limit(CHUNK)
            ).all()
            if not ended:
                return removed
            keys_of = [tuple(row) for row in ended]
            conn.execute(delete(table).where(tuple_(table.c.player_id, table.c.day).in_(keys_of)))
            removed += len(ended)


def season_rollover(engine: Engine) -> int:
    """Archive every ended season's battle pass into SQL, then remove its Redis keys.

    The keys are removed only after the archive is committed, in chunks; a run that
    stops half way resumes where it stopped (upserts are repeatable). On a Redis Cluster
    the walk is a SCAN of each primary (engine.connection.scan_keys, which lists a slot
    a reshard moves during the walk again on its new owner). Once a season, so it costs
    no write on the request path, where a per-season index of players would add one to
    every XP change and grow into one big key on one node.
    Seasons recur without end, so it looks at those that ended in the last
    ROLLOVER_LOOKBACK_DAYS: a daily job missed for weeks still catches up.
    """
    today = engine.calendar.game_day(engine.clock.now())
    archived = 0
    ended = ended_recently(engine.rules.battle_pass.calendar, today, ROLLOVER_LOOKBACK_DAYS)
    for season in ended:
        if engine.redis.exists(keys.season_archived(season.season_id)):
            continue
        xp_per_level = engine.rules.battle_pass.xp_per_level
        pattern = keys.battle_pass_pattern(season.season_id)  # one pass for every shard
        # each primary; a slot a reshard moves meanwhile is listed again on its new owner
        for found in connection.scan_keys(engine.redis, pattern, CHUNK):
            archived += _archive_season_keys(engine, season.season_id, found, xp_per_level)
        engine.redis.set(keys.season_archived(season.season_id), to_ms(engine.clock.now()))
        settings.put(engine, f"season-archived:{season.season_id}", str(to_ms(engine.clock.now())))
    return archived


def _archive_season_keys(engine: Engine, season_id: str, found: list, xp_per_level: int) -> int:
    pipe = engine.redis.pipeline(transaction=False)
    for key in found:
        pipe.hmget(key, "xp", "rewarded_level")
    now_ms = to_ms(engine.clock.now())
    rows = []
    for key, (xp, rewarded) in zip(found, pipe.execute(), strict=True):
        player = key.decode().rsplit(":", 1)[1]
        xp = int(xp or 0)
        rows.append(
            {
                "player_id": player,
                "season_id": season_id,
                "xp": xp,
                "level": level_for(xp, xp_per_level),
                "rewarded_level": int(rewarded or 1),
                "archived_ms": now_ms,
            }
        )
    with engine.sql.begin() as conn:
        db.upsert(
            conn,
            db.user_battle_pass_archive,
            rows,
            update=["xp", "level", "rewarded_level", "archived_ms"],
        )
    engine.redis.unlink(*found)
    return len(rows)


@dataclass
class Reconciliation:
    players: int = 0
    differences: list[dict] = field(default_factory=list)


def reconcile(engine: Engine) -> int:
    """Daily: per player, the ledger sum must equal the balance in Redis and in SQL.

    The outbox is drained first, so SQL holds every change made before the check.
    A difference is checked once more after another drain (a change may have landed
    in between); what remains is reported as one alert. Returns the players checked.
    """
    report = _reconcile_once(engine)
    if report.differences:
        suspects = {d["player_id"] for d in report.differences}
        report = _reconcile_once(engine, only=suspects, checked=report.players)
    if report.differences:
        alerts.raise_alert(
            "reconcile_differences",
            f"{len(report.differences)} balances differ from their ledger.",
            {"differences": report.differences[:100], "total": len(report.differences)},
            at=engine.clock.now(),
            webhook_url=engine.alert_webhook_url,
        )
    return report.players


def _reconcile_once(
    engine: Engine, only: set[str] | None = None, checked: int | None = None
) -> Reconciliation:
    persistence.persist(engine)
    report = Reconciliation()
    logs = [db.user_resource_logs, db.user_resource_logs_archive]
    with engine.sql.connect() as conn:
        sums: dict[str, dict[str, int]] = {}
        for table in logs:
            query = select(table.c.player_id, table.c.deltas)
            if only is not None:
                query = query.where(table.c.player_id.in_(sorted(only)))
            for player, totals in persistence.ledger_sums(conn.execute(query)).items():
                merged = sums.setdefault(player, {})
                for resource, amount in totals.items():
                    merged[resource] = merged.get(resource, 0) + amount
        query = select(
            db.user_resources.c.player_id, db.user_resources.c.resource, db.user_resources.c.balance
        )
        if only is not None:
            query = query.where(db.user_resources.c.player_id.in_(sorted(only)))
        stored: dict[str, dict[str, int]] = {}
        for player, resource, balance in conn.execute(query):
            stored.setdefault(player, {})[resource] = balance
    players = sorted(set(sums) | set(stored))
    report.players = checked if checked is not None else len(players)
    for start in range(0, len(players), CHUNK):
        chunk = players[start : start + CHUNK]
        pipe = engine.redis.pipeline(transaction=False)
        for player in chunk:
            pipe.hgetall(keys.wallet(player))
        for player, wallet in zip(chunk, pipe.execute(), strict=True):
            live = {k.decode(): int(v) for k, v in wallet.items()}
            ledger = sums.get(player, {})
            sql = stored.get(player, {})
            resources = set(live) | set(ledger) | set(sql)
            for resource in sorted(resources):
                values = (ledger.get(resource, 0), live.get(resource, 0), sql.get(resource, 0))
                if len(set(values)) > 1:
                    report.differences.append(
                        {
                            "player_id": player,
                            "resource": resource,
                            "ledger": values[0],
                            "redis": values[1],
                            "sql": values[2],
                        }
                    )
    return report


def count_rows(engine: Engine, table) -> int:
    with engine.sql.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()
