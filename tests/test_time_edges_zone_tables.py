"""A player's own day stays true years after they set their zone: the table of local
days computed when the zone is set covers ten years (engine.progression.timezones), and
the zone_tables job extends it before it runs out (engine.ops.zone_tables)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from engine import keys
from engine.ops import zone_tables
from engine.progression import timezones
from jobs.tasks import run_job

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis

SETTINGS = "/v1/players/berta/settings"


def engine_of(app):
    return app.extensions["questboard.engine"]


def until(engine, player: str) -> date:
    return date.fromisoformat(engine.redis.hget(keys.settings(player), "until").decode())


def test_a_berlin_day_starts_at_three_in_summer_ten_years_after_the_zone_was_set(
    app, client, server_headers, clock
):
    """Set in November 2026, the table runs to November 2036. The daily job, run as the
    scheduler runs it, keeps it ahead: in July 2037 Berlin's day still starts at 03:00
    CEST (01:00 UTC). Before, the table's last entry (CET, winter 2036) went on for
    ever: the day started at 04:00 CEST, so a login at 03:05 was yesterday's."""
    engine = engine_of(app)
    put = client.put(SETTINGS, headers=server_headers, json={"timezone": "Europe/Berlin"})
    assert put.status_code == 200
    assert until(engine, "berta") == date(2036, 11, 29)
    run_job("zone_tables", engine=engine)  # the first run records the release
    for year in range(2027, 2038):  # the job's daily runs, one a year here
        clock.set(datetime(year, 1, 10, 3, 20, tzinfo=UTC))
        run_job("zone_tables", engine=engine)

    clock.set(datetime(2037, 7, 10, 1, 5, tzinfo=UTC))  # 03:05 in Berlin
    login = client.post("/v1/players/berta/login", headers=server_headers).get_json()
    assert (login["claimed"], login["next_claim_at"]) == (True, "2037-07-11T01:00:00+00:00")
    daily = client.get("/v1/players/berta/daily", headers=server_headers).get_json()
    assert (daily["game_day"], daily["next_reset_at"]) == (
        "2037-07-10",
        "2037-07-11T01:00:00+00:00",
    )
    assert until(engine, "berta") >= date(2038, 1, 1)


def test_a_table_is_extended_once_it_covers_less_than_a_year_ahead(engine, clock):
    """The job looks at the tables when the zone database or the reset hour changed, and
    also once the earliest table it last saw comes within a year of its end: then it
    gives each such table the ten years a zone set that day gets; the others, and every
    run before that date, are left alone."""
    timezones.set_timezone(engine, "alice", "Europe/Berlin")
    clock.advance(days=400)
    timezones.set_timezone(engine, "bob", "Australia/Sydney")
    first = zone_tables.refresh(engine)
    assert (first.skipped, first.replaced) == (False, 0)
    alice, bob = until(engine, "alice"), until(engine, "bob")
    renew_on = alice - timedelta(days=zone_tables.RENEW_DAYS)

    clock.set(datetime.combine(renew_on, datetime.min.time(), UTC) - timedelta(days=1))
    assert not zone_tables.due(engine)
    assert zone_tables.refresh(engine).skipped is True

    clock.set(datetime.combine(renew_on, datetime.min.time(), UTC) + timedelta(hours=4))
    assert zone_tables.due(engine)
    report = zone_tables.refresh(engine)
    assert (report.skipped, report.checked, report.replaced) == (False, 2, 1)
    today = engine.calendar.game_day(clock.now())
    fresh = timezones.settings_for(engine, "Europe/Berlin")
    assert engine.redis.hgetall(keys.settings("alice")) == {
        name.encode(): value.encode() for name, value in fresh.fields().items()
    }
    assert until(engine, "alice") == today + timedelta(days=timezones.WINDOW_DAYS - 3)
    assert until(engine, "bob") == bob  # 400 days later: not due yet, kept as it was
    assert not zone_tables.due(engine)  # the next look is a year before bob's end
