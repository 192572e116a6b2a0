"""The webhook admin writes that take an Idempotency-Key: creating a subscription and
rotating its secret, each carried out once per key however often it is sent.

The record is the one every idempotent request of the service leaves
(engine.economy.idempotency): the request's fingerprint (route and parsed body),
`{"fp": ...}` JSON under its key for IDEMPOTENCY_TTL_SECONDS, answered again with
`Idempotent-Replayed`, and `idempotency_key_reused` for another body. A player's
change is made by a Lua step that writes its record in the same atomic call; these
changes are SQL rows, so the key is claimed before the change instead:

1. A copy carries the request out only while it holds the key's lease (SET NX, a few
   seconds of Redis's own expiry); the others wait for the answer.
2. Holding it, the copy sets the record to a claim, `{"fp", "claim": {"id", "secret"}}`
   (SET NX), naming the subscription id and the secret it will write, makes the change
   with them and replaces the claim with the answer, `{"fp", "answer": {...}}`. A
   refusal (a private URL, no such subscription) or an error removes the claim:
   nothing was done, and the key is free again.
3. A copy that gets the lease and finds a claim (its copy's process died, so its lease
   expired) takes it over: the change is made again with the claim's id and secret,
   which engine.webhooks.subscriptions finds already made when it was, so a crash
   between the SQL commit and the answer still makes one subscription, one rotation.

The secrets in a claim and an answer are kept as SQL keeps them (sealed with
WEBHOOK_SECRETS_KEY when it is set), so Redis holds no readable secret either.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from engine import keys
from engine.clock import from_ms, to_ms
from engine.economy import idempotency_records
from engine.economy.idempotency import KEPT, IdempotentRequest, is_same_request, load
from engine.errors import IdempotencyKeyReusedError
from engine.runtime import Engine
from engine.webhooks import encryption, subscriptions
from engine.webhooks.subscriptions import Recorder, Subscription

CREATE_ROUTE = "webhooks"
LEASE_MS = 10_000  # longer than any change takes; a claim without it is taken over
WAIT_STEP_SECONDS = 0.02  # how often a copy looks for the answer it waits for
DATES = ("failing_since", "previous_secret_expires_at", "created_at", "updated_at")


@dataclass(frozen=True)
class Answer:
    subscription: Subscription
    secret: str
    replayed: bool


def rotate_route(subscription_id: str) -> str:
    """A rotation's key belongs to its subscription, as a player's key to the player."""
    return f"webhooks/{subscription_id}/rotate-secret"


def create(
    engine: Engine, idempotency_key: str, url: str, types: list[str], description: str = ""
) -> Answer:
    """`subscriptions.create`, once per key: a copy answers the first answer."""
    payload = {"url": url, "events": types, "description": description}
    request = IdempotentRequest.of(CREATE_ROUTE, idempotency_key, payload)

    def change(chosen_id: str, secret: str, record: Recorder) -> tuple[Subscription, str]:
        return subscriptions.create(engine, url, types, description, chosen_id, secret, record)

    return _once(engine, request, change)


def rotate_secret(
    engine: Engine, idempotency_key: str, subscription_id: str, grace: timedelta
) -> Answer:
    """`subscriptions.rotate_secret`, once per key: a copy answers the same secret."""
    payload = {"grace_period_seconds": int(grace.total_seconds())}
    request = IdempotentRequest.of(rotate_route(subscription_id), idempotency_key, payload)

    def change(_chosen_id: str, secret: str, record: Recorder) -> tuple[Subscription, str]:
        return subscriptions.rotate_secret(engine, subscription_id, grace, secret, record)

    return _once(engine, request, change)


def _once(engine: Engine, request: IdempotentRequest, change: Any) -> Answer:
    record_key = keys.admin_idempotency(request.route, request.key)
    lease_key = keys.admin_idempotency_lease(request.route, request.key)
    while True:
        if engine.redis.set(lease_key, b"1", nx=True, px=LEASE_MS):
            try:
                answer = _leased(engine, request, record_key, change)
            finally:
                engine.redis.delete(lease_key)
            if answer is not None:
                return answer
            continue  # the record expired meanwhile: a new request
        found = engine.redis.get(record_key)
        if found is not None:
            recorded = _checked(load(found), request)
            if "answer" in recorded:
                return _answer_of(engine, recorded["answer"])
        time.sleep(WAIT_STEP_SECONDS)  # another copy holds the lease: its answer comes


def _leased(
    engine: Engine, request: IdempotentRequest, record_key: str, change: Any
) -> Answer | None:
    """With the lease held, no other copy is carrying the request out: claim it, answer
    the answer recorded, or take over a claim whose copy stopped (its lease expired)."""
    box = encryption.box_of(engine)
    claim = {"id": subscriptions.new_id(), "secret": box.seal(subscriptions.new_secret())}
    mine = _json({"fp": request.fingerprint[:KEPT], "claim": claim})
    if engine.redis.set(record_key, mine, nx=True, ex=engine.idempotency_ttl_seconds):
        return _carry_out(engine, request, record_key, mine, claim, change)
    found = engine.redis.get(record_key)
    if found is None:
        return None
    recorded = _checked(load(found), request)
    if "answer" in recorded:
        return _answer_of(engine, recorded["answer"])
    return _carry_out(engine, request, record_key, found, recorded["claim"], change)


def _carry_out(
    engine: Engine,
    request: IdempotentRequest,
    record_key: str,
    claimed: bytes,
    claim: dict,
    change: Any,
) -> Answer:
    """Make the change the claim names and record its answer; a failure frees the key.

    SQL's record of the request (engine.economy.idempotency_records), written with the
    change, is looked at first: a request carried out before Redis lost its record (a
    rebuild since), or by a copy that died before recording its answer in Redis, is
    answered from it, not carried out again.
    """
    kept = idempotency_records.found(engine, idempotency_records.ADMIN, request.route, request.key)
    try:
        if kept is None:
            try:
                return _made(engine, request, record_key, load(claimed)["fp"], claim, change)
            except IntegrityError:  # a copy of this request committed its change first
                kept = idempotency_records.found(
                    engine, idempotency_records.ADMIN, request.route, request.key
                )
                if kept is None:
                    raise
    except BaseException:
        if engine.redis.get(record_key) == claimed:
            engine.redis.delete(record_key)
        raise
    record, seconds = kept
    engine.redis.set(record_key, record, ex=seconds)
    return _answer_of(engine, _checked(load(record), request)["answer"])


def _made(
    engine: Engine,
    request: IdempotentRequest,
    record_key: str,
    fp: str,
    claim: dict,
    change: Any,
) -> Answer:
    """The change made, its record kept in SQL in the same transaction and in Redis."""
    kept: list[bytes] = []

    def record(conn: Connection, subscription: Subscription) -> None:
        answer = {**_stored(subscription), "secret": claim["secret"]}
        kept.append(_json({"fp": fp, "answer": answer}))
        idempotency_records.insert(
            conn, engine, idempotency_records.ADMIN, request.route, request.key, kept[-1]
        )

    subscription, secret = change(
        claim["id"], encryption.box_of(engine).open(claim["secret"]), record
    )
    if not kept:  # made already by this claim (a copy's): keep its record if none is
        answer = {**_stored(subscription), "secret": claim["secret"]}
        kept.append(_json({"fp": fp, "answer": answer}))
        try:
            with engine.sql.begin() as conn:
                idempotency_records.insert(
                    conn, engine, idempotency_records.ADMIN, request.route, request.key, kept[-1]
                )
        except IntegrityError:
            pass  # the copy kept it
    engine.redis.set(record_key, kept[-1], ex=engine.idempotency_ttl_seconds)
    return Answer(subscription, secret, replayed=False)


def _checked(recorded: dict, request: IdempotentRequest) -> dict:
    if not is_same_request(recorded, request.fingerprint):
        raise IdempotencyKeyReusedError(
            "This Idempotency-Key was already used with a different request.",
            {"idempotency_key": request.key},
        )
    return recorded


def _stored(subscription: Subscription) -> dict:
    fields = asdict(subscription)
    for name in DATES:
        fields[name] = None if fields[name] is None else to_ms(fields[name])
    return fields


def _answer_of(engine: Engine, answer: dict) -> Answer:
    fields = dict(answer)
    secret = encryption.box_of(engine).open(fields.pop("secret"))
    for name in DATES:
        fields[name] = None if fields[name] is None else from_ms(fields[name])
    fields["events"] = tuple(fields["events"])
    return Answer(Subscription(**fields), secret, replayed=True)


def _json(value: dict) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
