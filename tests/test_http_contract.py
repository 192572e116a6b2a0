"""The HTTP contract shared by every route: keys, roles, health, query parameters.

Every /v1 route needs a key, every admin route refuses a server key, keys match by
value; /healthz needs none and reports Redis; the app refuses to start on a bad rules
file; every route refuses an unknown query parameter; the job dashboard answers with
the JSON 503 while its Redis is down. Input validation's messages and whole-value
patterns: tests/test_http_contract_validation.py; the OpenAPI spec and the docs:
tests/test_http_contract_spec.py.
"""

from __future__ import annotations

import re

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.conftest import error_of


def v1_routes(app):
    """Every (method, path) under /v1 in the URL map, with sample path values."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/"):
            continue
        path = re.sub(
            r"<(?:[a-z_]+:)?([a-z_]+)>", lambda m: "alice" if "player" in m[1] else "x", rule.rule
        )
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path


def test_the_route_walk_sees_the_routes(app):
    routes = set(v1_routes(app))
    assert ("POST", "/v1/players/alice/purchases") in routes
    assert ("POST", "/v1/admin/players/alice/grants") in routes


def test_every_v1_route_needs_a_key(app, client):
    for method, path in v1_routes(app):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
            response = client.open(path, method=method, headers=headers, json={})
            assert response.status_code == 401, (method, path, headers)
            assert response.get_json()["error"]["code"] == "unauthorized"


def test_every_admin_route_refuses_a_server_key(app, client, server_headers):
    admin_routes = [(m, p) for m, p in v1_routes(app) if p.startswith("/v1/admin/")]
    assert admin_routes
    for method, path in admin_routes:
        response = client.open(path, method=method, headers=server_headers, json={})
        assert response.status_code == 403, (method, path)
        assert response.get_json()["error"]["code"] == "forbidden"


def test_an_admin_key_opens_server_routes(client, admin_headers):
    assert client.get("/v1/catalog", headers=admin_headers).status_code == 200


def test_healthz_needs_no_key_and_shows_the_engine_time(client, clock):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["redis"] == "ok"
    assert body["now"] == clock.now().isoformat()


def test_healthz_reports_an_unreachable_redis(client, app, monkeypatch):
    engine = app.extensions["questboard.engine"]

    def down():
        raise RedisConnectionError("refused")

    monkeypatch.setattr(engine.redis, "ping", down)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "degraded"


@pytest.mark.parametrize("role", ["server", "admin"])
def test_keys_are_matched_by_value_not_prefix(client, role):
    secret = "server-test-key" if role == "server" else "admin-test-key"
    for wrong in (secret[:-1], secret + "x", secret.upper()):
        response = client.get("/v1/catalog", headers={"Authorization": f"Bearer {wrong}"})
        assert response.status_code == 401


def test_the_app_refuses_to_start_on_a_bad_rules_file(tmp_path, settings, fake_redis):
    import dataclasses

    from config import DEFAULT_RULES_FILE
    from engine.rules import RulesError
    from web import create_app

    bad = tmp_path / "rules.toml"
    bad.write_text(
        DEFAULT_RULES_FILE.read_text().replace("max_quantity = 100", "max_quantity = 0", 1)
    )
    with pytest.raises(RulesError, match=r"catalog\.logs\.max_quantity"):
        create_app(dataclasses.replace(settings, rules_file=bad), redis_client=fake_redis)


# Unknown query parameters are refused on every route ---------------------------------


def test_every_v1_route_refuses_an_unknown_query_parameter(app, client, admin_headers):
    routes = [
        (method, path.replace("/leaderboards/x", "/leaderboards/weekly"))
        for method, path in v1_routes(app)
    ]
    assert ("GET", "/v1/players/alice/wallet") in routes
    required = {"/v1/wallets": "player_id=alice&"}  # a route's required parameters, given
    for method, path in routes:
        response = client.open(
            f"{path}?{required.get(path, '')}foo=1",
            method=method,
            headers=admin_headers | {"Idempotency-Key": "query-check"},
            json={},
        )
        assert response.status_code == 400, (method, path)
        error = error_of(response)
        assert error["code"] == "validation_error", (method, path)
        assert error["details"] == {"foo": ["Unknown field."]}, (method, path)


def test_a_purchase_with_an_unknown_query_parameter_changes_nothing(client, server_headers):
    response = client.post(
        "/v1/players/alice/purchases?foo=1",
        headers=server_headers | {"Idempotency-Key": "q-1"},
        json={"item": "logs", "quantity": 1},
    )
    assert response.status_code == 400
    assert error_of(response)["details"] == {"foo": ["Unknown field."]}
    ledger = client.get("/v1/players/alice/ledger", headers=server_headers).get_json()
    assert ledger == {"player_id": "alice", "entries": []}


# The job dashboard, when its Redis is down --------------------------------------------


@pytest.mark.parametrize(
    "path", ["/admin/rq/", "/admin/rq/0/view/workers", "/admin/rq/0/data/queues.json"]
)
def test_the_job_dashboard_answers_an_unreachable_redis_with_the_json_503(
    settings, fake_redis, clock, admin_headers, path
):
    import dataclasses

    from web import create_app

    # Nothing listens on port 1: the dashboard's queue Redis is down, the engine's is up.
    down = dataclasses.replace(settings, rq_redis_url="redis://127.0.0.1:1/0")
    client = create_app(down, redis_client=fake_redis, clock=clock).test_client()
    response = client.get(path, headers=admin_headers)
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Retry-After"] == "1"
    assert response.get_json() == {
        "error": {
            "code": "service_unavailable",
            "message": "The live store is unavailable; retry shortly (with the same "
            "Idempotency-Key).",
            "details": {"retry_after": 1, "store": "live"},
        }
    }


def test_the_job_dashboard_still_needs_the_admin_key_while_its_redis_is_down(
    settings, fake_redis, clock, server_headers
):
    import dataclasses

    from web import create_app

    down = dataclasses.replace(settings, rq_redis_url="redis://127.0.0.1:1/0")
    client = create_app(down, redis_client=fake_redis, clock=clock).test_client()
    assert client.get("/admin/rq/").status_code == 401
    assert client.get("/admin/rq/", headers=server_headers).status_code == 403
