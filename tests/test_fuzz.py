"""Property-based fuzzing of the whole API from its own OpenAPI spec (schemathesis).

Every operation gets a bounded number of generated requests, valid and invalid, with an
admin key, and every check schemathesis has runs on each answer: no 5xx; status, content
type, headers and body as the spec describes them; a request the spec calls valid is
accepted, one it calls invalid is refused.

A few rules cannot be written in JSON Schema; a valid request honours them the way a
real client does, so `honour_rules_the_schema_cannot_state` applies them to the
requests the spec calls valid (and leaves invalid ones alone):
- an Idempotency-Key or exam_id is a new one per request (the same key with another
  request is 422 idempotency_key_reused, which the spec documents);
- correct_answers is at most total_questions;
- the tool of the day set is not yesterday's;
- a leaderboard period names an existing, kept, past-or-current period of the board's
  type (the current one is used), and a snapshot read is not also a fresh read;
- a league cohort is read in a period of the leagues' type (the current week) and by an
  id of one of the rules' tiers ("bronze-<n>"; an unknown cohort is 404).
"""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import available_timezones

import fakeredis
import redis
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks

from config import ApiKey, Settings
from engine import db, migrate
from engine.clock import FixedClock
from engine.progression import tools
from tests.conftest import real_redis_url
from web import create_app

ADMIN_KEY = "fuzz-admin-key"
CURRENT_PERIODS = {"weekly": "2026-W48", "monthly": "2026-11", "yearly": "2026"}


def migrated_sqlite_url() -> str:
    """A SQLite database of the current schema, as a deployment has: admin routes use it."""
    folder = Path(tempfile.mkdtemp(prefix="questboard-fuzz-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    url = f"sqlite:///{folder / 'questboard.db'}"
    sql = db.connect(url)
    migrate.upgrade(sql)
    sql.dispose()
    return url


def fuzzed_app(redis_client):
    return create_app(
        Settings(api_keys=(ApiKey("admin", ADMIN_KEY),), database_url=migrated_sqlite_url()),
        redis_client=redis_client,
        clock=FixedClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC)),
    )


app = fuzzed_app(fakeredis.FakeRedis())
schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
engine = app.extensions["questboard.engine"]
# The same walk on the real server (this run's leased database, flushed around each
# operation's walk by the real_redis fixture): its Lua, limits and stream ids, not fakeredis's.
real_redis_schema = schemathesis.openapi.from_wsgi(
    "/openapi.json", fuzzed_app(redis.Redis.from_url(real_redis_url()))
)
fresh = itertools.count()


def yesterdays_tool() -> str:
    today = engine.calendar.game_day(engine.clock.now())
    return tools.tool_of_the_day(engine, today - timedelta(days=1))


def honour_rules_the_schema_cannot_state(case) -> None:
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = f"fuzz-{next(fresh)}"
    body = case.body if isinstance(case.body, dict) else None
    if body is not None and "exam_id" in body:
        body["exam_id"] = f"fuzz-{next(fresh)}"
    if body is not None and {"correct_answers", "total_questions"} <= set(body):
        body["correct_answers"] = min(body["correct_answers"], body["total_questions"])
    if body is not None and body.get("timezone") is not None:
        # a zone the server's zoneinfo knows (any other name is 422 unknown_timezone)
        zones = sorted(available_timezones())
        body["timezone"] = zones[len(str(body["timezone"])) % len(zones)]
    if body is not None and body.get("tool") == yesterdays_tool():
        body["tool"] = next(tool for tool in engine.rules.tools if tool != body["tool"])
    if case.query and case.query.get("source") == "snapshot":
        case.query["fresh"] = False
    path = case.path_parameters or {}
    if "cohort_id" in path:
        path["period"] = CURRENT_PERIODS[engine.rules.leagues.period]
        number = "".join(c for c in str(path["cohort_id"]) if c.isdigit())[:6]
        path["cohort_id"] = f"{engine.rules.leagues.tiers[0]}-{int(number or 0) + 1}"
    period_type = path.get("period_type")
    if case.query and "period" in case.query and period_type in CURRENT_PERIODS:
        case.query["period"] = CURRENT_PERIODS[period_type]


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)
def test_the_api_matches_its_spec_and_never_fails(case):
    honour_rules_the_schema_cannot_state(case)
    case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN_KEY}"})


@real_redis_schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,  # real_redis: one flush per operation's walk
    ],
    derandomize=True,
)
def test_the_api_on_the_real_redis_matches_its_spec_and_never_fails(case, real_redis):
    honour_rules_the_schema_cannot_state(case)
    case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN_KEY}"})


def test_every_schemathesis_check_runs():
    """call_and_validate runs every registered check its config enables: all of them."""
    load_all_checks()
    config = schema.config.checks_config_for(operation=None, phase=None)
    names = CHECKS.get_all_names()
    assert {"positive_data_acceptance", "negative_data_rejection"} <= set(names)
    assert {"response_schema_conformance", "response_headers_conformance"} <= set(names)
    assert [name for name in names if not config.get_by_name(name=name).enabled] == []
