"""The HTTP contract shared by every route: keys, roles, the spec, health."""

from __future__ import annotations

import re

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError


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


def test_openapi_spec_needs_no_key_and_documents_the_routes(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert {
        "/v1/catalog",
        "/v1/players/{player_id}/wallet",
        "/v1/players/{player_id}/purchases",
        "/v1/players/{player_id}/ledger",
        "/v1/admin/players/{player_id}/grants",
    } <= set(spec["paths"])
    purchase = spec["paths"]["/v1/players/{player_id}/purchases"]["post"]
    assert {"201", "400", "404", "409", "422"} <= set(purchase["responses"])
    header = next(p for p in purchase["parameters"] if p["in"] == "header")
    assert header["name"] == "Idempotency-Key"
    assert header["required"] is True
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"]["/healthz"]["get"]["security"] == []


def test_request_schema_in_the_spec_is_the_validating_schema(client):
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    purchase = schemas["PurchaseRequest"]
    assert set(purchase["required"]) == {"item", "quantity"}
    assert purchase["properties"]["quantity"]["minimum"] == 1
    assert purchase.get("additionalProperties") is False


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
