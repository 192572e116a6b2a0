"""Each period's board index (keys.board_index): the categories that have a board.

The snapshot job (engine.boards.snapshots) and the period-closed webhooks
(engine.webhooks.sources) list a period's boards from it; the rebuild from SQL
(engine.ops.rebuild_boards) fills it again. Counting exams puts their categories into
the index of each current period, with its expiry (the period's, as its boards'). A
process does it once a period and category, remembering it in its Engine.memo, and
again:

- when update_board.lua answers that it created the board: a new period's board, or
  every board after Redis lost its data (a flush, a failover to a replica that had not
  caught up), which this process's memo cannot see;
- every REFRESH_S seconds of engine time for a board it keeps counting exams into, so
  an index lost alone (deleted, evicted, or its SADD lost in a failover while the
  board's write was kept) is whole again within that time;
- in every new process, whose memo starts empty.

The memo and the writes are engine.index_memo's, shared with the league tiers' index.
"""

from __future__ import annotations

from engine.index_memo import REFRESH_S, IndexMemo, Registrations
from engine.index_memo import memo_of as _memo_of
from engine.runtime import Engine

__all__ = ["MEMO", "REFRESH_S", "IndexMemo", "Registrations", "memo_of"]

MEMO = "board_index"  # the Engine.memo entry


def memo_of(engine: Engine) -> IndexMemo:
    return _memo_of(engine, MEMO)
