"""Prizes of a closed period, paid exactly once: for leagues, and for any other caller
(board prizes) that names its period and its set of (player, prize).

Each prize is a ledger entry made through the wallet's idempotent transaction path
(lua/apply_transaction.lua) under a key fixed by the period, so a second payment of the
same prize within the idempotency records' lifetime is a replay that changes nothing.
Each payment is also recorded in the payout's own hash (player -> transaction id),
read before paying: a rerun long after, when the idempotency records have expired,
skips those already paid. A run killed between the two steps pays again as a replay
and records it. So a close that runs twice, or crashes between payments and runs
again, pays every prize once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from engine import keys
from engine.economy import transactions
from engine.economy.idempotency import IdempotentRequest
from engine.errors import QuestboardError
from engine.runtime import Engine

ROUTE = "prize"  # the ledger kind and idempotency route of a prize
REFUSED = "refused:"  # what `pay` records for a prize the wallet refused, before its code
CHUNK = 5_000  # payments sent in one round trip
KEEP_SECONDS = 400 * 86_400  # how long the record of a payout's payments is kept


@dataclass(frozen=True)
class Prize:
    player_id: str
    resources: dict[str, int]
    reason: str  # shown in the ledger, e.g. "league weekly 2026-W48 bronze-3 rank 1"


def pay(
    engine: Engine,
    payout: str,
    prizes: Sequence[Prize],
    keep_going: Callable[[], bool] = lambda: True,
    chunk: int | None = None,
) -> dict[str, str]:
    """Pay each prize of `payout` (e.g. "league:weekly:2026-W48", one prize a player)
    once; returns player -> the transaction that paid it, for every prize paid by this
    run or before ("refused:<code>" for a prize the wallet refused, e.g. a balance at
    the rules' maximum: recorded, and not tried again). Stops between chunks once
    `keep_going()` is false (a run that lost its lock); the next run pays the rest."""
    paid_key = keys.payouts_paid(payout)
    chunk = chunk or CHUNK
    paid: dict[str, str] = {}
    requests_by_prize: dict[tuple, IdempotentRequest] = {}
    for start in range(0, len(prizes), chunk):
        if not keep_going():
            break
        part = prizes[start : start + chunk]
        recorded = engine.redis.hmget(paid_key, [prize.player_id for prize in part])
        todo = []
        for prize, transaction_id in zip(part, recorded, strict=True):
            if transaction_id is not None:
                paid[prize.player_id] = transaction_id.decode()
            else:
                todo.append(prize)
        if not todo:
            continue
        batch = engine.scripts.batch()
        requests = []
        for prize in todo:
            request = _request(requests_by_prize, payout, prize.resources)
            script_keys, args = transactions.script_call(
                engine, prize.player_id, ROUTE, prize.resources, prize.reason, request
            )
            batch.call("apply_transaction", script_keys, args)
            requests.append(request)
        done: dict[str, str] = {}
        for prize, request, (code, payload) in zip(todo, requests, batch.execute(), strict=True):
            try:
                answer = transactions.answer_of(engine, request, code, payload)
                done[prize.player_id] = answer.transaction_id or ""
            except QuestboardError as error:  # a wallet at the rules' maximum: never paid
                done[prize.player_id] = f"{REFUSED}{error.code}"
        paid |= done
        pipe = engine.redis.pipeline(transaction=False)
        pipe.hset(paid_key, mapping=done)
        pipe.expire(paid_key, KEEP_SECONDS)
        pipe.execute()
    return paid


def refusals(paid: dict[str, str]) -> dict[str, str]:
    """The prizes of `pay`'s answer the wallet refused: player -> the refusal's code
    (e.g. balance_limit_exceeded)."""
    return {
        player: recorded.removeprefix(REFUSED)
        for player, recorded in paid.items()
        if recorded.startswith(REFUSED)
    }


def league_payout(period_type: str, period: str) -> str:
    """The payout of a league period's close, e.g. "league:weekly:2026-W48"."""
    return f"league:{period_type}:{period}"


def banned_at_close(engine: Engine, payout: str, now_ms: int) -> frozenset[str]:
    """The players a close skips (no prize, no promotion): those banned when its first
    run read the player ban index (one HGETALL, bans in force at `now_ms`), kept beside
    the payout, so every later run of the same close skips the same players and a ban
    placed or lifted between two runs changes nothing the close pays or records. The
    kept list also marks the close as begun (`close_begun`)."""
    kept = keys.payouts_banned(payout)
    recorded = engine.redis.get(kept)
    if recorded is None:
        banned = sorted(_banned_now(engine, now_ms))
        pipe = engine.redis.pipeline(transaction=False)
        pipe.set(kept, json.dumps(banned), nx=True, ex=KEEP_SECONDS)  # two runs at once: one
        pipe.get(kept)
        recorded = pipe.execute()[1]
    return frozenset(json.loads(recorded))


def skipped_if_closed_now(
    engine: Engine, payout: str, now_ms: int, among: Collection[str]
) -> frozenset[str]:
    """The players of `among` the close of `payout` skips: those of the list its first
    run kept, or, before that run, those it would skip if it ran at `now_ms` (their
    entries of the player ban index; nothing recorded: a read does not begin the
    close). One round trip."""
    players = list(among)
    pipe = engine.redis.pipeline(transaction=False)
    pipe.get(keys.payouts_banned(payout))
    pipe.hmget(keys.player_bans(), players)
    recorded, entries = pipe.execute()
    if recorded is not None:
        return frozenset(json.loads(recorded)) & set(players)
    return frozenset(
        player
        for player, entry in zip(players, entries, strict=True)
        if entry is not None and _in_force(entry, now_ms)
    )


def close_begun_key(payout: str) -> str:
    """The key whose existence says the close of `payout` has begun (its first run has
    fixed the players it skips), for a caller that checks it in its own round trip."""
    return keys.payouts_banned(payout)


def _banned_now(engine: Engine, now_ms: int) -> frozenset[str]:
    """The players under a ban in force at `now_ms`, from the player ban index."""
    index = engine.redis.hgetall(keys.player_bans())
    return frozenset(player.decode() for player, entry in index.items() if _in_force(entry, now_ms))


def _in_force(entry: bytes, now_ms: int) -> bool:
    """Whether a player ban index entry ("...|<expires ms, 0: never>") holds at `now_ms`."""
    expires = int(entry.rpartition(b"|")[2])
    return expires == 0 or expires > now_ms


def _request(
    known: dict[tuple, IdempotentRequest], payout: str, resources: dict[str, int]
) -> IdempotentRequest:
    """The payment's idempotent request (the payout is its key, the prize its content):
    one per distinct prize of a payout, whose fingerprint is hashed once."""
    amounts = tuple(sorted(resources.items()))
    request = known.get(amounts)
    if request is None:
        request = known[amounts] = IdempotentRequest.of(ROUTE, payout, {"resources": resources})
    return request
