"""lua/hold_job_alert.lua called directly: a job's failure alerted, or held back and
counted for a quiet time after the last alert."""

from __future__ import annotations

from engine import keys
from engine.outcomes import ScriptCode
from engine.scripts import Scripts

NOW = 1_795_600_000_000
QUIET_MS = 15 * 60_000
TTL = 7 * 86_400
ALERTING = keys.job_alerting("persist")


def hold(redis, now: int = NOW):
    return Scripts(redis).hold_job_alert(keys=[ALERTING], args=[now, QUIET_MS, TTL])


def stored(redis) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in redis.hgetall(ALERTING).items()}


def test_a_first_failure_is_alerted_and_opens_the_quiet_time(any_redis):
    assert hold(any_redis) == [ScriptCode.APPLIED, 0]
    assert stored(any_redis) == {"next_ms": str(NOW + QUIET_MS), "held": "0"}
    assert TTL - 5 < any_redis.ttl(ALERTING) <= TTL


def test_failures_within_the_quiet_time_are_held_back_and_counted(any_redis):
    hold(any_redis)
    assert hold(any_redis, NOW + 5_000) == [ScriptCode.NO_CHANGE]
    assert hold(any_redis, NOW + QUIET_MS - 1) == [ScriptCode.NO_CHANGE]
    assert stored(any_redis) == {"next_ms": str(NOW + QUIET_MS), "held": "2"}


def test_the_first_failure_after_the_quiet_time_is_alerted_with_the_count_held_back(any_redis):
    hold(any_redis)
    hold(any_redis, NOW + 5_000)
    hold(any_redis, NOW + 10_000)
    assert hold(any_redis, NOW + QUIET_MS) == [ScriptCode.APPLIED, 2]
    assert stored(any_redis) == {"next_ms": str(NOW + 2 * QUIET_MS), "held": "0"}


def test_a_clock_moved_back_before_the_last_alert_alerts_again(any_redis):
    hold(any_redis)
    hold(any_redis, NOW + 5_000)
    assert hold(any_redis, NOW - 60 * 60_000) == [ScriptCode.APPLIED, 1]
    assert stored(any_redis) == {"next_ms": str(NOW - 60 * 60_000 + QUIET_MS), "held": "0"}
