"""Rebuild, economy: wallets, the idempotency records of recent requests, outbox ids.

Balances come back from `user_resources`; the ledger rows give back the idempotency
records still within their lifetime (a streak repair's with the streak, length lost and
best its answer gives, and the milestones it paid, from their entries; an ad reward's,
whose entry keeps no fingerprint, with the one every ad reward has) and raise each
shard outbox's last ID past every transaction id in SQL (engine.ops.rebuild says what
comes back and what cannot).

A purchase's or an ad reward's record keeps the progress its answer shows: an event
that earned nothing beyond itself (no bonus, mission or XP: those were answered once and
are in the ledger as entries of their own), with the streak SQL holds and, for an ad,
its place among the ads of the player's ledger on its day (the game calendar's, or for
a player SQL holds a time zone of, their local date in it), the ads watched the first
answer showed unless one whose reward the cap cut to nothing came before it. A retry
after a rebuild is answered with its transaction and the balances after it as SQL kept
them, in the route's schema, not the first body byte for byte.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from engine import db, keys
from engine.clock import from_ms, to_ms
from engine.economy.idempotency import fingerprint
from engine.ops.rebuild_sql import Progress, _count, _stream
from engine.progression import timezones
from engine.runtime import Engine
from engine.webhooks.events import REPAIRED, STREAK

REPAIR_KIND = "streak_repair"  # engine.economy.streak_repair.ROUTE, its ledger kind
AD_KIND = "ad_reward"  # engine.economy.activity.AD_ROUTE, its ledger kind
PURCHASE_KIND = "purchase"  # engine.economy.purchases.ROUTE, its ledger kind
# An ad reward's ledger entry is paid by include/progress.lua's pay_reward, which keeps
# no fingerprint in it; every ad reward's request has this one (an empty payload).
AD_FINGERPRINT = fingerprint(AD_KIND, {})
# A keyed login's record comes back from the bonus it claimed: its entry's reference is
# "login/<key>/bonus/<date>" (include/claim.lua), and every login's request has this
# fingerprint (an empty payload). A keyed login that claimed nothing left no entry: its
# record comes back from idempotency_records (engine.ops.rebuild_records).
BONUS_KIND = "login_bonus"
LOGIN_ROUTE = "login"  # engine.economy.activity.LOGIN_ROUTE
LOGIN_FINGERPRINT = fingerprint(LOGIN_ROUTE, {})


def _wallets(engine: Engine, progress: Progress, keep_live: bool = False) -> int:
    """SQL's balances into each player's wallet; with `keep_live`, only into wallets
    Redis lacks (a player's keys share one slot: a wallet Redis holds was not lost, and
    is as new as SQL's copy or newer). Returns the players whose wallet was written."""
    total = _count(engine, db.user_resources)
    done = 0
    players = set()
    writing: dict[str, bool] = {}  # player -> whether their rows are written
    query = select(db.user_resources).order_by(db.user_resources.c.player_id)
    for rows in _stream(engine, query):
        if keep_live:
            _decide(engine, {row["player_id"] for row in rows} - writing.keys(), writing)
        pipe = engine.redis.pipeline(transaction=False)
        for row in rows:
            if not keep_live or writing[row["player_id"]]:
                pipe.hset(keys.wallet(row["player_id"]), row["resource"], row["balance"])
                players.add(row["player_id"])
        pipe.execute()
        # the rows come in player order: only the last player's may go on in the next chunk
        last = rows[-1]["player_id"]
        writing = {last: writing[last]} if last in writing else {}
        done += len(rows)
        progress("wallets", done, total)
    return len(players)


def _decide(engine: Engine, players: set[str], writing: dict[str, bool]) -> None:
    """Whether each of `players` has its wallet written: where Redis holds none, before
    this run wrote any of it (asked once a player, at their first row)."""
    ordered = sorted(players)
    pipe = engine.redis.pipeline(transaction=False)
    for player in ordered:
        pipe.exists(keys.wallet(player))
    for player, held in zip(ordered, pipe.execute(), strict=True):
        writing[player] = not held


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
    ads: dict[tuple[str, str], int] = {}  # (player, their day) -> their ad entries so far
    zone_cache: dict[str, timezones.Settings] = {}  # zone name -> its table, worked out once
    milestones = _repair_milestones(engine, cutoff)
    query = select(table).order_by(table.c.player_id, table.c.at_ms, table.c.id)
    for rows in _stream(engine, query):
        pipe = engine.redis.pipeline(transaction=False)
        streaks = _streaks_of(engine, rows, cutoff)
        zones = _zones_of(engine, rows, zone_cache)
        for row in rows:
            outbox = keys.player_outbox(row["player_id"])
            ms, _, seq = row["transaction_id"].partition("-")
            newest[outbox] = max(newest.get(outbox, (0, 0)), (int(ms), int(seq)))
            if row["kind"] == AD_KIND:
                day = (row["player_id"], _ad_day(engine, zones.get(row["player_id"]), row))
                if day not in ads:
                    ads.clear()  # the rows are in player then time order: no day comes back
                ads[day] = ads.get(day, 0) + 1
            fp = row["fingerprint"] or (AD_FINGERPRINT if row["kind"] == AD_KIND else None)
            login = row["kind"] == BONUS_KIND and row["ref"].startswith(f"{LOGIN_ROUTE}/")
            if login:
                fp = LOGIN_FINGERPRINT
            if fp and row["at_ms"] >= cutoff and "/" in row["ref"]:
                route, key = row["ref"].split("/", 1)
                if login:  # "<key>/bonus/<date>": a date holds no "/"
                    key = key.rsplit("/", 2)[0]
                recorded = {
                    "fp": fp,
                    "code": 0,
                    "tx": row["transaction_id"],
                    "at": row["at_ms"],
                    "deltas": json.loads(row["deltas"]),
                    "balances": json.loads(row["balances_after"]),
                }
                streak, best = streaks.get(row["player_id"], (0, 0))
                if row["kind"] == PURCHASE_KIND:
                    recorded["progress"] = {"streak": streak}
                elif row["kind"] == AD_KIND:
                    recorded["progress"] = {"streak": streak, "ads_watched": ads[day]}
                elif login:  # the answer of the claim: its streak, the bonus it paid
                    claimed = STREAK.search(row["reason"])
                    if claimed is None:
                        continue  # not the script's reason: no answer to give back
                    bonus = {"streak": int(claimed[1]), "reward": recorded["deltas"]}
                    bonus["transaction_id"] = row["transaction_id"]
                    recorded["progress"] = {"daily_bonus": bonus, "streak": bonus["streak"]}
                elif row["kind"] == REPAIR_KIND:
                    repaired = REPAIRED.fullmatch(row["reason"])
                    if repaired is None:
                        continue  # not the script's reason: no answer to give back
                    lost, streak = int(repaired[1]), int(repaired[2])
                    best = max(streak, best)
                    recorded |= {"streak": streak, "lost": lost, "best": best}
                    paid = milestones.get((row["player_id"], row["ref"]), [])
                    recorded["milestones"] = [milestone for milestone, _ in paid]
                    if paid:  # the answer's balances: after the milestones it paid
                        recorded["balances"] = paid[-1][1]
                outcome = json.dumps(recorded, separators=(",", ":"))
                remaining = max(1, (row["at_ms"] - cutoff) // 1000)
                pipe.set(
                    keys.idempotency(row["player_id"], route, key), outcome, ex=remaining, nx=True
                )
        pipe.execute()
        done += len(rows)
        progress("ledger", done, total)
    _raise_outbox_ids(engine, newest)
    return done


def _repair_milestones(engine: Engine, cutoff: int) -> dict[tuple[str, str], list]:
    """The milestones each streak repair made since `cutoff` paid (lua/repair_streak.lua:
    login_bonus entries referenced "<repair's reference>/bonus/<streak>", in the repair's
    call), by (player, the repair's reference): each as its answer lists it, with the
    balances after it."""
    table = db.user_resource_logs
    query = (
        select(table)
        .where(
            table.c.kind == BONUS_KIND,
            table.c.ref.startswith(f"{REPAIR_KIND}/", autoescape=True),
            table.c.at_ms >= cutoff,
        )
        .order_by(table.c.player_id, table.c.at_ms, table.c.id)
    )
    found: dict[tuple[str, str], list] = {}
    with engine.sql.connect() as conn:
        for row in conn.execute(query).mappings():
            repair, _, streak = row["ref"].rpartition("/bonus/")
            milestone = {
                "streak": int(streak),
                "reward": json.loads(row["deltas"]),
                "transaction_id": row["transaction_id"],
            }
            found.setdefault((row["player_id"], repair), []).append(
                (milestone, json.loads(row["balances_after"]))
            )
    return found


def _zones_of(
    engine: Engine, rows, cache: dict[str, timezones.Settings]
) -> dict[str, timezones.Settings]:
    """The time zone SQL holds of each player with an ad reward among `rows`: a zoned
    player's ads are counted on their local date (include/zone.lua), which is not the
    game day for all of it."""
    players = {row["player_id"] for row in rows if row["kind"] == AD_KIND}
    if not players:
        return {}
    table = db.settings
    names = [timezones.sql_name(player) for player in sorted(players)]
    with engine.sql.connect() as conn:
        found = conn.execute(select(table.c.name, table.c.value).where(table.c.name.in_(names)))
        zones = {}
        for name, value in found:
            if value:
                if value not in cache:
                    cache[value] = timezones.settings_for(engine, value)
                zones[name.removeprefix(timezones.SQL_PREFIX)] = cache[value]
    return zones


def _ad_day(engine: Engine, zone: timezones.Settings | None, row) -> str:
    """The day an ad reward counted in: the player's local date in their zone, else
    (or before the zone's table) the game day."""
    at = from_ms(row["at_ms"])
    local = zone.local_day(at, timezones.candidate_days(engine, at)) if zone else None
    return (local or engine.calendar.game_day(at)).isoformat()


def _streaks_of(engine: Engine, rows, cutoff: int) -> dict[str, tuple[int, int]]:
    """The streak and best SQL holds of each player with a record to write among `rows`
    (those made since `cutoff`). A purchase's or an ad's answer shows the streak; a
    repair's gives its streak and length lost (the ledger entry's reason) and the best
    after it, which is this best unless a later claim raised it."""
    players = {
        row["player_id"]
        for row in rows
        if row["kind"] in (REPAIR_KIND, PURCHASE_KIND, AD_KIND) and row["at_ms"] >= cutoff
    }
    if not players:
        return {}
    table = db.user_streaks
    query = select(table.c.player_id, table.c.streak, table.c.best).where(
        table.c.player_id.in_(players)
    )
    with engine.sql.connect() as conn:
        return {player: (streak, best) for player, streak, best in conn.execute(query)}


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
