"""Property-based fuzzing of the whole API from its own OpenAPI spec (schemathesis).

Every operation gets a bounded number of generated requests, valid and invalid, with a
server key and an admin key. Any 5xx, or a response whose status, content type or body
does not match the spec, fails the test.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import fakeredis
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config import ApiKey, Settings
from engine import db, migrate
from web import create_app

ADMIN_KEY = "fuzz-admin-key"


def migrated_sqlite_url() -> str:
    """A SQLite database of the current schema, as a deployment has: admin routes use it."""
    folder = Path(tempfile.mkdtemp(prefix="questboard-fuzz-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    url = f"sqlite:///{folder / 'questboard.db'}"
    sql = db.connect(url)
    migrate.upgrade(sql)
    sql.dispose()
    return url


app = create_app(
    Settings(api_keys=(ApiKey("admin", ADMIN_KEY),), database_url=migrated_sqlite_url()),
    redis_client=fakeredis.FakeRedis(),
)
schema = schemathesis.openapi.from_wsgi("/openapi.json", app)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)
def test_the_api_matches_its_spec_and_never_fails(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN_KEY}"}, checks=CHECKS)
