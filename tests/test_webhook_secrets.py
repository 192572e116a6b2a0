"""Webhook signing secrets encrypted at rest (WEBHOOK_SECRETS_KEY, engine.webhooks.encryption).

What SQL holds is not the secret in any form; deliveries still verify with the client's
`verify` after a rotation of the secret and after a rotation of the key; plain rows keep
working and `questboard webhooks encrypt-secrets` encrypts them, once; a row whose key
is gone fails its own subscription, with an alert, and no other. On SQLite and MariaDB,
with a real receiver on loopback.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from dataclasses import replace
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from questboard_client.webhooks import verify
from sqlalchemy import select

from cli.main import main
from config import ConfigError, Settings
from engine import db
from engine.economy import grants
from engine.errors import InvalidInputError
from engine.runtime import build_engine
from engine.webhooks import subscriptions
from engine.webhooks.encryption import SecretBox
from tests.webhook_fixtures import receiver as receiver  # a fixture: its own name
from tests.webhook_receiver import Receiver, run_jobs, webhook_engine
from web import create_app

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


@pytest.fixture
def engine(real_redis, unlimited_rules, clock, sql_url):
    yield from webhook_engine(real_redis, unlimited_rules, clock, sql_url)


@pytest.fixture
def other_receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


def stored(engine, subscription_id):
    table = db.webhook_subscriptions
    with engine.sql.connect() as conn:
        return conn.execute(select(table).where(table.c.id == subscription_id)).one()


def the_forms_of(secret: str) -> list[str]:
    """The secret as text, its hex without the prefix, its bytes, and base64 of each."""
    raw = bytes.fromhex(secret.removeprefix("whsec_"))
    forms = [secret, secret.removeprefix("whsec_"), raw.decode("latin-1")]
    for data in (secret.encode(), raw):
        forms += [base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode()]
    return forms


def verified(request, secret) -> None:
    headers, body = request
    signature = headers["Questboard-Signature"]
    verify(body, signature, secret, now=int(signature.split(",")[0][2:]))


def grant(engine, key: str) -> None:
    grants.grant(engine, "alice", {"coins": 5}, "welcome", key)


def test_a_secret_read_from_sql_is_not_the_secret_in_any_form(engine, clock):
    engine.webhook_secrets_keys = (KEY_A,)
    subscription, first = subscriptions.create(engine, "https://example.com/hooks", ["*"])
    _, second = subscriptions.rotate_secret(engine, subscription.id, timedelta(hours=1))
    row = stored(engine, subscription.id)
    whole_row = " ".join(str(value) for value in row)
    assert row.secret.startswith("enc:v1:") and row.previous_secret.startswith("enc:v1:")
    for secret in (first, second):
        for form in the_forms_of(secret):
            assert form not in whole_row


def test_deliveries_verify_with_encrypted_secrets_and_after_a_secret_rotation(
    engine, receiver, clock
):
    engine.webhook_secrets_keys = (KEY_A,)
    subscription, old = subscriptions.create(engine, receiver.url, ["grant.applied"])
    grant(engine, "g1")
    run_jobs(engine)
    _, new = subscriptions.rotate_secret(engine, subscription.id, timedelta(hours=1))
    grant(engine, "g2")
    run_jobs(engine)
    clock.advance(hours=1, seconds=1)  # the grace period is over: the new secret alone
    grant(engine, "g3")
    run_jobs(engine)

    first, during, after = receiver.requests
    verified(first, old)
    verified(during, old)
    verified(during, new)
    verified(after, new)
    assert after[0]["Questboard-Signature"].count("v1=") == 1


def test_deliveries_verify_after_a_rotation_of_the_key(engine, receiver):
    engine.webhook_secrets_keys = (KEY_A,)
    subscription, secret = subscriptions.create(engine, receiver.url, ["grant.applied"])
    engine.webhook_secrets_keys = (KEY_B, KEY_A)  # the new key first, the old one second
    grant(engine, "g1")
    run_jobs(engine)
    report = subscriptions.encrypt_secrets(engine)
    assert (report.encrypted, report.reencrypted, report.current) == (0, 1, 0)
    engine.webhook_secrets_keys = (KEY_B,)  # the old key dropped
    grant(engine, "g2")
    run_jobs(engine)

    assert len(receiver.requests) == 2
    for request in receiver.requests:
        verified(request, secret)
    assert Fernet(KEY_B.encode()).decrypt(stored(engine, subscription.id).secret[7:].encode())


def test_plain_secrets_keep_signing_when_a_key_is_set(engine, receiver):
    subscription, secret = subscriptions.create(engine, receiver.url, ["grant.applied"])
    assert stored(engine, subscription.id).secret == secret  # no key: stored as it is
    engine.webhook_secrets_keys = (KEY_A,)
    grant(engine, "g1")
    run_jobs(engine)
    [request] = receiver.requests
    verified(request, secret)


def questboard(engine, tmp_path, *argv, key: str | None = KEY_A):
    env = {"DATABASE_URL": engine.database_url, "QUESTBOARD_VAR": str(tmp_path / "var")}
    if key:
        env["WEBHOOK_SECRETS_KEY"] = key
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), env=env, redis_client=engine.redis, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_the_command_encrypts_plain_secrets_once(engine, receiver, clock, tmp_path):
    one, first = subscriptions.create(engine, receiver.url, ["grant.applied"])
    two, _ = subscriptions.create(engine, "https://example.com/hooks", ["*"])
    subscriptions.rotate_secret(engine, two.id, timedelta(hours=1))  # a previous one too

    assert questboard(engine, tmp_path, "webhooks", "encrypt-secrets") == (
        0,
        "Webhook secrets: 3 encrypted, 0 re-encrypted with the first key, 0 already current.\n",
        "",
    )
    rows = [stored(engine, one.id), stored(engine, two.id)]
    assert all(v.startswith("enc:v1:") for r in rows for v in (r.secret, r.previous_secret) if v)
    assert questboard(engine, tmp_path, "webhooks", "encrypt-secrets") == (
        0,
        "Webhook secrets: 0 encrypted, 0 re-encrypted with the first key, 3 already current.\n",
        "",
    )
    assert [stored(engine, one.id), stored(engine, two.id)] == rows  # the second run: no change

    engine.webhook_secrets_keys = (KEY_A,)
    grant(engine, "g1")
    run_jobs(engine)
    [request] = receiver.requests
    verified(request, first)


def test_the_command_needs_a_key(engine, tmp_path):
    assert questboard(engine, tmp_path, "webhooks", "encrypt-secrets", key=None) == (
        2,
        "",
        "questboard: WEBHOOK_SECRETS_KEY is not set: there is no key to encrypt with.\n",
    )
    with pytest.raises(InvalidInputError):
        subscriptions.encrypt_secrets(engine)


def test_a_missing_key_fails_that_subscription_only(
    engine, receiver, other_receiver, clock, caplog, tmp_path
):
    engine.webhook_secrets_keys = (KEY_A,)
    lost, _ = subscriptions.create(engine, receiver.url, ["grant.applied"])
    engine.webhook_secrets_keys = (KEY_B,)  # KEY_A is no longer configured
    _, kept_secret = subscriptions.create(engine, other_receiver.url, ["grant.applied"])
    grant(engine, "g1")
    with caplog.at_level(logging.WARNING, logger="questboard.alerts"):
        report = run_jobs(engine)
        clock.advance(seconds=11)  # past the first backoff: tried again, no second alert
        run_jobs(engine)

    assert (report.delivered, report.retrying) == (1, 1)
    [request] = other_receiver.requests
    verified(request, kept_secret)
    assert receiver.requests == []
    [failing] = subscriptions.deliveries(engine, lost.id)
    assert (failing.status, failing.attempts, failing.last_status) == ("pending", 2, None)
    assert failing.last_error == (
        "not sent: the signing secret is encrypted with a key that is not in WEBHOOK_SECRETS_KEY"
    )
    alerts = [json.loads(r.getMessage()) for r in caplog.records if r.name == "questboard.alerts"]
    assert [(a["alert"], a["details"]["subscription_id"]) for a in alerts] == [
        ("webhook_secret_unreadable", lost.id)
    ]
    code, out, _ = questboard(engine, tmp_path, "webhooks", "encrypt-secrets", key=KEY_B)
    assert (code, out.splitlines()[-1]) == (
        1,
        f"Not readable with any key of WEBHOOK_SECRETS_KEY (left as they are): {lost.id}.",
    )

    engine.webhook_secrets_keys = (KEY_B, KEY_A)  # the key back: the delivery goes out
    clock.advance(seconds=30)
    run_jobs(engine)
    assert len(receiver.requests) == 1
    assert subscriptions.deliveries(engine, lost.id)[0].status == "delivered"


def test_the_admin_routes_show_the_secret_and_store_it_encrypted(
    settings, store, clock, admin_headers
):
    app = create_app(
        replace(settings, webhook_secrets_keys=(KEY_A,)), redis_client=store, clock=clock
    )
    client = app.test_client()
    body = {"url": "https://93.184.215.14/hooks", "events": ["purchase.completed"]}
    keyed = admin_headers | {"Idempotency-Key": "hook-1"}
    created = client.post("/v1/admin/webhooks", json=body, headers=keyed).get_json()
    rotated = client.post(
        f"/v1/admin/webhooks/{created['id']}/rotate-secret",
        json={"grace_period_seconds": 3600},
        headers=keyed,
    ).get_json()
    row = stored(app.extensions["questboard.engine"], created["id"])
    assert created["secret"].startswith("whsec_") and rotated["secret"].startswith("whsec_")
    box = SecretBox((KEY_A,))
    assert (box.open(row.secret), box.open(row.previous_secret)) == (
        rotated["secret"],
        created["secret"],
    )
    whole_row = " ".join(str(value) for value in row)
    for secret in (created["secret"], rotated["secret"]):
        assert not any(form in whole_row for form in the_forms_of(secret))


# Settings ------------------------------------------------------------------------------


def test_the_setting_takes_comma_separated_keys_and_refuses_others():
    settings = Settings.from_env({"WEBHOOK_SECRETS_KEY": f" {KEY_B}, {KEY_A} "})
    assert settings.webhook_secrets_keys == (KEY_B, KEY_A)
    assert Settings.from_env({}).webhook_secrets_keys == ()
    with pytest.raises(ConfigError, match="WEBHOOK_SECRETS_KEY entry 2 is not a Fernet key"):
        Settings.from_env({"WEBHOOK_SECRETS_KEY": f"{KEY_A},whsec_not-a-key"})


MARIADB = "mysql+pymysql://questboard@db.internal/questboard"


def test_production_refuses_to_start_without_a_key():
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"QUESTBOARD_ENV": "production"})
    assert str(refused.value) == (
        "WEBHOOK_SECRETS_KEY is required when QUESTBOARD_ENV=production: webhook signing "
        "secrets are not kept in plain text there"
    )
    production = Settings.from_env(
        {"QUESTBOARD_ENV": "production", "WEBHOOK_SECRETS_KEY": KEY_A, "DATABASE_URL": MARIADB}
    )
    assert production.webhook_secrets_keys == (KEY_A,)


def test_a_jobs_engine_does_not_repeat_the_warning_at_every_job(monkeypatch, caplog):
    """RQ forks a work horse per job, and each builds its engine: a warning there would
    be repeated every few seconds, for the webhooks job alone."""
    from jobs import tasks
    from tests.conftest import real_redis_url

    monkeypatch.delenv("WEBHOOK_SECRETS_KEY", raising=False)
    monkeypatch.setenv("REDIS_URL", real_redis_url())
    tasks._engine.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="questboard"):
            tasks._engine()
    finally:
        tasks._engine.cache_clear()
    assert not [r for r in caplog.records if "WEBHOOK_SECRETS_KEY" in r.getMessage()]


def test_without_a_key_the_start_warns_once_that_secrets_are_plain(fake_redis, caplog):
    with caplog.at_level(logging.WARNING, logger="questboard"):
        build_engine(Settings(), fake_redis)
        build_engine(Settings(webhook_secrets_keys=(KEY_A,)), fake_redis)
    plain = [r.getMessage() for r in caplog.records if "WEBHOOK_SECRETS_KEY" in r.getMessage()]
    assert plain == [
        "WEBHOOK_SECRETS_KEY is not set: webhook signing secrets are stored in plain text in "
        "SQL (set it in production, then run `questboard webhooks encrypt-secrets`)"
    ]
