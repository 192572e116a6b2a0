"""Every replay over HTTP says it is one, a refusal as much as a success.

A purchase, grant, ad reward or exam answered again for its Idempotency-Key carries
`Idempotent-Replayed: true`; a refusal that is not a replay does not.
"""

from __future__ import annotations

import pytest

from tests.conftest import error_of
from tests.http_economy import GRANTS, buy
from tests.http_economy import funded as funded  # a fixture: its own name

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis


def test_a_replayed_insufficient_funds_refusal_carries_the_replay_header(
    client, server_headers, funded
):
    funded(10)
    first = buy(client, server_headers, key="short", item="steel", quantity=1)
    replay = buy(client, server_headers, key="short", item="steel", quantity=1)
    assert first.status_code == replay.status_code == 409
    assert replay.get_json() == first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["Content-Type"] == "application/json"


def test_a_replayed_purchase_refusal_keeps_its_header_after_the_rules_change(
    client, app, server_headers, funded
):
    """A replay answered from the recorded outcome, not from the script, says so too."""
    import dataclasses

    funded(10)
    first = buy(client, server_headers, key="short", item="steel", quantity=1)
    engine = app.extensions["questboard.engine"]
    catalog = dict(engine.rules.catalog)
    del catalog["steel"]  # the item is gone: only the recorded outcome can answer
    engine.rules = dataclasses.replace(engine.rules, catalog=catalog)
    replay = buy(client, server_headers, key="short", item="steel", quantity=1)
    assert replay.status_code == 409
    assert replay.get_json() == first.get_json()
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_a_replayed_grant_refusal_carries_the_replay_header(client, admin_headers):
    headers = admin_headers | {"Idempotency-Key": "take"}
    body = {"resources": {"coins": -5}, "reason": "correction"}
    first = client.post(GRANTS, headers=headers, json=body)
    replay = client.post(GRANTS, headers=headers, json=body)
    assert first.status_code == replay.status_code == 409
    assert error_of(replay)["code"] == "insufficient_funds"
    assert replay.get_json() == first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_a_replayed_grant_carries_the_replay_header(client, admin_headers):
    headers = admin_headers | {"Idempotency-Key": "give"}
    body = {"resources": {"coins": 5}, "reason": "prize"}
    first = client.post(GRANTS, headers=headers, json=body)
    replay = client.post(GRANTS, headers=headers, json=body)
    assert first.status_code == replay.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_a_replayed_ad_reward_and_ad_refusal_carry_the_replay_header(client, app, server_headers):
    cap = app.extensions["questboard.engine"].rules.ads.daily_cap

    def watch(key):
        return client.post(
            "/v1/players/alice/ad-rewards", headers=server_headers | {"Idempotency-Key": key}
        )

    for n in range(cap):
        assert watch(f"ad-{n}").status_code == 201
    replayed = watch("ad-0")
    assert replayed.status_code == 201
    assert replayed.headers["Idempotent-Replayed"] == "true"
    refused = watch("ad-over")
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "daily_limit_reached"
    assert "Idempotent-Replayed" not in refused.headers
    again = watch("ad-over")
    assert again.status_code == 409
    assert again.get_json() == refused.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_replayed_exam_carries_the_replay_header(client, server_headers):
    exam = {
        "exam_id": "attempt-1",
        "category_id": "math",
        "score": 10,
        "total_questions": 10,
        "correct_answers": 5,
    }
    first = client.post("/v1/players/alice/exams", headers=server_headers, json=exam)
    replay = client.post("/v1/players/alice/exams", headers=server_headers, json=exam)
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.get_json() == first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_a_refusal_that_is_not_a_replay_has_no_replay_header(client, server_headers, funded):
    funded(500)
    buy(client, server_headers, key="k", item="steel", quantity=1)
    reused = buy(client, server_headers, key="k", item="steel", quantity=2)
    assert reused.status_code == 422
    assert "Idempotent-Replayed" not in reused.headers
