"""The webhook admin routes: statuses, bodies, the error shape (no delivery here)."""

from __future__ import annotations

import uuid

from tests.conftest import error_of

URL = "https://93.184.215.14/questboard-hooks"  # a public address: no DNS needed


def create(client, admin_headers, **body):
    body = {"url": URL, "events": ["purchase.completed"], **body}
    key = {"Idempotency-Key": uuid.uuid4().hex}  # a new request each time
    return client.post("/v1/admin/webhooks", json=body, headers=admin_headers | key)


def test_a_subscription_is_created_with_its_secret_shown_once(client, admin_headers):
    created = create(client, admin_headers, description="game server")
    assert created.status_code == 201
    body = created.get_json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) == 70
    assert body["id"].startswith("whsub_")
    assert (body["url"], body["events"], body["enabled"]) == (
        URL,
        ["purchase.completed"],
        True,
    )
    shown = client.get(f"/v1/admin/webhooks/{body['id']}", headers=admin_headers).get_json()
    assert "secret" not in shown
    assert shown == {k: v for k, v in body.items() if k != "secret"}
    listed = client.get("/v1/admin/webhooks", headers=admin_headers).get_json()
    assert listed == {"subscriptions": [shown]}


def test_private_and_malformed_urls_and_unknown_events_are_400(client, admin_headers):
    for url in ("http://127.0.0.1:8080/x", "http://169.254.169.254/", "http://10.0.0.1/"):
        refused = create(client, admin_headers, url=url)
        assert refused.status_code == 400
        error = error_of(refused)
        assert error["code"] == "validation_error" and "url" in error["details"]
    assert create(client, admin_headers, url="file:///etc/passwd").status_code == 400
    assert create(client, admin_headers, events=["no.such"]).status_code == 400
    assert create(client, admin_headers, events=[]).status_code == 400


def test_urls_that_reach_inward_or_are_malformed_are_400_never_500(client, admin_headers):
    """Loopback behind NAT64 and 6to4, IPv4-compatible and numeric spellings, a NUL,
    and ports Python's URL parser cannot read: each is the url's validation_error."""
    for url in (
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::]/",
        "http://[::127.0.0.1]/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://localhost./",
        "https://example.com/\x00",
        "http://93.184.215.14:99999/",
        "http://93.184.215.14:80:80/",
        "http://[::1/",
    ):
        refused = create(client, admin_headers, url=url)
        assert refused.status_code == 400, url
        error = error_of(refused)
        assert error["code"] == "validation_error" and "url" in error["details"]
    sid = create(client, admin_headers).get_json()["id"]
    changed = client.patch(
        f"/v1/admin/webhooks/{sid}",
        json={"url": "http://[2002:a9fe:a9fe::]/"},
        headers=admin_headers,
    )
    assert changed.status_code == 400 and "url" in error_of(changed)["details"]


def test_patch_rotate_test_deliveries_redeliver_delete(client, admin_headers, clock):
    sid = create(client, admin_headers).get_json()["id"]
    base = f"/v1/admin/webhooks/{sid}"
    patched = client.patch(
        base, json={"events": ["player.banned"], "enabled": False}, headers=admin_headers
    )
    assert patched.status_code == 200
    assert patched.get_json()["events"] == ["player.banned"]
    assert patched.get_json()["enabled"] is False
    assert patched.get_json()["disabled_reason"] == "disabled by an admin"
    enabled = client.patch(base, json={"enabled": True}, headers=admin_headers).get_json()
    assert (enabled["enabled"], enabled["disabled_reason"]) == (True, None)

    rotated = client.post(
        f"{base}/rotate-secret",
        json={"grace_period_seconds": 3600},
        headers=admin_headers | {"Idempotency-Key": "rotation-1"},
    )
    assert rotated.status_code == 200
    assert rotated.get_json()["secret"].startswith("whsec_")
    assert rotated.get_json()["previous_secret_expires_at"] == "2026-11-25T13:00:00+00:00"

    ping = client.post(f"{base}/test", headers=admin_headers)
    assert ping.status_code == 202
    assert (ping.get_json()["type"], ping.get_json()["status"]) == ("ping", "pending")
    log = client.get(f"{base}/deliveries", headers=admin_headers).get_json()["deliveries"]
    assert [d["id"] for d in log] == [ping.get_json()["id"]]
    again = client.post(f"{base}/deliveries/{log[0]['id']}/redeliver", headers=admin_headers)
    assert again.status_code == 202
    missing = client.post(f"{base}/deliveries/999/redeliver", headers=admin_headers)
    assert missing.status_code == 404

    assert client.delete(base, headers=admin_headers).status_code == 204
    for response in (
        client.get(base, headers=admin_headers),
        client.delete(base, headers=admin_headers),
        client.post(f"{base}/test", headers=admin_headers),
        client.get(f"{base}/deliveries", headers=admin_headers),
    ):
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"


def test_the_routes_are_admin_only(client, server_headers):
    assert client.get("/v1/admin/webhooks", headers=server_headers).status_code == 403


def test_a_delivery_id_of_other_digits_than_ascii_names_no_delivery(client, admin_headers):
    """Python's isdigit takes a superscript 1 (int() refuses it: a 500 before) and an
    Arabic-Indic 1 (int() reads 1: delivery 1 was sent again); an id is written 0-9."""
    sid = create(client, admin_headers).get_json()["id"]
    base = f"/v1/admin/webhooks/{sid}"
    ping = client.post(f"{base}/test", headers=admin_headers).get_json()
    assert ping["id"] == 1

    for delivery_id in ("\u00b9", "\u0661", "\uff11"):  # superscript, Arabic-Indic, fullwidth 1
        response = client.post(f"{base}/deliveries/{delivery_id}/redeliver", headers=admin_headers)
        assert response.status_code == 404, delivery_id
        assert error_of(response)["code"] == "not_found"


def test_a_page_before_an_id_beyond_any_sql_integer_is_400_never_500(client, admin_headers):
    """A delivery id is a SQL BIGINT: a `before` past 2**63 - 1 named no delivery and
    overflowed the driver (a 500); the largest one pages from the newest."""
    sid = create(client, admin_headers).get_json()["id"]
    base = f"/v1/admin/webhooks/{sid}/deliveries"
    client.post(f"/v1/admin/webhooks/{sid}/test", headers=admin_headers)

    largest = client.get(f"{base}?before={2**63 - 1}", headers=admin_headers)
    assert largest.status_code == 200
    assert [delivery["id"] for delivery in largest.get_json()["deliveries"]] == [1]
    for before in (2**63, 10**23):
        refused = client.get(f"{base}?before={before}", headers=admin_headers)
        assert refused.status_code == 400, before
        assert "before" in error_of(refused)["details"]
