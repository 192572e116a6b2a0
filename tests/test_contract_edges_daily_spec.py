"""The spec describes what GET /v1/players/{id}/daily answers inside `login` and `ads`.

A client generated from /openapi.json (or written from it) reads the day's login state
and ads count from these two objects; the spec must name their fields, their types and
that each is always there, as it does for every other object of the answer.
"""

from __future__ import annotations

JSON_TYPES = {"boolean": bool, "integer": int}


def resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_the_daily_answers_login_and_ads_objects_are_described_field_by_field(
    client, server_headers
):
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/v1/players/{player_id}/daily"]["get"]
    daily = resolve(spec, operation["responses"]["200"]["content"]["application/json"]["schema"])
    client.post("/v1/players/alice/login", headers=server_headers)
    client.post(
        "/v1/players/alice/ad-rewards",
        headers=server_headers | {"Idempotency-Key": "ad-1"},
        json={},
    )

    answer = client.get("/v1/players/alice/daily", headers=server_headers).get_json()

    assert answer["login"] == {"claimed": True, "streak": 1}
    assert answer["ads"] == {"watched": 1, "limit": 5}
    for name in ("login", "ads"):
        described = resolve(spec, daily["properties"][name])
        properties = described.get("properties", {})
        assert set(properties) == set(answer[name]), name
        assert set(described.get("required", [])) == set(answer[name]), name
        for field, value in answer[name].items():
            assert isinstance(value, JSON_TYPES[properties[field]["type"]]), (name, field)


def test_a_mission_not_completed_answers_credited_null_and_the_spec_allows_it(
    client, server_headers
):
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/v1/players/{player_id}/daily"]["get"]
    daily = resolve(spec, operation["responses"]["200"]["content"]["application/json"]["schema"])
    mission = resolve(spec, daily["properties"]["missions"]["items"])
    client.post("/v1/players/alice/login", headers=server_headers)

    missions = client.get("/v1/players/alice/daily", headers=server_headers).get_json()["missions"]

    assert False in {m["completed"] for m in missions}
    for answered in missions:
        assert (answered["credited"] is None) == (not answered["completed"]), answered
    assert set(mission["properties"]["credited"]["type"]) == {"object", "null"}
