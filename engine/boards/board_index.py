"""Each period's board index (keys.board_index): the categories that have a board.

The snapshot job (engine.boards.snapshots) and the period-closed webhooks
(engine.webhooks.sources) list a period's boards from it, and from SQL (`listed`);
the rebuild from SQL (engine.ops.rebuild_boards) fills it again. Counting exams puts
their categories into the index of each current period, with its expiry (the
period's, as its boards'). A process does it once a period and category, remembering
it in its Engine.memo, and again:

- when update_board.lua answers that it created the board: a new period's board, or
  every board after Redis lost its data (a flush, a failover to a replica that had not
  caught up), which this process's memo cannot see;
- every REFRESH_S seconds of engine time for a board it keeps counting exams into, so
  an index lost alone (deleted, evicted, or its SADD lost in a failover while the
  board's write was kept) is whole again within that time;
- in every new process, whose memo starts empty.

The memo and the writes are engine.index_memo's, shared with the league tiers' index.

An index lost in a period's last REFRESH_S, with no exam after to write it again, would
leave out a board that exists. So the readers that must see every board add the
categories SQL's aggregates hold for the period (`listed`: one query, served by the
index ix_aggregates_board_score; the persist job writes the aggregates within seconds)
and write those the index lacked back into it. The period-closed webhooks do it once a
period, at its close, SETTLE_S after its end, when SQL holds the period's last writes;
the snapshot job on each run (every 2 hours). A category SQL holds no row of has no
board: none is invented. The board prizes (engine.boards.prizes) need neither: the
rules name the boards they pay.
"""

from __future__ import annotations

from sqlalchemy import select

from engine import boards, db, keys
from engine.calendar import Period
from engine.index_memo import REFRESH_S, IndexMemo, Registrations
from engine.index_memo import memo_of as _memo_of
from engine.runtime import Engine

__all__ = [
    "MEMO",
    "REFRESH_S",
    "SETTLE_S",
    "IndexMemo",
    "Registrations",
    "indexed",
    "listed",
    "memo_of",
]

MEMO = "board_index"  # the Engine.memo entry
SETTLE_S = 60  # after a period's end, SQL holds its last writes (persisted every 5 s)


def memo_of(engine: Engine) -> IndexMemo:
    return _memo_of(engine, MEMO)


def indexed(engine: Engine, period: Period) -> list[str]:
    """The categories the period's index lists, sorted."""
    index_key = keys.board_index(period.period_type, period.name)
    return sorted(c.decode() for c in engine.redis.smembers(index_key))


def listed(engine: Engine, period: Period) -> list[str]:
    """The categories with a board in `period`, sorted: the index's and those SQL's
    aggregates hold for it (one query, served by ix_aggregates_board_score), the
    latter written back into the index with the period's expiry. Needs SQL."""
    index_key = keys.board_index(period.period_type, period.name)
    listed_ = set(indexed(engine, period))
    table = db.quiz_leaderboard_aggregates
    query = (
        select(table.c.category)
        .where(table.c.period_type == period.period_type, table.c.period == period.name)
        .distinct()
    )
    with engine.sql.connect() as conn:
        stored = {category for category in conn.execute(query).scalars()} - {boards.GLOBAL}
    missing = sorted(stored - listed_)
    ttl = boards.seconds_to_expiry(engine, period)
    if missing and ttl > 0:
        pipe = engine.redis.pipeline(transaction=False)
        pipe.sadd(index_key, *missing)
        pipe.expire(index_key, ttl)
        pipe.execute()
    return sorted(listed_ | stored)
