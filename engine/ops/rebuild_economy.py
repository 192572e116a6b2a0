"""Rebuild, economy: wallets, the idempotency records of recent requests, outbox ids.

Balances come back from `user_resources`; the ledger rows give back the idempotency
records still within their lifetime (a streak repair's with the streak, length lost and
best its answer gives; an ad reward's, whose entry keeps no fingerprint, with the one
every ad reward has) and raise each shard outbox's last ID past every transaction id
in SQL (engine.ops.rebuild says what comes back and what cannot).
"""

from __future__ import annotations

import json

from sqlalchemy import select

from engine import db, keys
from engine.clock import to_ms
from engine.economy.idempotency import fingerprint
from engine.ops.rebuild_sql import Progress, _count, _stream
from engine.runtime import Engine
from engine.webhooks.events import REPAIRED

REPAIR_KIND = "streak_repair"  # engine.economy.streak_repair.ROUTE, its ledger kind
AD_KIND = "ad_reward"  # engine.economy.activity.AD_ROUTE, its ledger kind
# An ad reward's ledger entry is paid by include/progress.lua's pay_reward, which keeps
# no fingerprint in it; every ad reward's request has this one (an empty payload).
AD_FINGERPRINT = fingerprint(AD_KIND, {})


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
        bests = _repairers_bests(engine, rows, cutoff)
        for row in rows:
            outbox = keys.player_outbox(row["player_id"])
            ms, _, seq = row["transaction_id"].partition("-")
            newest[outbox] = max(newest.get(outbox, (0, 0)), (int(ms), int(seq)))
            fp = row["fingerprint"] or (AD_FINGERPRINT if row["kind"] == AD_KIND else None)
            if fp and row["at_ms"] >= cutoff and "/" in row["ref"]:
                route, key = row["ref"].split("/", 1)
                recorded = {
                    "fp": fp,
                    "code": 0,
                    "tx": row["transaction_id"],
                    "at": row["at_ms"],
                    "deltas": json.loads(row["deltas"]),
                    "balances": json.loads(row["balances_after"]),
                }
                if row["kind"] == REPAIR_KIND:
                    repaired = REPAIRED.fullmatch(row["reason"])
                    if repaired is None:
                        continue  # not the script's reason: no answer to give back
                    lost, streak = int(repaired[1]), int(repaired[2])
                    best = max(streak, bests.get(row["player_id"], 0))
                    recorded |= {"streak": streak, "lost": lost, "best": best}
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


def _repairers_bests(engine: Engine, rows, cutoff: int) -> dict[str, int]:
    """The best streak SQL holds of each player with a streak repair among `rows` made
    since `cutoff`: a repair's answer gives its streak and length lost (the ledger
    entry's reason) and the best after it, which is this unless a later claim raised it."""
    players = {
        row["player_id"]
        for row in rows
        if row["kind"] == REPAIR_KIND and row["fingerprint"] and row["at_ms"] >= cutoff
    }
    if not players:
        return {}
    table = db.user_streaks
    query = select(table.c.player_id, table.c.best).where(table.c.player_id.in_(players))
    with engine.sql.connect() as conn:
        return {player: best for player, best in conn.execute(query)}


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
