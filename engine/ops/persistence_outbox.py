"""Persist, reading side: the shards' outboxes read through the consumer group "persist".

`_read` takes one batch from the outboxes that hold entries (found with one XREAD naming
them all; on a Redis Cluster one per hash slot, pipelined per node), claiming what a
dead consumer left pending; `_add` decodes each entry into the rows engine.ops.
persistence_sql writes; `_acknowledge` acknowledges and deletes a batch's entries once
that write has committed. `lag_ms` is the age of the oldest entry still waiting.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from redis.crc import key_slot
from redis.exceptions import ResponseError

from engine import connection, keys
from engine.clock import to_ms
from engine.runtime import Engine

GROUP = "persist"
BATCH = 20_000
CLAIM_IDLE_MS = 60_000
# The ledger kinds of lua/record_activity.lua and lua/record_exams.lua (include/progress.lua),
# the scripts that write a player's daily hash: an entry of one of these, an exam's state
# entry or an event entry (a mission completed, a level reached) says the player's day
# may have changed; the other kinds (grants, prizes, streak repairs) come from scripts
# that never touch it.
DAY_KINDS = frozenset(
    {"purchase", "ad_reward", "login_bonus", "mission_reward", "level_reward", "streak_freeze"}
)


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class _Batch:
    ids: dict[str, list[bytes]] = field(default_factory=dict)  # outbox key -> entry ids
    ledger: list[dict] = field(default_factory=list)
    # each ledger row's outbox entry id as (ms, seq): the order of a player's changes
    # (one stream, IDs that only grow), which their `at` is not once a clock goes back
    positions: list[tuple[int, int]] = field(default_factory=list)
    # player -> the ms of their newest outbox entry in the batch (idem, every kind)
    newest_ms: dict[str, int] = field(default_factory=dict)
    players: set[str] = field(default_factory=set)
    periods: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # player -> periods
    seasons: dict[str, set[str]] = field(default_factory=dict)  # player -> seasons
    # (player, exam id, ms, outbox entry id)
    # (player, exam id, ms, outbox entry id, fingerprint: "" in entries before it was added)
    exams: list[tuple[str, str, int, bytes, str]] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)  # missions completed, levels reached
    # idempotency records no ledger entry gives back (engine.economy.idempotency_records)
    records: list[dict] = field(default_factory=list)
    # player -> (first, last) ms of their entries that may have changed their day's counters
    day_at: dict[str, tuple[int, int]] = field(default_factory=dict)
    heads: dict[str, int] = field(default_factory=dict)  # busy outbox -> oldest entry's ms

    def __len__(self) -> int:
        return sum(len(v) for v in self.ids.values())


def ensure_groups(engine: Engine) -> None:
    """Create the "persist" group of every outbox and of the security events, in one
    round trip (a pipeline); a group that exists is left as it is."""
    pipe = engine.redis.pipeline(transaction=False)
    for stream in [*_outboxes(), keys.security_events()]:
        pipe.xgroup_create(stream, GROUP, id="0", mkstream=True)
    _raise_unless_busygroup(pipe.execute(raise_on_error=False))


def _raise_unless_busygroup(replies: list) -> None:
    for reply in replies:
        if isinstance(reply, ResponseError) and "BUSYGROUP" not in str(reply):
            raise reply


def _outboxes() -> list[str]:
    return [keys.outbox(shard) for shard in range(keys.player_shards())]


def _one_command_each(client: Any, streams: list[str]) -> list[list[str]]:
    """The streams in groups that one command may name together: on one server all of
    them; on a Redis Cluster, where a command's keys must share a hash slot, those of
    one slot (the pipeline then sends each node its own commands)."""
    if not streams:
        return []
    if not connection.is_cluster(client):
        return [streams]
    by_slot: dict[int, list[str]] = {}
    for stream in streams:
        by_slot.setdefault(key_slot(stream.encode()), []).append(stream)
    return list(by_slot.values())


def _read_streams(pipe: Any, client: Any, command: list, streams: list[str], start: str) -> None:
    """Queue XREAD or XREADGROUP (`command`, up to STREAMS) naming `streams`, all of one
    slot on a cluster. There it is sent to that slot's node: redis-py would otherwise
    ask the server for the keys of a command whose keys move (COMMAND GETKEYS, twice)."""
    options = {}
    if connection.is_cluster(client):
        slot = key_slot(streams[0].encode())
        options["target_nodes"] = client.nodes_manager.get_node_from_slot(slot)
    pipe.execute_command(*command, "STREAMS", *streams, *[start] * len(streams), **options)


def _heads(engine: Engine) -> dict[str, int]:
    """Every outbox that holds an entry, with its oldest entry's time (ms).

    XREAD COUNT 1 from 0-0 names many streams at once and answers only those that hold
    entries: one command for every outbox on one server, however many shards.
    """
    pipe = engine.redis.pipeline(transaction=False)
    for group in _one_command_each(engine.redis, _outboxes()):
        _read_streams(pipe, engine.redis, ["XREAD", "COUNT", 1], group, "0-0")
    heads = {}
    for reply in pipe.execute():
        for stream, entries in reply or []:
            heads[stream.decode()] = int(entries[0][1][b"at"])
    return heads


def _read(engine: Engine, consumer: str, batch_size: int, claim_idle_ms: int) -> _Batch:
    """One batch from the outboxes that hold entries (found by `_heads`): per busy
    outbox its group made if missing and the entries a dead consumer left pending
    (XAUTOCLAIM); then new entries with one XREADGROUP naming every busy outbox (on a
    cluster, one per hash slot). One round trip besides the heads'."""
    batch = _Batch(heads=_heads(engine))
    if not batch.heads:
        return batch
    busy = sorted(batch.heads, key=batch.heads.__getitem__)[:batch_size]  # the oldest first
    per_stream = max(1, batch_size // len(busy))
    pipe = engine.redis.pipeline(transaction=False)
    for stream in busy:  # a Redis rebuilt since the groups were made has none
        pipe.xgroup_create(stream, GROUP, id="0", mkstream=True)
    for stream in busy:  # entries a dead consumer left pending
        pipe.xautoclaim(stream, GROUP, consumer, claim_idle_ms, "0-0", count=per_stream)
    groups = _one_command_each(engine.redis, busy)
    read = ["XREADGROUP", "GROUP", GROUP, consumer, "COUNT", per_stream]
    for group in groups:
        _read_streams(pipe, engine.redis, read, group, ">")
    replies = pipe.execute(raise_on_error=False)
    _raise_unless_busygroup(replies[: len(busy)])
    claimed, fresh = replies[len(busy) : 2 * len(busy)], replies[2 * len(busy) :]
    for reply in [*claimed, *fresh]:
        if isinstance(reply, Exception):
            raise reply
    for stream, claim in zip(busy, claimed, strict=True):
        _add(batch, stream, claim[1])
    for reply in fresh:
        for stream, entries in reply or []:
            _add(batch, stream.decode(), entries)
    return batch


def _add(batch: _Batch, stream: str, entries: Iterable) -> None:
    for entry_id, fields in entries:
        if not fields:  # deleted while pending
            batch.ids.setdefault(stream, []).append(entry_id)
            continue
        batch.ids.setdefault(stream, []).append(entry_id)
        player = fields[b"player"].decode()
        batch.players.add(player)
        entry_ms = int(entry_id.partition(b"-")[0])
        batch.newest_ms[player] = max(batch.newest_ms.get(player, 0), entry_ms)
        kind = fields.get(b"kind")  # none: an event or an exam's state entry
        if kind is None or kind.decode() in DAY_KINDS:
            _note_day(batch, player, int(fields[b"at"]))
        if b"kind" in fields:  # a ledger entry: its outbox ID is its transaction id
            batch.ledger.append(
                {
                    "player_id": player,
                    "transaction_id": fields.get(b"tx", entry_id).decode(),
                    "kind": fields[b"kind"].decode(),
                    "deltas": fields[b"deltas"].decode(),
                    "balances_after": fields[b"balances"].decode(),
                    "reason": fields[b"reason"].decode()[:255],
                    "ref": fields[b"ref"].decode()[:300],
                    "fingerprint": fields.get(b"fp", b"").decode() or None,
                    "at_ms": int(fields[b"at"]),
                }
            )
            ms, _, seq = entry_id.partition(b"-")
            batch.positions.append((int(ms), int(seq)))
        elif fields.get(b"type") == b"record":  # a keyed login that claimed nothing, a refusal
            route, _, key = fields[b"ref"].decode().partition("/")
            batch.records.append(
                {
                    "owner": player,
                    "route": route,
                    "idem_key": key,
                    "record": fields[b"record"].decode(),
                    "created_ms": int(fields[b"at"]),
                }
            )
        elif fields.get(b"type") == b"event":  # only a webhook event: no ledger row
            entry = {name.decode(): value.decode() for name, value in fields.items()}
            batch.events.append(
                {**entry, "player_id": player, "at_ms": int(entry["at"]), "entry_id": entry_id}
            )
        else:
            for period in fields.get(b"periods", b"").decode().split(","):
                if period:
                    period_type, name = period.split(":", 1)
                    batch.periods.setdefault(player, set()).add((period_type, name))
            season = fields.get(b"season", b"").decode()
            if season:
                batch.seasons.setdefault(player, set()).add(season)
            exam_id = fields.get(b"exam", b"").decode()
            if exam_id:
                fingerprint = fields.get(b"fp", b"").decode()
                batch.exams.append((player, exam_id, int(fields[b"at"]), entry_id, fingerprint))


def _note_day(batch: _Batch, player: str, at_ms: int) -> None:
    first, last = batch.day_at.get(player, (at_ms, at_ms))
    batch.day_at[player] = (min(first, at_ms), max(last, at_ms))


def _acknowledge(engine: Engine, batch: _Batch) -> None:
    """Acknowledge and delete a committed batch's entries, then trim the ledger lists of
    the players whose entries it held down to `ledger_keep_entries` (lua/trim_ledgers.lua:
    only entries whose outbox entry is gone, so only committed ones), in one round trip:
    a player's persisted entries leave Redis now, not at the player's next change."""
    ledgers: dict[str, set[str]] = {}  # outbox -> ledgers of its players in the batch
    for row in batch.ledger:
        player = row["player_id"]
        ledgers.setdefault(keys.player_outbox(player), set()).add(keys.ledger(player))
    calls = engine.scripts.batch()
    for stream, ids in batch.ids.items():
        calls.pipe.xack(stream, GROUP, *ids)
        calls.pipe.xdel(stream, *ids)
        if stream in ledgers:  # after its XDEL: same slot, same node, in order
            trim = [stream, *sorted(ledgers[stream])]
            calls.call("trim_ledgers", trim, [engine.ledger_keep_entries])
    calls.execute()


def lag_ms(engine: Engine) -> int | None:
    """Age of the oldest outbox entry not yet persisted (None when all are persisted)."""
    return _lag(engine, _heads(engine))


def _lag(engine: Engine, heads: dict[str, int]) -> int | None:
    if not heads:
        return None
    return max(0, to_ms(engine.clock.now()) - min(heads.values()))
