"""Property-based fuzzing of the whole API from its own OpenAPI spec (schemathesis).

Every operation gets a bounded number of generated requests, valid and invalid, with a
server key and an admin key. Any 5xx, or a response whose status, content type or body
does not match the spec, fails the test.
"""

from __future__ import annotations

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
from web import create_app

ADMIN_KEY = "fuzz-admin-key"
app = create_app(
    Settings(api_keys=(ApiKey("admin", ADMIN_KEY),)), redis_client=fakeredis.FakeRedis()
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
