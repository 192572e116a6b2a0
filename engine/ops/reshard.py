"""Change a Redis's player shard count: drain the outboxes, then move every player key.

`questboard shards migrate --to N` runs `migrate`, with the writers stopped (the web
and worker processes; docs/redis-keys.md has the whole procedure):

1. the record (engine.shards) becomes `migrating:<from>:<to>`, so a process that
   starts now refuses, whichever count it has;
2. the persist job's work is done here: every outbox is drained into SQL (entries a
   dead run left pending included); if any entry is still waiting, nothing moves;
3. every player key is moved to its tag under the new count: DUMP and PTTL, then
   RESTORE with the same time to live and, once a chunk's copies are all written, DEL,
   pipelined in chunks, which also works between the nodes of a Redis Cluster (RENAME
   does not cross hash slots); a key whose name does not change stays;
4. the old, empty outboxes are deleted, the new ones get their consumer group, and the
   record becomes the new count.

Run again after an interruption, it finishes the move: keys already moved have their
new names and are left alone. Rebuilding Redis from SQL (`questboard rebuild`, after
FLUSHDB, started with the new PLAYER_SHARDS) is the other way, but it brings back only
what SQL keeps (the day's counters as of the last persist, no idempotency records of
refusals).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine import connection, keys, shards
from engine.runtime import Engine
from engine.shards import ShardChangeRefusedError

CHUNK = 1_000  # keys per DUMP pipeline
Progress = Callable[[int], None]


@dataclass(frozen=True)
class ShardsState:
    recorded: str | None  # engine.shards.recorded
    configured: int  # this process's PLAYER_SHARDS
    waiting: int  # entries in the recorded count's outboxes


@dataclass
class MigrationReport:
    source: int
    target: int
    persisted: int = 0  # outbox entries written to SQL first
    moved: int = 0  # player keys renamed to their new tag (the others keep their name)


def _source_count(recorded: str | None) -> int | None:
    if recorded is None:
        return None
    if recorded.startswith(shards.MIGRATING):
        return int(recorded.split(":")[1])
    return int(recorded)


def check(engine: Engine) -> ShardsState:
    """The recorded count, this process's, and what waits in the recorded count's outboxes."""
    configured = keys.player_shards()
    recorded = shards.recorded(engine.redis)
    source = _source_count(recorded) or configured
    keys.set_player_shards(source)
    try:
        pipe = engine.redis.pipeline(transaction=False)
        for shard in range(source):
            pipe.xlen(keys.outbox(shard))
        waiting = sum(pipe.execute())
    finally:
        keys.set_player_shards(configured)
    return ShardsState(recorded, configured, waiting)


def migrate(engine: Engine, target: int, progress: Progress | None = None) -> MigrationReport:
    """Move Redis from its recorded shard count to `target` (see the module docstring).

    Raises:
        ShardChangeRefusedError: no recorded count, the count is already `target`, a
            change to another count is under way, or outbox entries are still waiting.
    """
    from engine.ops import persistence  # its imports are heavy; `shards check` needs none

    recorded = shards.recorded(engine.redis)
    source = _source_count(recorded)
    if source is None:
        raise ShardChangeRefusedError(
            "Redis has no recorded player shard count: start the service once first"
        )
    if recorded == str(target):
        raise ShardChangeRefusedError(
            f"Redis already holds PLAYER_SHARDS={target}; nothing to change"
        )
    if (
        recorded.startswith(shards.MIGRATING)
        and recorded != f"{shards.MIGRATING}:{source}:{target}"
    ):
        raise ShardChangeRefusedError(
            f"a change from {source} to {recorded.rsplit(':', 1)[1]} is under way: finish it "
            "first with its own --to"
        )
    keys.set_player_shards(target)  # validates the count before anything changes
    report = MigrationReport(source, target)
    engine.redis.set(keys.player_shards_record(), f"{shards.MIGRATING}:{source}:{target}")

    keys.set_player_shards(source)
    report.persisted = persistence.persist(engine, claim_idle_ms=0).entries
    waiting = check(engine).waiting
    if waiting:
        raise ShardChangeRefusedError(
            f"{waiting} outbox entries are still waiting after persisting: stop every "
            "web and worker process, then run this again"
        )

    keys.set_player_shards(target)
    outboxes = _move_player_keys(engine, report, progress)
    pipe = engine.redis.pipeline(transaction=False)
    for outbox in outboxes:  # empty now; the new count's get their group below
        pipe.delete(outbox)
    pipe.execute()
    persistence.ensure_groups(engine)
    engine.redis.set(keys.player_shards_record(), target)
    return report


def _move_player_keys(engine: Engine, report: MigrationReport, progress: Progress | None) -> list:
    """Move every player key to its tag under the process's (the target) count; returns
    the outboxes found (a shard's own keys, deleted by the caller once all moved)."""
    outboxes = []
    chunk: list[tuple[str, str]] = []
    for found in connection.scan_keys(engine.redis, keys.player_keys_pattern(), CHUNK):
        for raw in found:
            key = raw.decode()
            player = keys.player_of(key)
            if player is None:
                outboxes.append(key)
                continue
            new = f"{keys.PREFIX}:{keys.shard_tag(keys.shard_of(player))}:{key.split(':', 2)[2]}"
            if new != key:  # the same tag under both counts, or moved already
                chunk.append((key, new))
        if len(chunk) >= CHUNK:
            _move(engine, chunk, report, progress)
            chunk = []
    _move(engine, chunk, report, progress)
    return outboxes


def _move(
    engine: Engine, chunk: list[tuple[str, str]], report: MigrationReport, progress: Progress | None
) -> None:
    if not chunk:
        return
    pipe = engine.redis.pipeline(transaction=False)
    for old, _ in chunk:
        pipe.dump(old)
        pipe.pttl(old)
    replies = pipe.execute()
    copied = []
    pipe = engine.redis.pipeline(transaction=False)
    for (old, new), dumped, ttl in zip(chunk, replies[::2], replies[1::2], strict=True):
        if dumped is None:  # expired since the scan
            continue
        pipe.restore(new, max(ttl, 0), dumped, replace=True)
        copied.append(old)
    # Every copy is written before any original goes: a RESTORE refused (a node at
    # maxmemory, one short of min-replicas-to-write, unreachable) raises here, while a
    # DEL in the same pipeline, on another node or allowed where RESTORE is not, would
    # have deleted the only copy. A run again finds the originals and copies them anew.
    pipe.execute()
    pipe = engine.redis.pipeline(transaction=False)
    for old in copied:
        pipe.delete(old)
    pipe.execute()
    report.moved += len(copied)
    if progress is not None:
        progress(report.moved)
