"""Zoned players' tables of local days follow a new zone database or reset hour
(engine.ops.zone_tables, lua/replace_zone_table.lua, the zone_tables job)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from engine import keys
from engine.calendar import GameCalendar
from engine.ops import job_catalog, zone_tables
from engine.outcomes import ScriptCode
from engine.progression import timezones
from engine.runtime import Engine
from engine.scripts import Scripts


def table(engine: Engine, player: str) -> bytes:
    return engine.redis.hget(keys.settings(player), "days")


def stale(engine: Engine, player: str, as_if: str) -> bytes:
    """Make the player's table the one another zone's rules give for the same days, as
    a release of the zone database that changed their zone leaves it; the old table."""
    fresh = table(engine, player)
    fields = engine.redis.hgetall(keys.settings(player))
    first = timezones.parse(fields).days[0][0]
    wrong = timezones.day_table(
        timezones.zone_of(as_if), engine.calendar.reset_hour, date.fromordinal(first), 3660
    )
    engine.redis.hset(
        keys.settings(player), "days", ";".join(f"{day}:{shift}" for day, shift in wrong)
    )
    return fresh


def test_the_script_replaces_the_table_it_was_computed_from(any_redis):
    key = keys.settings("alice")
    any_redis.hset(key, mapping={"timezone": "Asia/Tokyo", "days": "1:2", "until": "2036-11-23"})
    script = Scripts(any_redis).replace_zone_table
    replaced = script(keys=[key], args=["Asia/Tokyo", "1:2", "1:3", "2046-11-20"])
    assert replaced == ScriptCode.APPLIED
    assert any_redis.hgetall(key) == {
        b"timezone": b"Asia/Tokyo",
        b"days": b"1:3",
        b"until": b"2046-11-20",
    }


@pytest.mark.parametrize(
    ("timezone", "days"),
    [("Europe/Paris", "1:2"), ("Asia/Tokyo", "1:9")],  # another zone set, or recomputed
)
def test_the_script_leaves_settings_changed_since_the_read(any_redis, timezone, days):
    key = keys.settings("alice")
    any_redis.hset(key, mapping={"timezone": timezone, "days": days, "until": "2036-11-23"})
    script = Scripts(any_redis).replace_zone_table
    replaced = script(keys=[key], args=["Asia/Tokyo", "1:2", "1:3", "2046-11-20"])
    assert replaced == ScriptCode.NO_CHANGE
    assert any_redis.hget(key, "days") == days.encode()
    assert any_redis.hget(key, "until") == b"2036-11-23"


def test_the_script_writes_nothing_for_a_player_back_on_the_game_calendar(any_redis):
    key = keys.settings("alice")
    replaced = Scripts(any_redis).replace_zone_table(
        keys=[key], args=["Asia/Tokyo", "1:2", "1:3", "2046-11-20"]
    )
    assert replaced == ScriptCode.NO_CHANGE
    assert not any_redis.exists(key)


def test_a_stale_table_is_replaced_and_a_current_one_left_alone(engine):
    timezones.set_timezone(engine, "alice", "America/Asuncion")
    timezones.set_timezone(engine, "bob", "Asia/Tokyo")
    fresh = stale(engine, "alice", as_if="America/Santiago")
    assert table(engine, "alice") != fresh
    bob = table(engine, "bob")
    report = zone_tables.refresh(engine)
    assert (report.checked, report.replaced, report.skipped) == (2, 1, False)
    assert table(engine, "alice") == fresh
    assert table(engine, "bob") == bob


def test_the_days_and_their_span_stay_those_the_player_was_given(engine, clock):
    timezones.set_timezone(engine, "alice", "Europe/Berlin")
    given = engine.redis.hgetall(keys.settings("alice"))
    clock.advance(days=40)  # the refresh runs weeks later: the same days, recomputed
    stale(engine, "alice", as_if="Asia/Tokyo")
    zone_tables.refresh(engine, force=True)
    assert engine.redis.hgetall(keys.settings("alice")) == given


def test_a_new_reset_hour_recomputes_every_table(engine, any_redis, rules, clock):
    timezones.set_timezone(engine, "alice", "Asia/Tokyo")
    zone_tables.refresh(engine)
    at_three = table(engine, "alice")
    later = Engine(redis=any_redis, rules=rules, clock=clock, calendar=GameCalendar("UTC", 5))
    assert zone_tables.due(later)
    assert zone_tables.refresh(later).replaced == 1
    _, shift = (int(n) for n in table(later, "alice").split(b";")[0].split(b":"))
    assert shift == 5 * 3600 - 9 * 3600  # Tokyo's day now starts at 05:00, UTC+9
    assert table(later, "alice") != at_three


def test_a_run_does_nothing_until_the_zone_database_changes(engine, monkeypatch):
    timezones.set_timezone(engine, "alice", "America/Asuncion")
    monkeypatch.setattr(zone_tables, "zone_database_version", lambda: "/usr/share/zoneinfo 2025b")
    assert zone_tables.refresh(engine).skipped is False  # nothing recorded yet
    stale(engine, "alice", as_if="America/Santiago")
    assert zone_tables.refresh(engine).skipped is True  # the same release: not looked at
    assert zone_tables.refresh(engine, force=True).replaced == 1
    monkeypatch.setattr(zone_tables, "zone_database_version", lambda: "/usr/share/zoneinfo 2026a")
    stale(engine, "alice", as_if="America/Santiago")
    assert zone_tables.refresh(engine).replaced == 1  # a new release
    assert engine.redis.get(keys.zone_tables()) == b"/usr/share/zoneinfo 2026a|3"


def test_an_unknown_release_is_looked_at_every_run(engine, monkeypatch):
    timezones.set_timezone(engine, "alice", "America/Asuncion")
    monkeypatch.setattr(zone_tables, "zone_database_version", lambda: "")
    zone_tables.refresh(engine)
    stale(engine, "alice", as_if="America/Santiago")
    assert zone_tables.refresh(engine).replaced == 1


def test_a_zone_the_database_no_longer_knows_keeps_its_table(engine):
    timezones.set_timezone(engine, "alice", "Asia/Tokyo")
    engine.redis.hset(keys.settings("alice"), "timezone", "Mars/Olympus_Mons")
    kept = table(engine, "alice")
    report = zone_tables.refresh(engine, force=True)
    assert (report.checked, report.replaced) == (1, 0)
    assert table(engine, "alice") == kept


def test_the_job_is_scheduled_daily_and_runs_the_refresh(engine):
    spec = job_catalog.SPECS["zone_tables"]
    assert (spec.days, spec.after_reset) == (1, timedelta(minutes=20))
    timezones.set_timezone(engine, "alice", "America/Asuncion")
    fresh = stale(engine, "alice", as_if="America/Santiago")
    task = job_catalog.task_for("zone_tables", dispatch=None)  # type: ignore[arg-type]
    assert task(engine, None) == 1
    assert table(engine, "alice") == fresh


def test_the_release_is_read_from_the_database_zoneinfo_reads():
    version = zone_tables.zone_database_version()
    assert version  # this machine's system database names its release
    assert version.rsplit(" ", 1)[1][:4].isdigit()  # "2025b"
