"""How long a retry is answered from the first request: an Idempotency-Key and an
exam_id are remembered for IDEMPOTENCY_TTL_SECONDS (24 h by default), and the spec
says so wherever it promises that sending again counts nothing twice. Past that
lifetime the same request is a new one, as the README's Idempotency section says."""

from __future__ import annotations

import pytest

from config import Settings
from engine import keys

LIFETIME = "IDEMPOTENCY_TTL_SECONDS (24 h by default)"
EXAM = {"category_id": "math", "score": 70, "total_questions": 10, "correct_answers": 7}


@pytest.fixture
def spec(client):
    return client.get("/openapi.json").get_json()


def test_the_spec_says_how_long_an_idempotency_key_is_remembered(spec):
    keyed = ["purchases", "ad-rewards", "streak/repair", "login"]
    operations = [spec["paths"][f"/v1/players/{{player_id}}/{route}"]["post"] for route in keyed]
    operations.append(spec["paths"]["/v1/admin/players/{player_id}/grants"]["post"])
    headers = [p for op in operations for p in op["parameters"] if p["name"] == "Idempotency-Key"]
    batch_item = spec["components"]["schemas"]["GrantBatchItem"]["properties"]

    assert len(headers) == 5
    assert all(LIFETIME in header["description"] for header in headers)
    assert LIFETIME in batch_item["idempotency_key"]["description"]


def test_the_spec_says_how_long_an_exam_id_is_remembered(spec):
    schemas = spec["components"]["schemas"]

    assert LIFETIME in schemas["ExamRequest"]["properties"]["exam_id"]["description"]
    assert LIFETIME in schemas["ExamBatchItem"]["properties"]["exam_id"]["description"]


def test_an_exam_sent_again_once_its_record_has_expired_counts_as_a_new_attempt(
    client, server_headers, store
):
    exam = EXAM | {"exam_id": "attempt-1"}
    first = client.post("/v1/players/alice/exams", headers=server_headers, json=exam)
    record = keys.exam("alice", "attempt-1")
    assert store.ttl(record) == Settings().idempotency_ttl_seconds == 86_400
    store.delete(record)  # as Redis expires it a day later
    again = client.post("/v1/players/alice/exams", headers=server_headers, json=exam)

    assert (first.status_code, again.status_code) == (201, 201)
    assert [board["exams"] for board in again.get_json()["boards"]] == [2] * 6


def test_a_grant_sent_again_once_its_key_has_expired_is_applied_again(client, admin_headers, store):
    grant = {"resources": {"coins": 10}, "reason": "welcome gift"}
    headers = admin_headers | {"Idempotency-Key": "welcome-alice"}
    client.post("/v1/admin/players/alice/grants", headers=headers, json=grant)
    record = keys.idempotency("alice", "grant", "welcome-alice")
    assert store.ttl(record) == Settings().idempotency_ttl_seconds == 86_400
    store.delete(record)  # as Redis expires it a day later
    again = client.post("/v1/admin/players/alice/grants", headers=headers, json=grant)

    assert again.status_code == 201
    assert again.get_json()["balances"]["coins"] == 20
