"""Persist, security events: the security event stream drained into `security_events`.

Read through the same consumer group as the outboxes (engine.ops.persistence_outbox),
written with their webhook events in one SQL transaction, acknowledged after it.
"""

from __future__ import annotations

from engine import db, keys
from engine.clock import to_ms
from engine.ops.persistence_outbox import BATCH, GROUP, _raise_unless_busygroup, _read_streams
from engine.runtime import Engine
from engine.webhooks import events as webhook_events


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
