"""The exam's replay record: compact, kept as long as the other idempotency records, and
every replay answered with the first summary (engine.boards.exam_record)."""

from __future__ import annotations

import orjson

from engine import keys
from engine.boards import exam_record, exams
from engine.boards.exam_frame import Exam
from engine.runtime import Engine

MATH = Exam("exam-0001", "math", 70, 10, 7)
# MEMORY USAGE of a record on Redis 7 (key, two fields, the packed summary): about 430
# bytes; its summary as JSON alone is about 1 KB.
RECORD_BYTES = 512


def test_a_counted_exam_leaves_its_fingerprint_and_packed_summary_for_the_replay_window(
    engine,
):
    first = exams.record_exam(engine, "player-000123", MATH)
    record = keys.exam("player-000123", MATH.exam_id)

    stored = engine.redis.hgetall(record)
    assert set(stored) == {b"fp", b"summary"}  # the step-1 result is gone with the summary
    assert stored[b"fp"] == MATH.fingerprint().encode()
    assert stored[b"summary"][:1] == exam_record.TAG_V1
    assert exam_record.load(stored[b"summary"]) == first.summary
    assert len(stored[b"summary"]) < len(orjson.dumps(first.summary)) // 4
    assert engine.redis.ttl(record) == engine.idempotency_ttl_seconds


def test_a_replay_answers_the_first_summary_exactly(engine):
    first = exams.record_exam(engine, "player-000123", MATH)
    again = exams.record_exam(engine, "player-000123", MATH)
    assert (again.created, orjson.dumps(again.summary)) == (False, orjson.dumps(first.summary))


def test_a_record_written_as_json_still_answers_its_replay(engine):
    first = exams.record_exam(engine, "player-000123", MATH)
    record = keys.exam("player-000123", MATH.exam_id)
    engine.redis.hset(record, "summary", orjson.dumps(first.summary))
    assert exams.record_exam(engine, "player-000123", MATH).summary == first.summary


def test_the_record_is_a_few_hundred_bytes_in_redis(real_redis, rules, clock):
    engine = Engine(redis=real_redis, rules=rules, clock=clock)
    for n, category in enumerate(("math", "science", "history")):
        exams.record_exam(engine, "player-000123", Exam(f"exam-{n:04}", category, 70, 10, 7))
        record = keys.exam("player-000123", f"exam-{n:04}")
        assert real_redis.memory_usage(record, samples=0) < RECORD_BYTES


def test_pack_and_unpack_round_trip_and_json_passes_through():
    text = b'{"exam_id":"e","boards":[],"progress":{"streak":1}}'
    assert exam_record.unpack(exam_record.pack(text)) == text
    assert exam_record.unpack(text) == text
