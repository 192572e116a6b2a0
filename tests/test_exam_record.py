"""The exam's replay record: compact, kept as long as the other idempotency records, and
every replay answered with the first summary (engine.boards.exam_record)."""

from __future__ import annotations

import orjson

from engine import db, keys
from engine.boards import exam_record, exams
from engine.boards.exam_frame import Exam
from engine.ops import persistence
from engine.runtime import Engine

MATH = Exam("exam-0001", "math", 70, 10, 7)
CLAIM = MATH.fingerprint()[:32].encode()  # what the record keeps of the fingerprint
PLAYER = "player-000123"
RECORD = keys.exam(PLAYER, MATH.exam_id)
# MEMORY USAGE of a record on Redis 7 (one string: the fingerprint's first 32 digits and
# the packed summary): 232-280 bytes; as a hash (fp, summary: a hashtable, since its
# values pass 64 bytes) it took 408-472.
RECORD_BYTES = 288


def test_a_counted_exam_leaves_its_fingerprint_and_packed_summary_in_one_string(engine):
    first = exams.record_exam(engine, PLAYER, MATH)

    stored = engine.redis.get(RECORD)
    assert stored == CLAIM + b"|s" + stored[34:]
    fingerprint, summary = exam_record.parse(stored)
    assert fingerprint == CLAIM.decode()
    assert summary[:1] == exam_record.TAG_V1
    assert exam_record.load(summary) == first.summary
    assert len(summary) < len(orjson.dumps(first.summary)) // 4
    assert engine.redis.ttl(RECORD) == engine.idempotency_ttl_seconds


def test_a_replay_answers_the_first_summary_exactly(engine):
    first = exams.record_exam(engine, PLAYER, MATH)
    again = exams.record_exam(engine, PLAYER, MATH)
    with_address = exams.record_exam(engine, PLAYER, MATH, address="10.0.0.1")
    assert (again.created, orjson.dumps(again.summary)) == (False, orjson.dumps(first.summary))
    assert orjson.dumps(with_address.summary) == orjson.dumps(first.summary)


def test_an_exam_counted_before_a_crash_keeps_its_result_until_a_retry_completes_it(engine):
    frame = exams.Frame.at(engine, engine.clock.now())
    _, result = exams.count_into_aggregates(engine, frame, [(PLAYER, MATH)])
    assert engine.redis.get(RECORD) == CLAIM + b"|r" + result
    assert exam_record.parse(engine.redis.get(RECORD)) == (CLAIM.decode(), None)

    retried = exams.record_exam(engine, PLAYER, MATH)
    again = exams.record_exam(engine, PLAYER, MATH)

    assert [board["rank"] for board in retried.summary["boards"]] == [1] * 6
    assert (again.created, orjson.dumps(again.summary)) == (False, orjson.dumps(retried.summary))
    assert exam_record.parse(engine.redis.get(RECORD))[1][:1] == exam_record.TAG_V1
    assert engine.redis.ttl(RECORD) == engine.idempotency_ttl_seconds


def test_a_record_kept_as_a_hash_before_still_answers_its_replay(engine):
    first = exams.record_exam(engine, PLAYER, MATH)
    packed = exam_record.parse(engine.redis.get(RECORD))[1]
    engine.redis.delete(RECORD)
    engine.redis.hset(RECORD, mapping={"fp": MATH.fingerprint(), "summary": packed})

    again = exams.record_exam(engine, PLAYER, MATH)
    with_address = exams.record_exam(engine, PLAYER, MATH, address="10.0.0.1")

    assert orjson.dumps(again.summary) == orjson.dumps(first.summary)
    assert orjson.dumps(with_address.summary) == orjson.dumps(first.summary)
    plain = engine.redis.hset(RECORD, "summary", orjson.dumps(first.summary))  # JSON, older
    assert plain == 0 and exams.record_exam(engine, PLAYER, MATH).summary == first.summary


def test_a_record_left_as_a_hash_before_its_summary_is_completed_by_a_retry(engine):
    frame = exams.Frame.at(engine, engine.clock.now())
    _, result = exams.count_into_aggregates(engine, frame, [(PLAYER, MATH)])
    engine.redis.delete(RECORD)
    engine.redis.hset(RECORD, mapping={"fp": MATH.fingerprint(), "result": result})
    engine.redis.expire(RECORD, 100)

    retried = exams.record_exam(engine, PLAYER, MATH)
    again = exams.record_exam(engine, PLAYER, MATH)

    assert set(engine.redis.hgetall(RECORD)) == {b"fp", b"summary"}
    assert orjson.dumps(again.summary) == orjson.dumps(retried.summary)
    assert engine.redis.ttl(RECORD) == 100


def test_an_exam_id_reused_for_another_result_is_refused_in_either_layout(engine):
    exams.record_exam(engine, PLAYER, MATH)
    other = Exam(MATH.exam_id, "math", 71, 10, 7)
    assert other.fingerprint()[:32] != MATH.fingerprint()[:32]
    for layout in ("string", "hash"):
        if layout == "hash":
            packed = exam_record.parse(engine.redis.get(RECORD))[1]
            engine.redis.delete(RECORD)
            engine.redis.hset(RECORD, mapping={"fp": MATH.fingerprint(), "summary": packed})
        [refused] = exams.record_exams(engine, [(PLAYER, other)])
        assert refused.code == "idempotency_key_reused", layout


def test_records_are_read_in_either_layout_with_their_fingerprint_and_summary(engine):
    exams.record_exam(engine, PLAYER, MATH)
    fingerprint, packed = exam_record.parse(engine.redis.get(RECORD))
    older = keys.exam(PLAYER, "older")
    engine.redis.hset(older, mapping={"fp": "f0", "summary": packed})
    unanswered = keys.exam(PLAYER, "unanswered")
    engine.redis.hset(unanswered, mapping={"fp": "f1", "result": "{}"})

    found = exam_record.read(engine.redis, [RECORD, keys.exam(PLAYER, "none"), older, unanswered])

    assert found == [(fingerprint, packed), (None, None), ("f0", packed), ("f1", None)]


def test_a_record_rebuilt_from_its_summary_is_the_string_a_count_leaves(engine):
    exams.record_exam(engine, PLAYER, MATH)
    stored = engine.redis.get(RECORD)
    assert exam_record.value(MATH.fingerprint(), exam_record.parse(stored)[1]) == stored


def test_a_persisted_attempt_keeps_the_whole_fingerprint_and_the_summary(durable_engine):
    first = exams.record_exam(durable_engine, PLAYER, MATH)
    persistence.persist(durable_engine)

    with durable_engine.sql.begin() as conn:
        [attempt] = conn.execute(db.quiz_exam_attempts.select()).mappings().all()
    assert attempt["fingerprint"] == MATH.fingerprint()
    assert attempt["summary"].encode() == orjson.dumps(first.summary)


def test_the_record_is_a_compact_string_of_a_few_hundred_bytes_in_redis(real_redis, rules, clock):
    engine = Engine(redis=real_redis, rules=rules, clock=clock)
    for n, category in enumerate(("math", "science", "history")):
        clock.advance(seconds=2)
        exams.record_exam(engine, PLAYER, Exam(f"exam-{n:04}", category, 70 + 113 * n, 10, 7 + n))
        record = keys.exam(PLAYER, f"exam-{n:04}")
        assert real_redis.object("encoding", record) in (b"raw", b"embstr")
        assert real_redis.memory_usage(record, samples=0) < RECORD_BYTES


def test_pack_and_unpack_round_trip_and_json_passes_through():
    text = b'{"exam_id":"e","boards":[],"progress":{"streak":1}}'
    assert exam_record.unpack(exam_record.pack(text)) == text
    assert exam_record.unpack(text) == text
