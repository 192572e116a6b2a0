"""The `webhooks` job: POST each due delivery, signed, in order per sequence.

A delivery is due when it is pending, its time has come, its subscription is enabled,
and it is the oldest pending delivery of its sequence (the event's player, or the
event itself when it has none): a player's events reach a subscription in the order
they happened, each only after the one before it was delivered or given up. A pass
sends the due heads of all sequences concurrently, then records every outcome in one
transaction; passes repeat until nothing is due.

At least once: an outcome is written only after the receiver answered, so a worker
killed mid-delivery leaves the delivery pending, and the next run (the job's lock
expires within seconds, engine.ops.job_lease) sends it again with the same
`Questboard-Event-Id`. Receivers deduplicate on that id.

Every attempt ends within ATTEMPT_SECONDS (10 s), the receiver's name lookup,
connecting, sending and reading the answer's headers and body together: httpx's
timeouts (3 s to connect, 5 s for each read) bound each wait only, so a receiver
trickling its answer a byte at a time, or a resolver answering late, could hold an
attempt, and the pass waiting for it, for hours. engine.webhooks.deadline shuts the
attempt's connection down at its deadline (and stops waiting for the lookup), and the
attempt fails as timed out; so that every attempt has a connection of its own to cut,
none is kept alive (requests say `Connection: close`).

Failures (a connection error, a timeout, a status other than 2xx, redirects
included, a URL httpx cannot read) are retried after `backoff(attempts)`: exponential
from 10 s, capped at an hour, with full jitter, judged by the engine clock. A delivery
still failing 24 hours after its first attempt is marked failed, with an alert; a
subscription whose deliveries have all failed for 24 hours is disabled, with an alert.

Signing secrets encrypted at rest (engine.webhooks.encryption) are decrypted once a run
and kept in that run's memory only. A subscription whose secret no configured key opens
sends nothing: each of its deliveries fails like an unreachable receiver, with the
reason recorded on the delivery, and an alert when the subscription starts failing;
the other subscriptions deliver as usual.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import and_, func, select

from engine import alerts, db
from engine.clock import to_ms
from engine.runtime import Engine
from engine.webhooks import encryption, events, guard, sources
from engine.webhooks import outcomes as outcomes_
from engine.webhooks.deadline import AttemptDeadline, AttemptExpiredError
from engine.webhooks.outcomes import DeliveryReport, Outcome

if TYPE_CHECKING:  # httpx is imported where it is used: importing it loads click and rich
    import httpx

PASS_SIZE = 200  # deliveries sent per pass, concurrently
CONCURRENCY = 16
MAX_RESPONSE_BYTES = 4_096  # read of the receiver's answer, kept for the log
CONNECT_TIMEOUT, TIMEOUT = 3.0, 5.0  # seconds, for each wait (httpx)
ATTEMPT_SECONDS = 10.0  # the whole attempt: connect, send, the answer's headers and body
USER_AGENT = "Questboard-Webhooks/1"
D, E, S = db.webhook_deliveries, db.webhook_events, db.webhook_subscriptions
__all__ = ["DeliveryReport", "Outcome", "new_client", "run", "signature_header"]


def signature_header(body: bytes, secrets_: list[str], timestamp: int) -> str:
    """`t=<timestamp>,v1=<hex>[,v1=<hex>]`: one v1 per secret in use."""
    signed = str(timestamp).encode() + b"." + body
    v1 = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets_]
    return ",".join([f"t={timestamp}", *(f"v1={sig}" for sig in v1)])


def run(
    engine: Engine,
    client: httpx.Client | None = None,
    keep_going: Callable[[], bool] | None = None,
    max_passes: int = 1_000,
    rng: random.Random | None = None,
    lookup: guard.Lookup = guard.resolve_name,
) -> DeliveryReport:
    """Record the ban and period events, then send what is due until nothing is.
    `lookup` resolves the receivers' names (guard.resolve_name), within each attempt's
    deadline."""
    report = DeliveryReport(disabled=[])
    report.recorded += sources.drain_ban_events(engine)
    report.recorded += sources.close_periods(engine)
    own = client is None
    client = client or new_client()
    box = encryption.box_of(engine)
    opened: dict[str, str] = {}  # stored value -> secret: this run's memory only
    alerted: set[str] = set()
    try:
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            while report.passes < max_passes and (keep_going is None or keep_going()):
                due = _due(engine)
                if not due:
                    break
                now_ms = to_ms(engine.clock.now())
                signing = [_signing_secrets(box, opened, row, now_ms) for row in due]
                outcomes = list(
                    pool.map(_send, *_args(engine, client, due, now_ms, signing, lookup))
                )
                outcomes_.record_pass(engine, due, outcomes, now_ms, report, rng)
                _alert_unreadable(engine, due, signing, alerted)
                report.passes += 1
    finally:
        if own:
            client.close()
    return report


def _args(
    engine: Engine,
    client: httpx.Client,
    due: list[Any],
    now_ms: int,
    signing: list,
    lookup: guard.Lookup,
) -> tuple:
    n = len(due)
    return [engine] * n, [client] * n, due, [now_ms] * n, signing, [lookup] * n


def _signing_secrets(
    box: encryption.SecretBox, opened: dict[str, str], row: Any, now_ms: int
) -> list[str] | encryption.SecretUnreadableError:
    """The secrets that sign this delivery (the previous one during its grace period),
    decrypted once a run; or why they cannot be read."""
    stored = [row.secret]
    if row.previous_secret and (row.previous_until_ms or 0) > now_ms:
        stored.append(row.previous_secret)
    try:
        for value in stored:
            if value not in opened:
                opened[value] = box.open(value)
    except encryption.SecretUnreadableError as unreadable:
        return unreadable
    return [opened[value] for value in stored]


def _alert_unreadable(engine: Engine, due: list[Any], signing: list, alerted: set[str]) -> None:
    """One alert per subscription that starts failing because its secret is unreadable."""
    for row, secrets_ in zip(due, signing, strict=True):
        if not isinstance(secrets_, encryption.SecretUnreadableError):
            continue
        if row.subscription_id in alerted or row.failing_since_ms is not None:
            continue
        alerted.add(row.subscription_id)
        alerts.raise_alert(
            "webhook_secret_unreadable",
            f"Webhook subscription {row.subscription_id} cannot sign: {secrets_}; its "
            "deliveries are retried until the key is configured again.",
            {"subscription_id": row.subscription_id, "delivery_id": row.id},
            at=engine.clock.now(),
            webhook_url=engine.alert_webhook_url,
        )


def new_client() -> httpx.Client:
    """No redirects followed, timeouts of seconds, no proxies from the env, and no
    connection kept alive: each attempt has its own, which its deadline can cut
    (engine.webhooks.deadline)."""
    import httpx

    return httpx.Client(
        timeout=httpx.Timeout(TIMEOUT, connect=CONNECT_TIMEOUT),
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_connections=CONCURRENCY * 2, max_keepalive_connections=0),
        headers={"User-Agent": USER_AGENT},
    )


def _due(engine: Engine) -> list[Any]:
    now_ms = to_ms(engine.clock.now())
    heads = (
        select(func.min(D.c.id).label("id"))
        .where(D.c.status == "pending")
        .group_by(D.c.subscription_id, D.c.sequence)
        .subquery()
    )
    query = (
        select(
            D.c.id,
            D.c.subscription_id,
            D.c.attempts,
            D.c.first_attempt_ms,
            D.c.next_attempt_ms,
            E.c.event_id,
            E.c.type,
            E.c.player_id,
            E.c.created_ms,
            E.c.data,
            S.c.url,
            S.c.secret,
            S.c.previous_secret,
            S.c.previous_until_ms,
            S.c.failing_since_ms,
        )
        .join(heads, heads.c.id == D.c.id)
        .join(E, E.c.event_id == D.c.event_id)
        .join(S, and_(S.c.id == D.c.subscription_id, S.c.enabled == 1))
        .where(D.c.next_attempt_ms <= now_ms)
        .order_by(D.c.id)
        .limit(PASS_SIZE)
    )
    with engine.sql.connect() as conn:
        return list(conn.execute(query).all())


def _send(
    engine: Engine,
    client: httpx.Client,
    row: Any,
    now_ms: int,
    keys: list[str] | encryption.SecretUnreadableError,
    lookup: guard.Lookup = guard.resolve_name,
) -> Outcome:
    import httpx

    if isinstance(keys, encryption.SecretUnreadableError):
        return Outcome(row.id, False, None, f"not sent: {keys}"[:255], 0)
    body = events.load(row).body()
    headers = {
        "Content-Type": "application/json",
        "Questboard-Event-Id": row.event_id,
        "Questboard-Event-Type": row.type,
        "Questboard-Signature": signature_header(body, keys, now_ms // 1000),
    }
    started = time.perf_counter()
    with AttemptDeadline(ATTEMPT_SECONDS) as deadline:
        try:
            where = guard.target(  # refuses a bad form; resolves within the deadline
                row.url,
                engine.webhook_allow_private,
                lambda host, port: deadline.within(lambda: lookup(host, port)),
            )
            parts = urlsplit(row.url)
            with client.stream(
                "POST",
                where.url,
                content=body,
                headers={**headers, **where.headers, "Connection": "close"},
                extensions={**where.extensions, "trace": deadline.trace},
                follow_redirects=False,  # whatever the client does: a redirect is a failure
            ) as response:
                read = 0
                for chunk in response.iter_raw():  # at most MAX_RESPONSE_BYTES are read
                    read += len(chunk)
                    if read >= MAX_RESPONSE_BYTES:
                        break
            status = response.status_code
            ok = 200 <= status < 300
            error = None if ok else f"HTTP {status} from {parts.hostname}"
        except guard.InvalidInputError as refused:
            status, ok, error = None, False, str(refused)
        except AttemptExpiredError:  # the name lookup outlasted the deadline
            status, ok, error = None, False, None
        except (httpx.HTTPError, httpx.InvalidURL) as failure:  # InvalidURL is no HTTPError
            status, ok, error = None, False, f"{type(failure).__name__}: {failure}"
    if deadline.expired:  # cut: whatever httpx made of the connection shut under it
        status, ok, error = None, False, _timed_out(ATTEMPT_SECONDS)
    latency = int((time.perf_counter() - started) * 1000)
    return Outcome(row.id, ok, status, (error or "")[:255] or None, latency)


def _timed_out(seconds: float) -> str:
    """The error of an attempt its deadline cut."""
    return f"AttemptTimeout: timed out after {seconds:g} s (the limit for a whole attempt)"
