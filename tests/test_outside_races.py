"""Races tried from outside, on the real Redis: one request arriving twice at once, and
two requests of one player (or an admin's and a job's) crossing. Each interleaving is
forced: a barrier, or a function patched to pause at an exact point on an event; no
sleeps.
"""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from cli import commands
from engine import Engine, boards, db, keys, overrides
from engine.boards import exams, leaderboards, moderation, snapshots
from engine.economy import activity
from engine.errors import DailyLimitReachedError, NotFoundError
from engine.ops import job_lease, jobruns, persistence, rebuild
from engine.ops.job_catalog import SPECS, task_for
from engine.progression import timezones
from engine.security import ban_cache, bans
from engine.webhooks import delivery, subscriptions
from tests.redis_time import advance_to
from tests.webhook_receiver import Receiver, webhook_engine


@pytest.fixture
def hook_engine(real_redis, unlimited_rules, clock, sql_url):
    """On SQLite and on the MariaDB server."""
    yield from webhook_engine(real_redis, unlimited_rules, clock, sql_url)


@pytest.fixture
def durable(real_redis, unlimited_rules, clock, sqlite_url):
    engine = Engine(redis=real_redis, rules=unlimited_rules, clock=clock, database_url=sqlite_url)
    yield engine
    engine.sql.dispose()


def in_thread(task) -> threading.Thread:
    thread = threading.Thread(target=task, daemon=True)
    thread.start()
    return thread


def test_a_redelivery_asked_while_an_attempt_is_in_flight_is_not_undone_by_its_outcome(
    hook_engine, clock
):
    receiver = Receiver(fail_first=1)
    try:
        subscription, _ = subscriptions.create(hook_engine, receiver.url, ["grant.applied"])
        queued = subscriptions.ping(hook_engine, subscription.id)
        delivery.run(hook_engine)  # the first attempt fails: a retry is scheduled
        clock.advance(minutes=1)  # the retry is due
        held = threading.Event()
        receiver.hold, receiver.arrived = held, threading.Event()
        job = in_thread(lambda: delivery.run(hook_engine))
        assert receiver.arrived.wait(10)  # the second attempt is in flight
        again = subscriptions.redeliver(hook_engine, subscription.id, queued.id)
        assert (again.status, again.next_attempt_at) == ("pending", clock.now())
        receiver.hold = None  # the receiver is fixed: later attempts are answered 200
        held.set()  # the attempt in flight ends without an answer
        job.join(10)

        delivery.run(hook_engine)

        [logged] = subscriptions.deliveries(hook_engine, subscription.id)
        assert logged.status == "delivered"
        assert [e["id"] for e in receiver.events()] == [queued.event_id]
    finally:
        receiver.stop()


def pause_after_writing(engine, monkeypatch, key: str) -> tuple[threading.Event, ...]:
    """Make the engine's write of `key` (its MULTI under a WATCH of it) set `written` once
    done, then wait for `go`."""
    written, go = threading.Event(), threading.Event()
    transaction = engine.redis.transaction

    def then_pause(func, *watched, **kwargs):
        result = transaction(func, *watched, **kwargs)
        if key in watched:
            written.set()
            assert go.wait(10)
        return result

    monkeypatch.setattr(engine.redis, "transaction", then_pause)
    return written, go


def test_an_ad_sent_as_a_move_west_takes_effect_finds_the_dates_ads_already_counted(
    durable, monkeypatch
):
    """alice watched the day's 5 ads on the game day of the 25th; at 05:00 UTC on the
    26th its hash has expired (the 25th ended at 03:00, the grace is an hour) and its
    counts are in SQL. She moves to Los Angeles, where it is 21:00 on the 25th: the
    move brings the 25th's counts back. An ad of hers sent as soon as the new zone is
    in effect must find them there, not an empty 25th with five more ads to pay."""
    cap = durable.rules.ads.daily_cap
    for n in range(cap):
        activity.ad_reward(durable, "alice", f"ad-{n}")
    persistence.persist(durable)
    advance_to(durable, datetime(2026, 11, 26, 5, tzinfo=UTC))
    assert not durable.redis.exists(keys.daily("alice", "2026-11-25"))
    wallet = durable.redis.hgetall(keys.wallet("alice"))
    in_effect, go = pause_after_writing(durable, monkeypatch, keys.settings("alice"))
    move = in_thread(lambda: timezones.set_timezone(durable, "alice", "America/Los_Angeles"))
    assert in_effect.wait(10)

    try:
        with pytest.raises(DailyLimitReachedError):
            activity.ad_reward(durable, "alice", "ad-after-the-move")
    finally:
        go.set()
        move.join(10)

    assert durable.redis.hgetall(keys.wallet("alice")) == wallet  # nothing more paid
    with pytest.raises(DailyLimitReachedError):
        activity.ad_reward(durable, "alice", "ad-later")


def test_an_ad_sent_as_a_cleared_zone_takes_effect_finds_the_game_days_ads_counted(
    durable, monkeypatch
):
    """alice watched the day's 5 ads on the 25th in Tokyo, whose 25th ended at 18:00 UTC;
    at 19:30 its hash has expired (an hour's grace) and its counts are in SQL. She clears
    her zone: the game day of the 25th runs until 03:00 UTC, and clearing brings its
    counts back. An ad sent as soon as the zone is gone must find them."""
    timezones.set_timezone(durable, "alice", "Asia/Tokyo")
    for n in range(durable.rules.ads.daily_cap):
        activity.ad_reward(durable, "alice", f"ad-{n}")
    persistence.persist(durable)
    advance_to(durable, datetime(2026, 11, 25, 19, 30, tzinfo=UTC))
    assert not durable.redis.exists(keys.daily("alice", "2026-11-25"))
    wallet = durable.redis.hgetall(keys.wallet("alice"))
    cleared, go = pause_after_writing(durable, monkeypatch, keys.settings("alice"))
    clear = in_thread(lambda: timezones.set_timezone(durable, "alice", None))
    assert cleared.wait(10)

    try:
        with pytest.raises(DailyLimitReachedError):
            activity.ad_reward(durable, "alice", "ad-after-clearing")
    finally:
        go.set()
        clear.join(10)

    assert durable.redis.hgetall(keys.wallet("alice")) == wallet  # nothing more paid


def test_two_workers_given_one_due_time_run_the_job_once(durable, clock, monkeypatch):
    """Two workers hold the daily reset for the same due time (a dispatch and its
    hand-back, or an admin's run); the second found no finished run for it, then waits
    to take the lock while the first runs it from start to end. Once it has the lock,
    the due time is done: it skips it, as a later copy would."""
    due, ran = clock.now(), []
    waiting, first_done = threading.Event(), threading.Event()
    take = job_lease.Lease.take

    def take_after_the_first(lease):
        if threading.current_thread().name == "second":
            waiting.set()
            assert first_done.wait(10)
        return take(lease)

    monkeypatch.setattr(job_lease.Lease, "take", take_after_the_first)
    task = lambda engine, lease: ran.append(lease.run_id) or 1  # noqa: E731
    second: list[jobruns.JobRun] = []
    worker = threading.Thread(
        name="second",
        target=lambda: second.append(jobruns.run(durable, SPECS["daily_reset"], task, due)),
    )
    worker.start()
    assert waiting.wait(10)

    first = jobruns.run(durable, SPECS["daily_reset"], task, due)
    first_done.set()
    worker.join(10)

    assert first.status == "succeeded"
    assert ran == [first.run_id]
    assert (second[0].status, second[0].error) == ("skipped", "already ran for this time")


def test_a_snapshot_command_run_during_the_snapshot_job_leaves_every_rank_recorded(
    durable, clock, monkeypatch
):
    """`questboard leaderboard-snapshot` while the leaderboard_snapshot job is between
    copying a board and ranking the copy: the two shared the board's frozen copy, so
    the job ranked what the command had left of it (nothing) and published empty ranks:
    every player's movement read `new`. The command waits its turn instead."""
    for n, player in enumerate(["alice", "bob", "carol"]):
        exams.record_exam(durable, player, exams.Exam(f"e-{player}", "math", 10 * (n + 1), 10, 5))
    copied, go = threading.Event(), threading.Event()
    rank_copy = snapshots._rank_copy

    def pause_before_ranking(engine, board, snapshot_ms):
        if threading.current_thread().name == "job" and not copied.is_set():
            copied.set()
            assert go.wait(10)
        return rank_copy(engine, board, snapshot_ms)

    monkeypatch.setattr(snapshots, "_rank_copy", pause_before_ranking)
    spec, task = SPECS["leaderboard_snapshot"], task_for("leaderboard_snapshot", None)
    job = threading.Thread(name="job", target=lambda: jobruns.run(durable, spec, task))
    job.start()
    assert copied.wait(10)

    out = io.StringIO()
    try:
        code = commands.leaderboard_snapshot(durable, None, out)
    finally:
        go.set()
        job.join(10)

    assert (code, out.getvalue()) == (
        1,
        "leaderboard-snapshot did not run: another run is in progress.\n",
    )
    clock.advance(minutes=1)
    page = leaderboards.top(durable, boards.resolve(durable, "weekly"))
    assert [(e.player_id, e.rank_previous) for e in page.entries] == [
        ("carol", 1),
        ("bob", 2),
        ("alice", 3),
    ]


def test_two_zone_changes_at_once_leave_the_zone_redis_holds_in_sql_too(durable, monkeypatch):
    """Tokyo and Los Angeles are set for alice at once: Tokyo's change has written SQL's
    copy when Los Angeles' whole change runs; Tokyo's then ends, answered last. Redis
    and SQL must agree on the zone that stands, or a rebuild after a Redis loss gives
    alice the other one."""
    sql_written, go = threading.Event(), threading.Event()
    put = overrides.put

    def put_then_pause(engine, name, value):
        put(engine, name, value)
        if value == "Asia/Tokyo" and not sql_written.is_set():
            sql_written.set()
            assert go.wait(10)

    monkeypatch.setattr(overrides, "put", put_then_pause)
    tokyo = in_thread(lambda: timezones.set_timezone(durable, "alice", "Asia/Tokyo"))
    assert sql_written.wait(10)
    try:
        timezones.set_timezone(durable, "alice", "America/Los_Angeles")
    finally:
        go.set()
        tokyo.join(10)
    standing = timezones.get_settings(durable, "alice").timezone

    persistence.persist(durable)
    durable.redis.flushdb()
    rebuild.rebuild(durable)

    assert timezones.get_settings(durable, "alice").timezone == standing


class PausingRecords(dict):
    """A ban cache's records whose first store sets `stored`, then waits for `go`."""

    def __init__(self) -> None:
        super().__init__()
        self.stored, self.go = threading.Event(), threading.Event()

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        if not self.stored.is_set():
            self.stored.set()
            assert self.go.wait(10)


def test_a_banned_players_request_is_refused_while_another_thread_applies_a_ban_change(
    real_redis, rules, clock
):
    """One web process, two threads: alice's request looks up her ban's record just as
    another request brings the process's copy of the bans up to date with a ban placed
    elsewhere (which clears the records it keeps). Her request is refused with her ban,
    not failed."""
    web = Engine(redis=real_redis, rules=rules, clock=clock)
    elsewhere = Engine(redis=real_redis, rules=rules, clock=clock)  # another process
    ban = bans.create(elsewhere, "player", "alice", "cheating")
    now_ms = int(clock.now().timestamp() * 1000)
    cache = ban_cache.of(web)
    assert cache.ban_for(web, "nobody", None, now_ms) is None  # the copy, loaded
    records = cache._copy.records = PausingRecords()
    found = []
    alice = in_thread(lambda: found.append(_outcome(ban_cache.ban_for, web, "alice", now_ms)))
    assert records.stored.wait(10)

    bans.create(elsewhere, "player", "carol", "spam")
    try:
        assert ban_cache.ban_for(web, "carol", None, now_ms + 1_000).ban_id != ban.ban_id
    finally:
        records.go.set()
        alice.join(10)

    assert [getattr(result, "ban_id", result) for result in found] == [ban.ban_id]


def _outcome(function, engine, player, now_ms):
    try:
        return function(engine, player, None, now_ms)
    except Exception as error:  # the assertion shows it
        return error


def paused_after_reading_the_top(monkeypatch) -> tuple[threading.Event, threading.Event]:
    """The thread named "job" pauses once, after a snapshot read the weekly board's top."""
    read, go = threading.Event(), threading.Event()
    read_top = leaderboards.read_top

    def then_pause(engine, board, offset, limit):
        top = read_top(engine, board, offset, limit)
        weekly = (board.period_type, board.category) == ("weekly", None)
        if threading.current_thread().name == "job" and weekly and not read.is_set():
            read.set()
            assert go.wait(10)
        return top

    monkeypatch.setattr(leaderboards, "read_top", then_pause)
    return read, go


def weekly_snapshot(engine) -> list[str] | None:
    try:
        page = leaderboards.top(engine, boards.resolve(engine, "weekly"), source="snapshot")
    except NotFoundError:
        return None
    return [entry.player_id for entry in page.entries]


@pytest.mark.parametrize("removal_ends", ["before the snapshot publishes", "after it"])
def test_a_cheater_removed_while_a_snapshot_runs_is_not_in_the_snapshot(
    durable, monkeypatch, removal_ends
):
    """DELETE /v1/admin/players/cheat/leaderboards lands while the snapshot job has read
    the weekly top with the cheater in it: whether the removal ends before the job
    publishes or only after, ?source=snapshot never shows the cheater afterwards."""
    for n, player in enumerate(["alice", "bob", "cheat"]):
        exams.record_exam(durable, player, exams.Exam(f"e-{player}", "math", 10 * (n + 1), 10, 5))
    read, go = paused_after_reading_the_top(monkeypatch)
    job = threading.Thread(name="job", target=lambda: snapshots.take_snapshots(durable))
    job.start()
    assert read.wait(10)
    if removal_ends == "after it":  # the removal's deletes done, its count not yet raised
        incr = durable.redis.incr

        def publish_first(key, *args):
            go.set()
            job.join(10)
            return incr(key, *args)

        monkeypatch.setattr(durable.redis, "incr", publish_first)
    try:
        moderation.remove_player(durable, "cheat")
    finally:
        go.set()
        job.join(10)

    assert weekly_snapshot(durable) in (None, ["bob", "alice"])
    with durable.sql.connect() as conn:  # the snapshots' SQL copies, read for past periods
        documents = conn.execute(select(db.leaderboard_cache.c.document)).scalars().all()
    assert not [d for d in documents if '"cheat"' in d]
