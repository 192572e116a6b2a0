"""The webhook admin writes are safe to retry: POST /v1/admin/webhooks and
/rotate-secret take an Idempotency-Key, and a retry is answered with the first answer
(`Idempotent-Replayed: true`) instead of a second subscription or a second rotation.
A subscription's description is one readable line, as a ban's reason is."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from engine import keys
from engine.economy.idempotency import KEPT, IdempotentRequest
from engine.webhooks import subscriptions
from engine.webhooks.encryption import SecretBox
from tests.conftest import error_of
from tests.test_webhook_secrets import KEY_A, stored, the_forms_of
from web import create_app

URL = "https://93.184.215.14/questboard-hooks"  # a public address: no DNS needed
BODY = {"url": URL, "events": ["purchase.completed"], "description": "game server"}


def create(client, admin_headers, key, **body):
    return client.post(
        "/v1/admin/webhooks",
        json={**BODY, **body},
        headers=admin_headers | {"Idempotency-Key": key},
    )


def rotate(client, admin_headers, subscription_id, key, grace=3600):
    return client.post(
        f"/v1/admin/webhooks/{subscription_id}/rotate-secret",
        json={"grace_period_seconds": grace},
        headers=admin_headers | {"Idempotency-Key": key},
    )


def listed(client, admin_headers):
    return client.get("/v1/admin/webhooks", headers=admin_headers).get_json()["subscriptions"]


@pytest.mark.app_on_both_backends
def test_a_retried_create_is_one_subscription_answered_as_the_first_time(
    client, admin_headers, clock
):
    first = create(client, admin_headers, "hook-1")
    clock.advance(seconds=30)  # the admin tool timed out and sends it again
    retry = create(client, admin_headers, "hook-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.get_json() == first.get_json()  # the same id, the same secret
    assert "Idempotent-Replayed" not in first.headers
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert [s["id"] for s in listed(client, admin_headers)] == [first.get_json()["id"]]


@pytest.mark.app_on_both_backends
def test_a_retried_rotation_answers_the_same_secret_and_keeps_the_old_one_in_grace(
    app, client, admin_headers
):
    created = create(client, admin_headers, "hook-1").get_json()
    first = rotate(client, admin_headers, created["id"], "rotation-1")
    retry = rotate(client, admin_headers, created["id"], "rotation-1")

    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.get_json() == first.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    row = stored(app.extensions["questboard.engine"], created["id"])
    assert (row.secret, row.previous_secret) == (first.get_json()["secret"], created["secret"])
    assert first.get_json()["previous_secret_expires_at"] == "2026-11-25T13:00:00+00:00"


def test_a_key_is_a_new_request_after_idempotency_ttl_seconds(
    app, client, admin_headers, store, clock
):
    created = create(client, admin_headers, "hook-1").get_json()
    rotate(client, admin_headers, created["id"], "rotation-1")
    ttl = app.extensions["questboard.engine"].idempotency_ttl_seconds
    creation = keys.admin_idempotency("webhooks", "hook-1")
    rotation = keys.admin_idempotency(f"webhooks/{created['id']}/rotate-secret", "rotation-1")
    for key in (creation, rotation):
        assert ttl - 60 < store.ttl(key) <= ttl
    clock.advance(seconds=ttl)  # SQL's copy of the record ends with it
    store.delete(creation)  # as Redis does once it has lived IDEMPOTENCY_TTL_SECONDS
    again = create(client, admin_headers, "hook-1")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert len(listed(client, admin_headers)) == 2


def test_a_key_reused_with_another_body_is_422_and_changes_nothing(app, client, admin_headers):
    created = create(client, admin_headers, "hook-1").get_json()
    for other in ({"events": ["player.banned"]}, {"description": "other"}, {"url": URL + "2"}):
        reused = create(client, admin_headers, "hook-1", **other)
        assert reused.status_code == 422
        assert error_of(reused)["code"] == "idempotency_key_reused"
        assert "Idempotent-Replayed" not in reused.headers
    assert [s["id"] for s in listed(client, admin_headers)] == [created["id"]]

    rotated = rotate(client, admin_headers, created["id"], "rotation-1", grace=3600).get_json()
    reused = rotate(client, admin_headers, created["id"], "rotation-1", grace=60)
    assert reused.status_code == 422
    assert error_of(reused)["code"] == "idempotency_key_reused"
    row = stored(app.extensions["questboard.engine"], created["id"])
    assert (row.secret, row.previous_secret) == (rotated["secret"], created["secret"])


def test_a_rotation_key_belongs_to_its_subscription(client, admin_headers):
    one = create(client, admin_headers, "hook-1").get_json()
    two = create(client, admin_headers, "hook-2").get_json()
    first = rotate(client, admin_headers, one["id"], "rotation-1")
    other = rotate(client, admin_headers, two["id"], "rotation-1")
    assert (first.status_code, other.status_code) == (200, 200)
    assert "Idempotent-Replayed" not in other.headers
    assert other.get_json()["id"] == two["id"]
    assert other.get_json()["secret"] != first.get_json()["secret"]


def test_create_and_rotate_without_a_key_are_400_and_change_nothing(app, client, admin_headers):
    created = create(client, admin_headers, "hook-1").get_json()
    for response in (
        client.post("/v1/admin/webhooks", json=BODY, headers=admin_headers),
        client.post(
            f"/v1/admin/webhooks/{created['id']}/rotate-secret", json={}, headers=admin_headers
        ),
        create(client, admin_headers, "two words"),
    ):
        assert response.status_code == 400
        assert "Idempotency-Key" in error_of(response)["details"]
    assert len(listed(client, admin_headers)) == 1
    row = stored(app.extensions["questboard.engine"], created["id"])
    assert (row.secret, row.previous_secret) == (created["secret"], None)


def test_a_refused_request_leaves_its_key_free(client, admin_headers):
    refused = create(client, admin_headers, "hook-1", url="http://127.0.0.1/x")
    assert refused.status_code == 400 and "url" in error_of(refused)["details"]
    missing = rotate(client, admin_headers, "whsub_0000000000000000", "rotation-1")
    assert missing.status_code == 404
    assert create(client, admin_headers, "hook-1").status_code == 201


def test_the_record_keeps_the_secret_as_sql_does_encrypted(settings, store, clock, admin_headers):
    client = create_app(
        replace(settings, webhook_secrets_keys=(KEY_A,)), redis_client=store, clock=clock
    ).test_client()
    created = create(client, admin_headers, "hook-1")
    rotated = rotate(client, admin_headers, created.get_json()["id"], "rotation-1")
    records = [
        store.get(keys.admin_idempotency("webhooks", "hook-1")),
        store.get(
            keys.admin_idempotency(
                f"webhooks/{created.get_json()['id']}/rotate-secret", "rotation-1"
            )
        ),
    ]
    for record, answer in zip(records, (created, rotated), strict=True):
        assert record is not None
        text = record.decode("latin-1")
        assert not any(form in text for form in the_forms_of(answer.get_json()["secret"]))
        assert create(client, admin_headers, "hook-1").get_json() == created.get_json()
    again = rotate(client, admin_headers, created.get_json()["id"], "rotation-1")
    assert again.get_json() == rotated.get_json()
    assert SecretBox((KEY_A,)).encrypting


UNREADABLE = [
    "game\x00server",
    "game\x1b[31mserver",
    "game\nserver",
    "game server\r\n",
    "tab\there",
    "del\x7f",
    "line\u2028separator",
    "refund \u202egnp.exe",
    "\u200b",
    "   ",
]


@pytest.mark.parametrize("description", UNREADABLE)
def test_a_description_that_is_not_one_readable_line_is_400(client, admin_headers, description):
    refused = create(client, admin_headers, "hook-1", description=description)
    assert refused.status_code == 400
    assert "description" in error_of(refused)["details"]
    assert listed(client, admin_headers) == []

    created = create(client, admin_headers, "hook-2").get_json()
    changed = client.patch(
        f"/v1/admin/webhooks/{created['id']}",
        json={"description": description},
        headers=admin_headers,
    )
    assert changed.status_code == 400
    assert "description" in error_of(changed)["details"]
    assert listed(client, admin_headers)[0]["description"] == "game server"


PERSIAN = "\u062a\u06cc\u0645\u200c\u0647\u0627"  # a zero-width non-joiner inside a word


def test_a_description_keeps_its_limits(client, admin_headers):
    for n, description in enumerate(("", "a" * 255, "🏗️ builders' hub", PERSIAN)):
        created = create(client, admin_headers, f"hook-{n}", description=description)
        assert created.status_code == 201, description
        assert created.get_json()["description"] == description
    assert create(client, admin_headers, "long", description="a" * 256).status_code == 400
    without = client.post(
        "/v1/admin/webhooks",
        json={"url": URL, "events": ["*"]},
        headers=admin_headers | {"Idempotency-Key": "plain"},
    )
    assert without.status_code == 201 and without.get_json()["description"] == ""


def test_the_spec_documents_the_key_and_the_reuse(client):
    spec = client.get("/openapi.json").get_json()
    webhooks = spec["paths"]["/v1/admin/webhooks"]["post"]
    rotation = spec["paths"]["/v1/admin/webhooks/{subscription_id}/rotate-secret"]["post"]
    for operation, status in ((webhooks, "201"), (rotation, "200")):
        [key] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert (key["in"], key["required"]) == ("header", True)
        assert "IDEMPOTENCY_TTL_SECONDS" in key["description"]
        assert "idempotency_key_reused" in str(operation["responses"]["422"])
        assert "Idempotent-Replayed" in operation["responses"][status]["headers"]
    described = spec["components"]["schemas"]
    create_body = webhooks["requestBody"]["content"]["application/json"]["schema"]
    name = create_body["$ref"].rsplit("/", 1)[1]
    assert "pattern" in described[name]["properties"]["description"]


def test_the_other_writes_need_no_key_to_be_retried(client, admin_headers):
    """PATCH sets what it names, so its retry finds it set; DELETE's retry finds nothing
    left to remove (404, as a ban lifted twice); redeliver sets a delivery pending
    again, the same event (a receiver deduplicates on its id); a test ping sent again is
    one more ping, which is all a test asks for."""
    created = create(client, admin_headers, "hook-1").get_json()
    base = f"/v1/admin/webhooks/{created['id']}"
    change = {"events": ["player.banned"], "description": "renamed", "enabled": False}
    patched = [client.patch(base, json=change, headers=admin_headers) for _ in range(2)]
    assert [p.status_code for p in patched] == [200, 200]
    first, again = (p.get_json() for p in patched)
    assert {**again, "updated_at": None} == {**first, "updated_at": None}

    ping = client.post(f"{base}/test", headers=admin_headers).get_json()
    redelivered = [
        client.post(f"{base}/deliveries/{ping['id']}/redeliver", headers=admin_headers)
        for _ in range(2)
    ]
    assert [r.status_code for r in redelivered] == [202, 202]
    log = client.get(f"{base}/deliveries", headers=admin_headers).get_json()["deliveries"]
    assert [(d["id"], d["event_id"], d["status"]) for d in log] == [
        (ping["id"], ping["event_id"], "pending")
    ]

    deleted = [client.delete(base, headers=admin_headers) for _ in range(2)]
    assert [d.status_code for d in deleted] == [204, 404]
    assert listed(client, admin_headers) == []


def left_claim(store, route, key, payload, claim):
    """The record a copy leaves when its process dies after claiming the key (its lease
    expires with it): the claim, no answer."""
    fingerprint = IdempotentRequest.of(route, key, payload).fingerprint[:KEPT]
    store.set(keys.admin_idempotency(route, key), json.dumps({"fp": fingerprint, "claim": claim}))


def test_a_create_whose_copy_died_after_committing_is_taken_over_not_made_twice(
    app, client, admin_headers, store
):
    engine = app.extensions["questboard.engine"]
    claim = {"id": "whsub_00000000000000aa", "secret": "whsec_" + "ab" * 32}
    subscriptions.create(engine, URL, BODY["events"], BODY["description"], *claim.values())
    left_claim(store, "webhooks", "hook-1", BODY, claim)

    retry = create(client, admin_headers, "hook-1")
    again = create(client, admin_headers, "hook-1")

    assert retry.status_code == 201
    assert (retry.get_json()["id"], retry.get_json()["secret"]) == (claim["id"], claim["secret"])
    assert [s["id"] for s in listed(client, admin_headers)] == [claim["id"]]
    assert again.get_json() == retry.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_rotation_whose_copy_died_after_committing_is_not_rotated_again(
    app, client, admin_headers, store
):
    engine = app.extensions["questboard.engine"]
    created = create(client, admin_headers, "hook-1").get_json()
    claim = {"id": subscriptions.new_id(), "secret": "whsec_" + "cd" * 32}
    subscriptions.rotate_secret(engine, created["id"], timedelta(hours=1), claim["secret"])
    route = f"webhooks/{created['id']}/rotate-secret"
    left_claim(store, route, "rotation-1", {"grace_period_seconds": 3600}, claim)

    retry = rotate(client, admin_headers, created["id"], "rotation-1")

    assert (retry.status_code, retry.get_json()["secret"]) == (200, claim["secret"])
    row = stored(engine, created["id"])
    assert (row.secret, row.previous_secret) == (claim["secret"], created["secret"])
