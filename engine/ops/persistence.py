"""Persist: move the live record from Redis into SQL, losing nothing, doubling nothing.

Each shard's outbox stream carries every ledger entry, a "state" entry per exam and an
"event" entry per mission completed or battle-pass level reached (persisted as its
webhook event only: no ledger row, no balance; the reward it paid, if any, is a ledger
entry of its own).
A Redis consumer group ("persist") hands entries to whichever worker asks; a batch is
written to SQL in one transaction (ledger rows inserted by their natural key
(player_id, transaction_id), ignoring ones already there, then the current balances,
leaderboard aggregates, battle pass and streak of every player the batch touched,
read from Redis), and only after the commit are the entries acknowledged and removed.

So a worker killed at any moment loses nothing: its unacknowledged entries stay
pending and another worker claims them once they have been idle `claim_idle_ms`
(XAUTOCLAIM); the persist job, one live run at a time under a heartbeat lock
(engine.ops.job_lease), claims them as soon as it takes the lock over. And nothing is
doubled: a batch written twice inserts no row twice, and the state rows are
overwritten with the same or newer values.
The security event stream is drained the same way into `security_events`.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from redis.crc import key_slot
from redis.exceptions import ResponseError

from engine import boards, connection, db, keys
from engine.boards import exam_record
from engine.clock import to_ms
from engine.progression.battle_pass import level_for
from engine.runtime import Engine
from engine.webhooks import events as webhook_events

GROUP = "persist"
BATCH = 20_000
XP_KINDS = ("mission_reward", "level_reward")  # rewards that come with battle-pass XP
STREAK_KINDS = ("login_bonus", "streak_repair")  # entries that come with a streak change
# The streak hash's fields kept in user_streaks beside last_day, streak and best, NULL
# when the hash has none: the repair offer and a zoned claim's day ends.
STREAK_EXTRAS = ("lost", "repair_by", "claim_ends", "streak_ends")
CLAIM_IDLE_MS = 60_000
JOB_CONSUMER = "persist-job"  # the persist job's consumer: one live run at a time holds it


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


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


@dataclass
class _Batch:
    ids: dict[str, list[bytes]] = field(default_factory=dict)  # outbox key -> entry ids
    ledger: list[dict] = field(default_factory=list)
    players: set[str] = field(default_factory=set)
    periods: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # player -> periods
    seasons: dict[str, set[str]] = field(default_factory=dict)  # player -> seasons
    # (player, exam id, ms, outbox entry id)
    # (player, exam id, ms, outbox entry id, fingerprint: "" in entries before it was added)
    exams: list[tuple[str, str, int, bytes, str]] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)  # missions completed, levels reached
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


def persist(
    engine: Engine,
    consumer: str | None = None,
    batch_size: int = BATCH,
    claim_idle_ms: int = CLAIM_IDLE_MS,
    max_batches: int | None = None,
    keep_going: Callable[[], bool] | None = None,
) -> PersistReport:
    """Drain the outboxes and the security events into SQL until they are empty.

    `keep_going` is asked before each batch (the job passes its lock's check): a run
    that lost its lock to another stops there, its unacknowledged entries left pending
    for the run that took over.
    """
    consumer = consumer or consumer_name()
    report = PersistReport()
    started = time.perf_counter()
    batch = None
    while (max_batches is None or report.batches < max_batches) and (
        keep_going is None or keep_going()
    ):
        batch = _read(engine, consumer, batch_size, claim_idle_ms)
        if not len(batch):
            break
        _write(engine, batch, report)
        _acknowledge(engine, batch)
        report.batches += 1
        report.entries += len(batch)
    if keep_going is None or keep_going():
        report.security_events = _persist_security_events(engine, consumer, claim_idle_ms)
    report.seconds = time.perf_counter() - started
    if batch is not None and not len(batch):  # the last read saw what is still waiting
        report.lag_ms = _lag(engine, batch.heads)
    else:
        report.lag_ms = lag_ms(engine)
    return report


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


def _write(engine: Engine, batch: _Batch, report: PersistReport) -> None:
    """One SQL transaction for a batch: the ledger rows and what they changed.

    Balances come from the batch itself (each ledger entry carries the wallet after
    it), only for the resources the batch changed, and a balance is never replaced
    by an older one. Only what the batch can have changed is read from Redis: the
    aggregates of the periods its exams touched, the battle pass of players who
    gained XP, the streak of players who claimed a bonus.
    """
    now_ms = to_ms(engine.clock.now())
    latest: dict[str, tuple[int, dict]] = {}  # player -> (at, balances after)
    changed: dict[str, set[str]] = {}  # player -> resources changed in this batch
    streak_players = set()
    xp_players = set(batch.periods) | {event["player_id"] for event in batch.events}
    for row in batch.ledger:
        player = row["player_id"]
        if player not in latest or row["at_ms"] >= latest[player][0]:
            latest[player] = (row["at_ms"], json.loads(row["balances_after"]))
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
            "updated_ms": latest[player][0],
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
    for player in sorted(batch.periods):
        for period in sorted(batch.periods[player]):
            pipe.hgetall(keys.player_board_stats(player, *period))
            plan.append(("stats", player, period))
    for player in sorted(xp_players):
        seasons = set(batch.seasons.get(player, ()))
        if current_season is not None:
            seasons.add(current_season.season_id)
        for season in sorted(seasons):
            pipe.hmget(keys.battle_pass(player, season), "xp", "rewarded_level")
            plan.append(("season", player, season))
    for player, exam_id, at_ms, entry_id, fingerprint in batch.exams:
        pipe.hmget(keys.exam(player, exam_id), "fp", "summary")
        plan.append(("exam", player, (exam_id, at_ms, entry_id, fingerprint)))
    replies = pipe.execute() if plan else []

    streaks, aggregates, passes, attempts, attempt_ids = [], [], [], [], []
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
            aggregates.extend(_aggregate_rows(player, target, reply, now_ms))
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
                    "fingerprint": reply[0].decode() if reply[0] is not None else fingerprint,
                    "summary": exam_record.unpack(reply[1]).decode() if reply[1] else None,
                    "at_ms": at_ms,
                }
            )

    with engine.sql.begin() as conn:
        report.ledger_rows += db.insert_ignore(conn, db.user_resource_logs, batch.ledger)
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
        # In this transaction: the webhook events of what it persists (engine.webhooks).
        webhook_events.record(conn, _events(batch, attempts, attempt_ids), now_ms)
    report.players += len(batch.players)


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
    for category, text in sorted(stats.items()):
        sums = boards.Sums.parse(text)
        rows.append(
            {
                "player_id": player,
                "period_type": period[0],
                "period": period[1],
                "category": category.decode(),
                "total_score": sums.score,
                "exams_taken": sums.exams,
                "questions": sums.questions,
                "correct_answers": sums.correct,
                "reached_s": sums.reached,
                "updated_ms": now_ms,
            }
        )
    return rows


def _acknowledge(engine: Engine, batch: _Batch) -> None:
    pipe = engine.redis.pipeline(transaction=False)
    for stream, ids in batch.ids.items():
        pipe.xack(stream, GROUP, *ids)
        pipe.xdel(stream, *ids)
    pipe.execute()


def _persist_security_events(engine: Engine, consumer: str, claim_idle_ms: int) -> int:
    stream = keys.security_events()
    written = 0
    while True:
        pipe = engine.redis.pipeline(transaction=False)
        pipe.xgroup_create(stream, GROUP, id="0", mkstream=True)  # gone with a lost Redis
        pipe.xautoclaim(stream, GROUP, consumer, claim_idle_ms, "0-0", count=BATCH)
        _read_streams(
            pipe,
            engine.redis,
            ["XREADGROUP", "GROUP", GROUP, consumer, "COUNT", BATCH],
            [stream],
            ">",
        )
        created, claimed, fresh = pipe.execute(raise_on_error=False)
        _raise_unless_busygroup([created])
        for reply in (claimed, fresh):
            if isinstance(reply, Exception):
                raise reply
        entries = list(claimed[1])
        for _, rows in fresh or []:
            entries.extend(rows)
        if not entries:
            return written
        rows = [
            {
                "event_id": entry_id.decode(),
                "at_ms": int(fields[b"at"]),
                "player_id": fields[b"player"].decode(),
                "address": fields[b"address"].decode() or None,
                "rule": fields[b"rule"].decode(),
                "details": fields[b"details"].decode(),
                "action": fields[b"action"].decode(),
            }
            for entry_id, fields in entries
            if fields
        ]
        with engine.sql.begin() as conn:
            written += db.insert_ignore(conn, db.security_events, rows)
            webhook_events.record(
                conn, webhook_events.from_security_events(rows), to_ms(engine.clock.now())
            )
        engine.redis.xack(stream, GROUP, *[entry_id for entry_id, _ in entries])


def lag_ms(engine: Engine) -> int | None:
    """Age of the oldest outbox entry not yet persisted (None when all are persisted)."""
    return _lag(engine, _heads(engine))


def _lag(engine: Engine, heads: dict[str, int]) -> int | None:
    if not heads:
        return None
    return max(0, to_ms(engine.clock.now()) - min(heads.values()))


def ledger_sums(rows: Iterable[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """Per player, the sum of ledger deltas, from (player_id, deltas JSON) rows."""
    sums: dict[str, dict[str, int]] = {}
    for player, deltas in rows:
        totals = sums.setdefault(player, {})
        for resource, delta in json.loads(deltas).items():
            totals[resource] = totals.get(resource, 0) + delta
    return sums
