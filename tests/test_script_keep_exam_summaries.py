"""lua/keep_exam_summaries.lua called directly, on fakeredis and Redis.

The first summary of each exam is kept and answers every copy; a summary keeps the
record's expiry and drops the result it replaces; records of the hash layout keep their
first summary and answer their replays (through lua/record_exams.lua).
"""

from __future__ import annotations

from engine import keys
from engine.outcomes import ScriptCode
from engine.scripts import Scripts
from tests.record_exams_calls import context, decoded, exam_call
from tests.script_state import expires_in, state, written


def record(redis, *exams: tuple[str, str, str, int], **options):
    """Exams as (fingerprint, player, exam id, score), each of 10 questions."""
    all_keys, args = exam_call(*exams, **options)
    return decoded(Scripts(redis).record_exams(keys=all_keys, args=args))


def keep(redis, *summaries: tuple[str, str], ttl: int = 3600):
    return Scripts(redis).keep_exam_summaries(
        keys=[keys.exam("alice", exam_id) for exam_id, _ in summaries],
        args=[ttl, *(summary for _, summary in summaries)],
    )


def test_the_first_summary_of_each_exam_is_kept_and_answers_every_copy(any_redis):
    record(any_redis, ("fp1", "alice", "x1", 10), ("fp2", "alice", "x2", 5))
    assert keep(any_redis, ("x1", '{"a":1}')) == [b'{"a":1}']
    assert keep(any_redis, ("x1", '{"a":2}'), ("x2", '{"b":1}')) == [b'{"a":1}', b'{"b":1}']
    assert any_redis.get(keys.exam("alice", "x1")) == b'fp1|s{"a":1}'
    assert any_redis.get(keys.exam("alice", "x2")) == b'fp2|s{"b":1}'


def test_a_summary_keeps_the_records_expiry_and_gives_one_to_a_record_without(any_redis):
    record(any_redis, ("fp1", "alice", "x1", 10))
    any_redis.expire(keys.exam("alice", "x1"), 100)
    keep(any_redis, ("x1", "{}"), ("gone", "{}"), ttl=3600)
    assert expires_in(any_redis, keys.exam("alice", "x1")) == 100
    assert expires_in(any_redis, keys.exam("alice", "gone")) == 3600
    assert state(any_redis)[keys.exam("alice", "gone")] == "|s{}"  # no fingerprint known


def test_a_record_kept_without_its_fingerprint_counts_the_exam_again(any_redis):
    keep(any_redis, ("x1", "{}"))  # its step-1 record expired before the summary came
    code, result = record(any_redis, ("fp1", "alice", "x1", 10))
    assert code == ScriptCode.APPLIED
    assert any_redis.get(keys.exam("alice", "x1")) == b"fp1|r" + result.encode()


def test_keeping_the_summary_drops_the_result_it_replaces(any_redis):
    record(any_redis, ("fp1", "alice", "x1", 10))
    keep(any_redis, ("x1", '{"a":1}'))
    assert state(any_redis)[keys.exam("alice", "x1")] == 'fp1|s{"a":1}'


def test_a_record_kept_as_a_hash_answers_its_replay_and_writes_nothing(any_redis):
    """Records of the hash layout (fp, result, then summary) live out their day."""
    any_redis.hset(keys.exam("alice", "x1"), mapping={"fp": "fp1", "summary": '{"a":1}'})
    any_redis.hset(keys.exam("alice", "x2"), mapping={"fp": "fp2", "result": '{"b":1}'})
    before = state(any_redis)
    replies = record(
        any_redis,
        ("fp1", "alice", "x1", 10),
        ("fp2", "alice", "x2", 10),
        ("fp9", "alice", "x1", 10),
        ctx=context(pace_limit=0),
    )
    assert replies == [
        ScriptCode.REPLAYED,
        '{"a":1}',
        ScriptCode.UNANSWERED,
        '{"b":1}',
        ScriptCode.KEY_REUSED,
        '{"fp":"fp9"}',
    ]
    assert written(before, state(any_redis)) == {}


def test_a_record_kept_as_a_hash_keeps_its_first_summary_in_the_hash(any_redis):
    any_redis.hset(keys.exam("alice", "x1"), mapping={"fp": "fp1", "result": '{"b":1}'})
    any_redis.expire(keys.exam("alice", "x1"), 100)
    assert keep(any_redis, ("x1", '{"a":1}')) == [b'{"a":1}']
    assert keep(any_redis, ("x1", '{"a":2}')) == [b'{"a":1}']
    assert state(any_redis)[keys.exam("alice", "x1")] == {"fp": "fp1", "summary": '{"a":1}'}
    assert expires_in(any_redis, keys.exam("alice", "x1")) == 100
