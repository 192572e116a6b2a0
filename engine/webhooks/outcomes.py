"""A webhooks pass's outcomes: each delivery delivered, retried after its backoff, or
given up after 24 hours, and a subscription failing for 24 hours disabled; written in
one transaction, only over deliveries still as the pass read them, with the alerts
raised once it commits (engine.webhooks.delivery sends, this records).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select, update

from engine import alerts, db
from engine.runtime import Engine

D, S = db.webhook_deliveries, db.webhook_subscriptions
BASE_DELAY = timedelta(seconds=10)
MAX_DELAY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)  # per delivery, and per failing subscription

# Executed with one dict per delivery: SET the columns each dict names (all the same),
# only while the delivery is as the pass read it: an admin's redelivery during the
# attempt (engine.webhooks.subscriptions.redeliver) stands, and the delivery goes again.
OUTCOME = update(D).where(
    D.c.id == bindparam("target"),
    D.c.status == "pending",
    D.c.attempts == bindparam("read_attempts"),
    D.c.next_attempt_ms == bindparam("read_next_attempt_ms"),
    D.c.first_attempt_ms.is_not_distinct_from(bindparam("read_first_attempt_ms")),
)


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    recorded: int = 0  # deliveries recorded from the ban stream and closed periods
    passes: int = 0
    disabled: list[str] | None = None


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    ok: bool
    status: int | None
    error: str | None
    latency_ms: int


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """The wait after the `attempts`-th failure: 10 s, 20 s, 40 s ... capped at 1 h,
    each drawn uniformly from its upper half (jitter spreads retries of many events)."""
    ceiling = min(BASE_DELAY * 2 ** max(0, attempts - 1), MAX_DELAY)
    return ceiling * (0.5 + 0.5 * (rng or random).random())


def record_pass(
    engine: Engine,
    due: list[Any],
    outcomes: list[Outcome],
    now_ms: int,
    report: DeliveryReport,
    rng: random.Random | None,
) -> None:
    """Every outcome of a pass in one transaction; alerts after it commits."""
    raised: list[tuple[str, str, dict]] = []
    succeeded, failing = set(), set()
    rows: list[dict[str, Any]] = []
    for row, outcome in zip(due, outcomes, strict=True):
        attempts = row.attempts + 1
        first = row.first_attempt_ms or now_ms
        values: dict[str, Any] = {
            "target": row.id,
            "read_attempts": row.attempts,
            "read_next_attempt_ms": row.next_attempt_ms,
            "read_first_attempt_ms": row.first_attempt_ms,
            "status": "pending",
            "attempts": attempts,
            "next_attempt_ms": now_ms,
            "first_attempt_ms": first,
            "last_attempt_ms": now_ms,
            "delivered_ms": None,
            "last_status": outcome.status,
            "last_error": outcome.error,
            "latency_ms": outcome.latency_ms,
        }
        if outcome.ok:
            values.update(status="delivered", delivered_ms=now_ms)
            report.delivered += 1
            succeeded.add(row.subscription_id)
        elif now_ms - first >= GIVE_UP_AFTER.total_seconds() * 1000:
            values["status"] = "failed"
            report.failed += 1
            failing.add(row.subscription_id)
            raised.append(
                (
                    "webhook_delivery_failed",
                    f"Webhook event {row.event_id} to {row.subscription_id} failed for "
                    f"24 hours ({attempts} attempts); given up.",
                    {
                        "subscription_id": row.subscription_id,
                        "delivery_id": row.id,
                        "event_id": row.event_id,
                        "last_error": outcome.error,
                    },
                )
            )
        else:
            values["next_attempt_ms"] = now_ms + to_ms_delta(backoff(attempts, rng))
            report.retrying += 1
            failing.add(row.subscription_id)
        rows.append(values)
    with engine.sql.begin() as conn:
        conn.execute(OUTCOME, rows)  # one statement, executed for every row
        raised = _given_up_as_recorded(conn, raised, now_ms, report)
        if succeeded:
            conn.execute(
                update(S).where(S.c.id.in_(sorted(succeeded))).values(failing_since_ms=None)
            )
        for subscription_id in sorted(failing - succeeded):
            since = conn.execute(
                select(S.c.failing_since_ms).where(S.c.id == subscription_id)
            ).scalar()
            # Each write only over the failure record read: an admin who enabled the
            # subscription meanwhile cleared it, and their change stands.
            if since is None:
                conn.execute(
                    update(S)
                    .where(S.c.id == subscription_id, S.c.failing_since_ms.is_(None))
                    .values(failing_since_ms=now_ms)
                )
            elif now_ms - since >= GIVE_UP_AFTER.total_seconds() * 1000:
                reason = "every delivery failed for 24 hours"
                disabled = conn.execute(
                    update(S)
                    .where(S.c.id == subscription_id, S.c.failing_since_ms == since)
                    .values(enabled=0, disabled_reason=reason, updated_ms=now_ms)
                ).rowcount
                if not disabled:
                    continue
                assert report.disabled is not None
                report.disabled.append(subscription_id)
                raised.append(
                    (
                        "webhook_subscription_disabled",
                        f"Webhook subscription {subscription_id} disabled: {reason}.",
                        {"subscription_id": subscription_id, "failing_since_ms": since},
                    )
                )
    for kind, message, details in raised:
        alerts.raise_alert(
            kind, message, details, at=engine.clock.now(), webhook_url=engine.alert_webhook_url
        )


def _given_up_as_recorded(
    conn: Any, raised: list[tuple[str, str, dict]], now_ms: int, report: DeliveryReport
) -> list[tuple[str, str, dict]]:
    """The alerts without those of deliveries given up that OUTCOME did not write (an
    admin redelivered them during the attempt: pending again, not failed)."""
    given_up = [d["delivery_id"] for kind, _, d in raised if kind == "webhook_delivery_failed"]
    if not given_up:
        return raised
    written = set(
        conn.execute(
            select(D.c.id).where(
                D.c.id.in_(given_up), D.c.status == "failed", D.c.last_attempt_ms == now_ms
            )
        ).scalars()
    )
    report.failed -= len(given_up) - len(written)
    return [
        (kind, message, details)
        for kind, message, details in raised
        if kind != "webhook_delivery_failed" or details["delivery_id"] in written
    ]


def to_ms_delta(delay: timedelta) -> int:
    return int(delay.total_seconds() * 1000)
