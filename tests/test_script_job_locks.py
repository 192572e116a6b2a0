"""The job-lock scripts called directly: take, renew, release and reap, on fakeredis and Redis.

A job's lock is a hash {run, expires_ms} that also expires by TTL; the running set holds
the runs in progress. Each test states the exact reply and what the call writes.
"""

from __future__ import annotations

from engine import keys
from engine.outcomes import ScriptCode
from engine.scripts import Scripts
from tests.script_state import state, written

NOW = 1_795_600_000_000
TTL = 30_000
LOCK, RUNNING = keys.job_lock("persist"), keys.job_running("persist")


def take(redis, run: str, now: int = NOW):
    return Scripts(redis).take_job_lock(keys=[LOCK, RUNNING], args=[run, now, TTL])


def renew(redis, run: str, now: int):
    return Scripts(redis).renew_job_lock(keys=[LOCK], args=[run, now, TTL])


def release(redis, run: str):
    return Scripts(redis).release_job_lock(keys=[LOCK, RUNNING], args=[run])


def reap(redis, now: int):
    return Scripts(redis).reap_job_runs(keys=[LOCK, RUNNING], args=[now])


def test_a_free_lock_is_taken_and_the_run_registered(any_redis):
    assert take(any_redis, "r1") == [ScriptCode.APPLIED, []]
    assert state(any_redis) == {
        LOCK: {"run": "r1", "expires_ms": str(NOW + TTL)},
        RUNNING: {"r1"},
    }
    assert 29_000 < any_redis.pttl(LOCK) <= TTL


def test_a_live_holder_keeps_the_lock_and_nothing_is_written(any_redis):
    take(any_redis, "r1")
    before = state(any_redis)
    assert take(any_redis, "r2", now=NOW + TTL - 1) == [ScriptCode.LOCK_HELD, []]
    assert written(before, state(any_redis)) == {}


def test_an_expired_holder_is_reported_stale_once_and_the_lock_taken(any_redis):
    take(any_redis, "r1")
    any_redis.sadd(RUNNING, "r0")  # a run that died long ago
    reply = take(any_redis, "r2", now=NOW + TTL)  # r1's lock ends at this instant
    assert reply[0] == ScriptCode.APPLIED
    assert sorted(reply[1]) == [b"r0", b"r1"]
    assert state(any_redis) == {
        LOCK: {"run": "r2", "expires_ms": str(NOW + 2 * TTL)},
        RUNNING: {"r2"},
    }
    assert take(any_redis, "r3", now=NOW + TTL + 1) == [ScriptCode.LOCK_HELD, []]  # reported once


def test_a_live_holder_is_not_stale_but_other_registered_runs_are(any_redis):
    take(any_redis, "r1")
    any_redis.sadd(RUNNING, "ghost")
    assert take(any_redis, "r2", now=NOW + 1) == [ScriptCode.LOCK_HELD, [b"ghost"]]
    assert state(any_redis)[RUNNING] == {"r1"}


def test_the_holder_renews_its_lock_before_it_expires(any_redis):
    take(any_redis, "r1")
    assert renew(any_redis, "r1", now=NOW + 10_000) == ScriptCode.APPLIED
    assert state(any_redis)[LOCK] == {"run": "r1", "expires_ms": str(NOW + 10_000 + TTL)}
    assert 29_000 < any_redis.pttl(LOCK) <= TTL


def test_another_run_cannot_renew_the_lock(any_redis):
    take(any_redis, "r1")
    before = state(any_redis)
    assert renew(any_redis, "r2", now=NOW + 1) == ScriptCode.LOCK_LOST
    assert written(before, state(any_redis)) == {}


def test_a_lock_past_its_expiry_is_not_renewed_even_by_its_holder(any_redis):
    take(any_redis, "r1")
    before = state(any_redis)
    assert renew(any_redis, "r1", now=NOW + TTL) == ScriptCode.LOCK_LOST
    assert written(before, state(any_redis)) == {}


def test_renewing_a_lock_that_is_gone_answers_lock_lost_and_creates_nothing(any_redis):
    assert renew(any_redis, "r1", now=NOW) == ScriptCode.LOCK_LOST
    assert state(any_redis) == {}


def test_a_run_that_ends_frees_its_lock_and_leaves_the_running_set(any_redis):
    take(any_redis, "r1")
    assert release(any_redis, "r1") == ScriptCode.APPLIED
    assert state(any_redis) == {}


def test_a_run_that_ends_after_losing_its_lock_leaves_the_new_holders_lock(any_redis):
    take(any_redis, "r1")
    take(any_redis, "r2", now=NOW + TTL)  # r1 was declared dead
    before = state(any_redis)
    assert release(any_redis, "r1") == ScriptCode.LOCK_LOST
    assert written(before, state(any_redis)) == {}


def test_a_registered_run_without_the_lock_leaves_the_running_set(any_redis):
    take(any_redis, "r1")
    any_redis.sadd(RUNNING, "r0")
    assert release(any_redis, "r0") == ScriptCode.APPLIED
    assert state(any_redis) == {
        LOCK: {"run": "r1", "expires_ms": str(NOW + TTL)},
        RUNNING: {"r1"},
    }


def test_reaping_removes_and_returns_runs_that_no_longer_hold_the_lock(any_redis):
    take(any_redis, "r1")
    any_redis.sadd(RUNNING, "r0")
    assert reap(any_redis, now=NOW + 1) == [b"r0"]
    assert state(any_redis)[RUNNING] == {"r1"}
    assert sorted(reap(any_redis, now=NOW + TTL)) == [b"r1"]  # its lock expired
    assert state(any_redis) == {LOCK: {"run": "r1", "expires_ms": str(NOW + TTL)}}
    assert reap(any_redis, now=NOW + TTL) == []  # each reported once


def test_reaping_with_nothing_registered_answers_nothing_and_writes_nothing(any_redis):
    assert reap(any_redis, now=NOW) == []
    assert state(any_redis) == {}
