"""The HTTP contract shared by every route: keys, roles, the spec, health."""

from __future__ import annotations

import re

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.conftest import EXAM, error_of


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


# Patterns match the whole value: `$` alone would let a trailing newline through ------


def test_a_player_id_with_a_trailing_newline_is_refused_not_a_new_player(client, server_headers):
    response = client.get("/v1/players/bob%0A/wallet", headers=server_headers)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["details"] == {
        "player_id": ["'bob\\n' is not valid: it must match ^[A-Za-z0-9_.:-]{1,64}$."]
    }


def test_a_65_character_player_id_ending_in_a_newline_is_refused(client, server_headers):
    response = client.get(f"/v1/players/{'a' * 64}%0A/wallet", headers=server_headers)
    assert response.status_code == 400
    assert list(error_of(response)["details"]) == ["player_id"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"exam_id": "x\n"}, "exam_id"), ({"category_id": "math\n"}, "category_id")],
)
def test_exam_ids_and_categories_with_a_trailing_newline_are_refused(
    client, server_headers, admin_headers, changes, field
):
    response = client.post("/v1/players/alice/exams", headers=server_headers, json=EXAM | changes)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert list(error["details"]) == [field]
    assert repr(changes[field]) in error["details"][field][0]
    ranks = client.get("/v1/players/alice/ranks", headers=server_headers).get_json()
    assert ranks == {"player_id": "alice", "boards": []}


@pytest.mark.parametrize(
    "query",
    [{"category": "math\n"}, {"period": "2026-W48\n"}],
)
def test_a_board_query_with_a_trailing_newline_is_refused(client, server_headers, query):
    response = client.get("/v1/leaderboards/weekly", headers=server_headers, query_string=query)
    assert response.status_code == 400
    assert list(error_of(response)["details"]) == list(query)


def test_a_ledger_cursor_with_a_trailing_newline_is_refused(client, server_headers):
    response = client.get(
        "/v1/players/alice/ledger", headers=server_headers, query_string={"before": "1-1\n"}
    )
    assert response.status_code == 400
    assert list(error_of(response)["details"]) == ["before"]


def test_a_player_ban_on_an_id_with_a_trailing_newline_is_refused(client, admin_headers):
    response = client.post(
        "/v1/admin/player-bans",
        headers=admin_headers,
        json={"player_id": "bob\n", "reason": "cheating"},
    )
    assert response.status_code == 400
    assert list(error_of(response)["details"]) == ["player_id"]
    listed = client.get("/v1/admin/player-bans", headers=admin_headers).get_json()
    assert listed == {"bans": []}


def test_security_events_refuse_a_player_id_with_a_trailing_newline(client, admin_headers):
    response = client.get(
        "/v1/admin/security/events", headers=admin_headers, query_string={"player_id": "bob\n"}
    )
    assert response.status_code == 400
    assert list(error_of(response)["details"]) == ["player_id"]


def test_the_engine_refuses_categories_and_periods_with_a_trailing_newline(engine):
    from engine import boards
    from engine.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        boards.check_category("math\n")
    with pytest.raises(InvalidInputError):
        engine.calendar.parse("yearly", "2026\n")


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


# Validation messages name the real problem -------------------------------------------


def test_a_json_body_without_its_content_type_is_refused_as_such(client, server_headers):
    response = client.post(
        "/v1/players/alice/purchases",
        headers=server_headers | {"Idempotency-Key": "ct-1", "Content-Type": "text/plain"},
        data='{"item": "logs", "quantity": 1}',
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["details"] == {
        "json": ["The body must be JSON, sent with Content-Type: application/json."]
    }
    unmarked = client.post(
        "/v1/players/alice/exams", headers=server_headers, data='{"exam_id": "e1"}'
    )
    assert unmarked.status_code == 400
    assert error_of(unmarked)["details"] == error["details"]


def test_a_pattern_failure_quotes_the_value_sent(client, server_headers):
    response = client.post(
        "/v1/players/alice/exams",
        headers=server_headers,
        json=EXAM | {"category_id": "Math Stuff!"},
    )
    assert response.status_code == 400
    assert error_of(response)["details"] == {
        "category_id": [
            "'Math Stuff!' is not valid: it must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$."
        ]
    }


@pytest.mark.parametrize(
    ("changes", "details"),
    [
        ({"score": -1}, {"score": ["Must be between 0 and 10000."]}),
        ({"score": 2**40}, {"score": ["Must be between 0 and 10000."]}),
        ({"total_questions": 0}, {"total_questions": ["Must be between 1 and 1000."]}),
        ({"correct_answers": -1}, {"correct_answers": ["Must be between 0 and 1000."]}),
    ],
)
def test_an_exam_range_message_gives_the_rules_bounds(client, server_headers, changes, details):
    response = client.post("/v1/players/alice/exams", headers=server_headers, json=EXAM | changes)
    assert response.status_code == 400
    assert error_of(response)["details"] == details


def test_a_quantity_range_message_gives_the_rules_bound(client, server_headers):
    response = client.post(
        "/v1/players/alice/purchases",
        headers=server_headers | {"Idempotency-Key": "q-0"},
        json={"item": "logs", "quantity": 0},
    )
    assert response.status_code == 400
    assert error_of(response)["details"] == {"quantity": ["Must be between 1 and 100."]}


# The spec says exactly what the server does -------------------------------------------


def spec_of(client) -> dict:
    return client.get("/openapi.json").get_json()


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


def test_every_operation_has_a_stable_meaningful_operation_id(client):
    spec = spec_of(client)
    ids = {(method, path): op.get("operationId") for path, method, op in operations(spec)}
    assert ids[("post", "/v1/players/{player_id}/purchases")] == "createPurchase"
    assert ids[("get", "/v1/players/{player_id}/wallet")] == "getWallet"
    assert ids[("get", "/v1/leaderboards/{period_type}")] == "listLeaderboard"
    assert ids[("post", "/v1/players/{player_id}/exams")] == "recordExam"
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]*)+", i or "") for i in ids.values()), ids
    assert len(set(ids.values())) == len(ids)
    assert all(op.get("summary") for _, _, op in operations(spec))
    tags = {tag["name"] for tag in spec["tags"]}
    assert all(op["tags"] and set(op["tags"]) <= tags for _, _, op in operations(spec))


def test_every_error_status_is_described_with_the_error_schema(client):
    from web.errors import STATUS_BY_CODE

    spec = spec_of(client)
    schemas = spec["components"]["schemas"]
    assert "Inner" not in schemas and "ErrorBody" not in schemas
    assert schemas["Error"]["properties"]["error"] == {"$ref": "#/components/schemas/ErrorInfo"}
    assert set(STATUS_BY_CODE) <= set(schemas["ErrorInfo"]["properties"]["code"]["enum"])
    for path, method, op in operations(spec):
        responses = op["responses"]
        assert "default" not in responses, (method, path)
        if path.startswith("/v1/"):
            expected = {"400", "401", "403", "503"}
            if not path.startswith("/v1/admin/"):
                expected.add("429")
            if "requestBody" in op:
                expected.add("413")
            assert expected <= set(responses), (method, path)
        for status, response in responses.items():
            if status.startswith(("4", "5")) and path != "/healthz":
                media = response["content"]["application/json"]
                assert media["schema"] == {"$ref": "#/components/schemas/Error"}, (path, status)
                assert media["example"]["error"]["code"] in response["description"]
                codes = schemas["ErrorInfo"]["properties"]["code"]["enum"]
                assert set(response["x-error-codes"]) <= set(codes), (path, status)
    purchase = spec["paths"]["/v1/players/{player_id}/purchases"]["post"]["responses"]
    assert {"201", "404", "409", "413", "422", "429"} <= set(purchase)
    assert "insufficient_funds" in purchase["409"]["description"]
    assert "price_changed" in purchase["409"]["description"]
    assert "rapid_fire" in purchase["429"]["description"]
    board = spec["paths"]["/v1/leaderboards/{period_type}"]["get"]["responses"]
    assert set(board["404"]["x-error-codes"]) == {"period_expired", "not_found"}


def test_every_header_is_described(client):
    spec = spec_of(client)
    for path, method, op in operations(spec):
        names = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
        on_player_routes = path.startswith("/v1/") and not path.startswith("/v1/admin/")
        assert ("X-Player-IP" in names) == on_player_routes, (method, path)
        for status in ("429", "503"):
            if status in op["responses"] and path != "/healthz":
                assert op["responses"][status]["headers"]["Retry-After"]["required"] is True
    purchase = spec["paths"]["/v1/players/{player_id}/purchases"]["post"]
    replayed = purchase["responses"]["201"]["headers"]["Idempotent-Replayed"]
    assert replayed["schema"] == {"type": "string", "enum": ["true"], "example": "true"}
    assert [p["name"] for p in purchase["parameters"] if p.get("required")] == ["Idempotency-Key"]


def test_patterns_and_bounds_in_the_spec_are_the_enforced_ones(client):
    spec = spec_of(client)
    schemas = spec["components"]["schemas"]
    purchase = schemas["PurchaseRequest"]["properties"]
    assert purchase["quantity"]["maximum"] == 100
    price = purchase["expected_price"]
    assert "maxLength" not in price
    assert price["propertyNames"] == {
        "enum": ["coins", "logs", "steel", "bricks", "cement", "streak_freeze"]
    }
    assert price["minProperties"] == 1
    grant = schemas["GrantRequest"]["properties"]["resources"]
    assert grant["minProperties"] == 1
    assert grant["additionalProperties"] == {
        "type": "integer",
        "minimum": -1_000_000_000,
        "maximum": 1_000_000_000,
        "not": {"const": 0},
    }
    exam = schemas["ExamRequest"]["properties"]
    assert exam["score"]["maximum"] == 10_000
    assert exam["category_id"]["pattern"] == "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
    rules = client.application.extensions["questboard.engine"].rules
    assert schemas["ToolRequest"]["properties"]["tool"]["enum"] == list(rules.tools)
    ip = schemas["IpBanRequest"]["properties"]["ip"]["anyOf"]
    assert [branch.get("format", "cidr") for branch in ip] == ["ipv4", "ipv6", "cidr"]
    ledger = spec["paths"]["/v1/players/{player_id}/ledger"]["get"]["parameters"]
    before = next(p for p in ledger if p["name"] == "before")
    assert before["schema"]["pattern"] == "^[0-9]{1,19}-[0-9]{1,19}$"
    board = spec["paths"]["/v1/leaderboards/{period_type}"]["get"]["parameters"]
    period = next(p for p in board if p["name"] == "period")
    assert period["schema"]["pattern"] == "^[0-9]{4}(-W[0-9]{2}|-[0-9]{2})?$"


def test_limits_from_the_rules_are_written_into_the_spec(tmp_path, settings, fake_redis):
    import dataclasses

    from config import DEFAULT_RULES_FILE
    from web import create_app

    rules = tmp_path / "rules.toml"
    text = DEFAULT_RULES_FILE.read_text().replace("max_quantity = 100", "max_quantity = 7")
    rules.write_text(text.replace("max_exam_score = 10_000", "max_exam_score = 500"))
    app = create_app(dataclasses.replace(settings, rules_file=rules), redis_client=fake_redis)
    schemas = spec_of(app.test_client())["components"]["schemas"]
    assert schemas["PurchaseRequest"]["properties"]["quantity"]["maximum"] == 7
    assert schemas["ExamRequest"]["properties"]["score"]["maximum"] == 500


def test_every_example_in_the_spec_is_valid_against_its_schema(client):
    import jsonschema_rs

    spec = spec_of(client)

    def check(schema: dict, example, where):
        root = {**schema, "components": spec["components"]}
        errors = [e.message for e in jsonschema_rs.Draft202012Validator(root).iter_errors(example)]
        assert errors == [], where

    for path, method, op in operations(spec):
        params = op.get("parameters", []) + spec["paths"][path].get("parameters", [])
        for param in params:
            check(param["schema"], param["example"], (method, path, param["name"]))
        if "requestBody" in op:
            media = op["requestBody"]["content"]["application/json"]
            check(media["schema"], media["example"], (method, path, "body"))
        for status, response in op["responses"].items():
            media = response.get("content", {}).get("application/json")
            if media is not None:
                check(media["schema"], media["example"], (method, path, status))


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


# Interactive docs -----------------------------------------------------------------------


def test_the_interactive_docs_and_their_assets_are_served_without_a_key(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert 'src="/docs/assets/swagger-ui-bundle.js"' in html
    assert 'href="/docs/assets/swagger-ui.css"' in html
    assert 'url: "/openapi.json"' in html
    assert "https://" not in html and "http://" not in html  # nothing from a CDN
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert script.mimetype in ("text/javascript", "application/javascript")
    assert b"SwaggerUIBundle" in script.get_data()
    assert client.get("/docs/assets/swagger-ui.css").status_code == 200
    missing = client.get("/docs/assets/../../config.py")
    assert missing.status_code == 404


@pytest.mark.parametrize(("score", "status"), [(80.0, 201), (80.5, 400), ("80", 400), (True, 400)])
def test_a_whole_number_may_be_written_with_a_zero_fraction(client, server_headers, score, status):
    """JSON Schema counts 80.0 as an integer, so the spec's clients may send it."""
    response = client.post(
        "/v1/players/alice/exams", headers=server_headers, json=EXAM | {"score": score}
    )
    assert response.status_code == status
    if status == 201:
        assert response.get_json()["score"] == 80
        assert isinstance(response.get_json()["score"], int)
    else:
        assert list(error_of(response)["details"]) == ["score"]


@pytest.mark.parametrize(
    ("original", "changed", "field"),
    [
        ('"earthwork"]', '"earthwork\\n"]', r"tools\.names"),
        ('player = "10/minute"', 'player = "10/minute\\n"', "rate_limits.purchases"),
        ('id = "2026-autumn"', 'id = "2026-autumn\\n"', "battle_pass.seasons"),
    ],
)
def test_rules_names_with_a_trailing_newline_stop_start_up(tmp_path, original, changed, field):
    from config import DEFAULT_RULES_FILE
    from engine.rules import RulesError, load_rules

    text = DEFAULT_RULES_FILE.read_text()
    assert original in text
    bad = tmp_path / "rules.toml"
    bad.write_text(text.replace(original, changed, 1))
    with pytest.raises(RulesError, match=field):
        load_rules(bad)
