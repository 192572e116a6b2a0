"""Script batches: one round trip for many script calls, and no script lost to a restart."""

from __future__ import annotations

import pytest
import redis

from bench.redis_count import sent_commands
from engine.boards import exams, leaderboards
from engine.boards.exams import Exam
from engine.runtime import Engine


def test_an_exam_takes_no_script_exists_round_trip(real_redis, rules, clock):
    engine = Engine(redis=real_redis, rules=rules, clock=clock)
    exams.record_exam(engine, "alice", Exam("warm", "math", 10, 10, 5))

    with sent_commands() as sent:
        exams.record_exam(engine, "alice", Exam("x1", "math", 20, 10, 6))

    assert "script" not in sent.commands
    assert sent.commands["evalsha"] == 1 + 6 + 1 + 1  # count, six boards, summary, league
    assert sent.round_trips == 3


@pytest.mark.also_on_cluster
def test_scripts_lost_by_redis_are_loaded_again(engine):
    exams.record_exam(engine, "alice", Exam("x1", "math", 20, 10, 6))
    engine.redis.script_flush()  # as after a restart or a failover

    outcome = exams.record_exam(engine, "bob", Exam("x2", "math", 30, 10, 7))

    assert outcome.created
    assert [board["rank"] for board in outcome.summary["boards"]] == [1] * 6
    assert [s.entry.rank for s in leaderboards.player_ranks(engine, "alice")] == [2] * 6
    engine.redis.script_flush()
    assert [s.entry.rank for s in leaderboards.player_ranks(engine, "alice")] == [2] * 6


@pytest.mark.also_on_cluster
def test_a_batch_raises_the_first_error_after_sending_everything(engine):
    engine.redis.set("plain", "x")
    batch = engine.scripts.batch()
    batch.pipe.hset("plain", "field", 1)  # the wrong type
    batch.pipe.set("after", "sent")

    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        batch.execute()
    assert engine.redis.get("after") == b"sent"
