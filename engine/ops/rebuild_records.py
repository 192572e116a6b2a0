"""Rebuild, the idempotency records SQL keeps of their own (engine.economy.
idempotency_records): those of the requests whose change leaves no other row to give
them back (a webhook subscription created, its secret rotated, a keyed login that
claimed nothing), written back under
their keys for what is left of their lifetime, never over a record Redis holds.
"""

from __future__ import annotations

from engine import keys
from engine.economy import idempotency_records
from engine.ops.rebuild_sql import Progress, _count, _stream
from engine.runtime import Engine


def _idempotency_records(engine: Engine, progress: Progress) -> int:
    """Every living record back into Redis; returns how many were read."""
    query = idempotency_records.living(engine)
    total = _count(engine, idempotency_records.TABLE, query.whereclause)
    done = 0
    for rows in _stream(engine, query):
        pipe = engine.redis.pipeline(transaction=False)
        for row in rows:
            if row["owner"] == idempotency_records.ADMIN:
                key = keys.admin_idempotency(row["route"], row["idem_key"])
            else:
                key = keys.idempotency(row["owner"], row["route"], row["idem_key"])
            seconds = idempotency_records.seconds_left(engine, row["created_ms"])
            pipe.set(key, row["record"], ex=seconds, nx=True)
        pipe.execute()
        done += len(rows)
        progress("idempotency_records", done, total)
    return done
