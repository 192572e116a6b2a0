"""Rebuild, reading SQL: a table's rows in chunks, with the progress of each step.

The restore steps (engine.ops.rebuild_economy, rebuild_boards, rebuild_progression,
rebuild_leagues) read their tables through these, CHUNK rows at a time, and report
`progress(step, done, total)` after each chunk; `_restore_hashes` writes a table's rows
back as hashes, never over a newer one Redis holds.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from engine.runtime import Engine

CHUNK = 5_000
Progress = Callable[[str, int, int], None]


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


def _restore_hashes(
    engine: Engine, progress: Progress, step: str, table, hash_of, by: str, where=None
) -> int:
    """Every row of `table` (those matching `where`, if given) back into the hash
    `hash_of(row)` names, with its fields, unless Redis holds that hash as far on by its
    field `by` (lua/restore_forward.lua: SQL's copy lags Redis, so a hash Redis still
    holds is newer or the same)."""
    total = _count(engine, table, where)
    done = 0
    query = select(table) if where is None else select(table).where(where)
    for rows in _stream(engine, query):
        batch = engine.scripts.batch()
        for row in rows:
            key, fields = hash_of(row)
            pairs = [part for field in fields.items() for part in field]
            batch.call("restore_forward", [key], [0, by, *pairs])
        batch.execute()
        done += len(rows)
        progress(step, done, total)
    return done
