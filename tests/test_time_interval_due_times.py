"""The interval jobs run when `questboard jobs list` (GET /v1/admin/jobs) says they are due.

engine.ops.schedule puts an interval job's due times on multiples of its interval since
the epoch, and the listing shows the next one; the scheduler process must queue the runs
at those times, not an interval after whenever it started (a leaderboard snapshot listed
for 12:00 ran at 13:17 after a start at 11:17), nor at once at every restart.
"""

from __future__ import annotations

from engine.clock import FixedClock, to_ms
from engine.ops import jobruns
from engine.ops.job_catalog import INTERVAL_JOBS, SPECS
from jobs import scheduler
from tests.job_alerts import utc


def _registered(real_redis, sched) -> dict[str, float]:
    """Each interval job's next registered time, in Unix seconds."""
    return {
        name: real_redis.zscore(sched.scheduled_jobs_key, f"{scheduler.PREFIX}{name}")
        for name in INTERVAL_JOBS
    }


def _listed(engine) -> dict[str, float]:
    """Each interval job's next due time as `questboard jobs list` shows it."""
    return {
        state.spec.name: to_ms(state.next_due) / 1000
        for state in jobruns.status(engine, SPECS)
        if state.spec.name in INTERVAL_JOBS
    }


def test_a_scheduler_started_mid_interval_registers_the_listed_due_times(real_redis, engine, clock):
    """Started at 11:17:34.4, the snapshot is listed for 12:00 and registered for 12:00
    (it was registered for 13:17:34, and taken at once besides); the watchdog for 11:18."""
    started = utc(2026, 11, 25, 11, 17, 34, 400_000)
    clock.set(started)
    sched = scheduler.build(real_redis, clock=FixedClock(started))
    scheduler.register(sched)

    registered = _registered(real_redis, sched)
    assert registered == _listed(engine)
    assert registered["leaderboard_snapshot"] == utc(2026, 11, 25, 12).timestamp()
    assert registered["watchdog"] == utc(2026, 11, 25, 11, 18).timestamp()
    assert registered["persist"] == utc(2026, 11, 25, 11, 17, 35).timestamp()


def test_each_tick_registers_the_next_listed_due_time(real_redis, engine, clock):
    """A tick 0.8 s after 12:00 (ticks come every second, a little late) queues the
    snapshot and registers its next run for 14:00, as listed, not for 14:00:00.8; after
    a stop of the scheduler of five hours the next run is the next listed time too, not
    one for every interval missed."""
    scheduler_clock = FixedClock(utc(2026, 11, 25, 11, 59, 59))
    sched = scheduler.build(real_redis, clock=scheduler_clock)
    scheduler.register(sched)

    scheduler_clock.set(utc(2026, 11, 25, 12, 0, 0, 800_000))
    sched.enqueue_jobs()  # the registered times are in the past of the real clock
    clock.set(scheduler_clock.now())
    assert _registered(real_redis, sched) == _listed(engine)
    assert _registered(real_redis, sched)["leaderboard_snapshot"] == (
        utc(2026, 11, 25, 14).timestamp()
    )

    scheduler_clock.set(utc(2026, 11, 25, 19, 3, 10))
    sched.enqueue_jobs()
    clock.set(scheduler_clock.now())
    assert _registered(real_redis, sched) == _listed(engine)
    assert _registered(real_redis, sched)["leaderboard_snapshot"] == (
        utc(2026, 11, 25, 20).timestamp()
    )
