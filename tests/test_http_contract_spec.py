"""The HTTP contract as written: the OpenAPI spec says exactly what the server does.

The spec needs no key and documents every route with the validating schemas; every
operation has a stable, meaningful operationId; every error status and header is
described; its patterns, bounds and the rules' limits are the enforced ones; every
example is valid against its schema; the interactive docs and their assets are
served without a key and from nothing outside.
"""

from __future__ import annotations

import re


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


# The spec says exactly what the server does -------------------------------------------


def spec_of(client) -> dict:
    return client.get("/openapi.json").get_json()


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


def test_every_property_of_every_schema_has_a_type(client):
    """A generated client types each field from the spec: a property without a type (a
    marshmallow Function field left undescribed) reaches it as `Any`."""
    untyped = [
        f"{name}.{prop}"
        for name, schema in spec_of(client)["components"]["schemas"].items()
        for prop, field in schema.get("properties", {}).items()
        if not {"type", "$ref", "allOf", "oneOf", "anyOf"} & set(field)
    ]
    assert untyped == []


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


def test_every_answer_a_replay_can_be_documents_the_replay_header(client):
    """A replay answers the first answer again with Idempotent-Replayed: a success, a
    refusal the engine recorded (409: tests/test_http_replay_headers.py), and an exam
    sent again (200). A reused key (422) is no replay."""
    spec = spec_of(client)
    by_id = {op["operationId"]: op["responses"] for _, _, op in operations(spec)}
    replaying = ["createPurchase", "createGrant", "createAdReward", "repairStreak", "recordExam"]
    for operation_id in replaying:
        responses = by_id[operation_id]
        replayed = [status for status in responses if status[0] == "2" or status == "409"]
        for status in replayed:
            headers = responses[status].get("headers", {})
            assert "Idempotent-Replayed" in headers, (operation_id, status)
        assert "Idempotent-Replayed" not in responses["422"].get("headers", {})
    assert {"200", "201"} <= set(by_id["recordExam"])


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
