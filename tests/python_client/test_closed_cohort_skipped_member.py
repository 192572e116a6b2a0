"""A closed league cohort whose close skipped a member (banned at the close: no zone,
no prize) reaches the Python client: that member reads zone None, the others the zones
and prizes the close gave them, where the page was refused as an unexpected answer.

The fixtures (tests/python_client/conftest.py) serve the app on fakeredis with a fixed
clock behind werkzeug on a loopback port.
"""

from __future__ import annotations

from datetime import UTC, datetime

from questboard_client.models import LeagueMember

from engine.leagues import close
from engine.security import bans

CLOSED_W48 = datetime(2026, 11, 30, 3, 10, tzinfo=UTC)  # 2026-W48 ended at 03:00


def test_a_member_the_close_skipped_reads_no_zone(qb, app, clock):
    engine = app.extensions["questboard.engine"]
    qb.record_exam("alice", "attempt-1", "math", 90, 10, 9)
    qb.record_exam("bob", "attempt-2", "math", 80, 10, 8)
    clock.set(CLOSED_W48)
    bans.create(engine, "player", "alice", "cheating")
    close.close(engine, "2026-W48")

    cohort = qb.league_cohort("2026-W48", "bronze-1")

    assert cohort.members == (
        LeagueMember("alice", 1, 1, 90, None, None, None),  # skipped: no zone, no prize
        LeagueMember("bob", 2, 2, 80, "promotion", {"coins": 100}, None),
    )
