"""`POST /v1/admin/webhooks`, `GET /v1/admin/webhooks`,
`GET /v1/admin/webhooks/{subscription_id}`, `PATCH /v1/admin/webhooks/{subscription_id}`,
`DELETE /v1/admin/webhooks/{subscription_id}`,
`POST /v1/admin/webhooks/{subscription_id}/test`,
`POST /v1/admin/webhooks/{subscription_id}/rotate-secret`,
`GET /v1/admin/webhooks/{subscription_id}/deliveries`,
`POST /v1/admin/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver`
→ engine.webhooks.subscriptions → SQL (webhook_subscriptions, webhook_deliveries);
creating and rotating go through engine.webhooks.retries first, once per
Idempotency-Key (its record in Redis, as every idempotent request's).
Nothing is sent from a request: the `webhooks` job (engine.webhooks.delivery) sends
what these routes queue, and the persist job records the events they subscribe to.
"""

from __future__ import annotations

from datetime import timedelta

import marshmallow as ma
from marshmallow import validate

from engine.errors import NotFoundError
from engine.text import READABLE_LINE_OR_EMPTY
from engine.webhooks import EVENT_TYPES, retries, subscriptions
from web.api import Blueprint
from web.extensions import get_engine
from web.purchases import replay_headers
from web.schemas import (
    IdempotencyHeaderSchema,
    JsonBoolean,
    Pattern,
    QueryInteger,
    StrictSchema,
    WholeNumber,
    idempotency_key_field,
)

SQL_BIGINT_MAX = 2**63 - 1

blp = Blueprint(
    "webhooks", __name__, url_prefix="/v1/admin/webhooks", description="Webhooks (admin)."
)


def _events(**options) -> ma.fields.List:
    return ma.fields.List(
        ma.fields.String(validate=validate.OneOf([*EVENT_TYPES, "*"])),
        validate=validate.Length(1, len(EVENT_TYPES) + 1),
        metadata={"example": ["purchase.completed", "player.banned"]},
        **options,
    )


def _url(**options) -> ma.fields.String:
    return ma.fields.String(
        validate=validate.Length(8, 2048),
        metadata={"example": "https://game.example.com/questboard-webhooks", "format": "uri"},
        **options,
    )


def _description(**options) -> ma.fields.String:
    """Empty, or one readable line (engine.text), as a ban's reason is."""
    return ma.fields.String(
        validate=[
            validate.Length(0, subscriptions.MAX_DESCRIPTION),
            Pattern(READABLE_LINE_OR_EMPTY.pattern),
        ],
        metadata={"description": subscriptions.DESCRIPTION_RULE, "example": "game server"},
        **options,
    )


class KeyHeaderSchema(IdempotencyHeaderSchema):
    """The Idempotency-Key of a creation or a rotation, described for what it keeps."""

    idempotency_key = idempotency_key_field(
        "Makes the request safe to retry: the same key with the same request answers"
        " the first answer (the same subscription and secret, with Idempotent-Replayed:"
        " true) for IDEMPOTENCY_TTL_SECONDS (24 h by default); after that it is a new"
        " request. The same key with another request is 422 idempotency_key_reused."
        " A rotation's key belongs to its subscription.",
        example="hooks-game-server",
    )


class CreateSchema(StrictSchema):
    url = _url(required=True)
    events = _events(required=True)
    description = _description(load_default="")


class ChangeSchema(StrictSchema):
    url = _url()
    events = _events()
    description = _description()
    enabled = JsonBoolean()


class RotateSchema(StrictSchema):
    grace_period_seconds = WholeNumber(
        load_default=int(subscriptions.DEFAULT_GRACE.total_seconds()),
        validate=validate.Range(0, int(subscriptions.MAX_GRACE.total_seconds())),
    )


class SubscriptionSchema(ma.Schema):
    id = ma.fields.String(required=True, metadata={"example": "whsub_3f2a9c1e5b7d4a60"})
    url = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    events = ma.fields.List(ma.fields.String(), required=True)
    enabled = ma.fields.Boolean(required=True)
    disabled_reason = ma.fields.String(required=True, allow_none=True)
    failing_since = ma.fields.DateTime(required=True, allow_none=True)
    previous_secret_expires_at = ma.fields.DateTime(
        required=True,
        allow_none=True,
        metadata={"description": "Until then the previous secret signs too (a second v1=)."},
    )
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)


class SubscriptionWithSecretSchema(SubscriptionSchema):
    secret = ma.fields.String(
        required=True,
        metadata={"description": "The signing secret, shown this once.", "example": "whsec_…"},
    )


class SubscriptionListSchema(ma.Schema):
    subscriptions = ma.fields.List(ma.fields.Nested(SubscriptionSchema()), required=True)


class DeliverySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    event_id = ma.fields.String(required=True)
    type = ma.fields.String(required=True)
    player_id = ma.fields.String(required=True, allow_none=True)
    status = ma.fields.String(required=True, metadata={"enum": ["pending", "delivered", "failed"]})
    attempts = ma.fields.Integer(required=True)
    last_status = ma.fields.Integer(required=True, allow_none=True)
    last_error = ma.fields.String(required=True, allow_none=True)
    latency_ms = ma.fields.Integer(required=True, allow_none=True)
    created_at = ma.fields.DateTime(required=True)
    next_attempt_at = ma.fields.DateTime(required=True, allow_none=True)
    delivered_at = ma.fields.DateTime(required=True, allow_none=True)


class DeliveryListSchema(ma.Schema):
    deliveries = ma.fields.List(ma.fields.Nested(DeliverySchema()), required=True)


class DeliveriesQuerySchema(StrictSchema):
    status = ma.fields.String(validate=validate.OneOf(["pending", "delivered", "failed"]))
    limit = QueryInteger(load_default=50, validate=validate.Range(1, 500))
    before = QueryInteger(
        # a delivery id is a signed BIGINT: a larger one names none and overflows the driver
        validate=validate.Range(1, SQL_BIGINT_MAX),
        metadata={"description": "A delivery id: older ones."},
    )


def _with_secret(answer: retries.Answer, status: int) -> tuple[dict, int, dict]:
    body = {**answer.subscription.__dict__, "secret": answer.secret}
    return body, status, replay_headers(answer.replayed)


@blp.route("", methods=["POST"])
@blp.arguments(KeyHeaderSchema(), location="headers", as_kwargs=True)
@blp.arguments(CreateSchema())
@blp.response(201, SubscriptionWithSecretSchema())
@blp.alt_response(422, description="idempotency_key_reused")
def create_webhook(body: dict, idempotency_key: str):
    """Subscribe a URL to event types; the answer carries the signing secret, once.
    A retry with the same Idempotency-Key answers the same subscription and secret."""
    answer = retries.create(
        get_engine(), idempotency_key, body["url"], body["events"], body["description"]
    )
    return _with_secret(answer, 201)


@blp.route("", methods=["GET"])
@blp.response(200, SubscriptionListSchema())
def list_webhooks():
    return {"subscriptions": subscriptions.listing(get_engine())}


@blp.route("/<string:subscription_id>", methods=["GET"])
@blp.response(200, SubscriptionSchema())
@blp.alt_response(404, description="not_found")
def get_webhook(subscription_id: str):
    return subscriptions.get(get_engine(), subscription_id)


@blp.route("/<string:subscription_id>", methods=["PATCH"])
@blp.arguments(ChangeSchema())
@blp.response(200, SubscriptionSchema())
@blp.alt_response(404, description="not_found")
def change_webhook(body: dict, subscription_id: str):
    """Change the URL, the events, the description; `enabled: true` resumes deliveries."""
    return subscriptions.change(
        get_engine(),
        subscription_id,
        url=body.get("url"),
        types=body.get("events"),
        enabled=body.get("enabled"),
        description=body.get("description"),
    )


@blp.route("/<string:subscription_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(404, description="not_found")
def delete_webhook(subscription_id: str):
    subscriptions.delete(get_engine(), subscription_id)


@blp.route("/<string:subscription_id>/test", methods=["POST"])
@blp.response(202, DeliverySchema())
@blp.alt_response(404, description="not_found")
def test_webhook(subscription_id: str):
    """Queue a `ping` event to this subscription; the webhooks job sends it."""
    return subscriptions.ping(get_engine(), subscription_id)


@blp.route("/<string:subscription_id>/rotate-secret", methods=["POST"])
@blp.arguments(KeyHeaderSchema(), location="headers", as_kwargs=True)
@blp.arguments(RotateSchema())
@blp.response(200, SubscriptionWithSecretSchema())
@blp.alt_response(404, description="not_found")
@blp.alt_response(422, description="idempotency_key_reused")
def rotate_webhook_secret(body: dict, subscription_id: str, idempotency_key: str):
    """A new secret, shown once; the old one keeps signing beside it until
    `previous_secret_expires_at` (grace_period_seconds, 24 h by default). A retry with
    the same Idempotency-Key answers the same secret and rotates nothing."""
    grace = timedelta(seconds=body["grace_period_seconds"])
    answer = retries.rotate_secret(get_engine(), idempotency_key, subscription_id, grace)
    return _with_secret(answer, 200)


@blp.route("/<string:subscription_id>/deliveries", methods=["GET"])
@blp.arguments(DeliveriesQuerySchema(), location="query", as_kwargs=True)
@blp.response(200, DeliveryListSchema())
@blp.alt_response(404, description="not_found")
def list_webhook_deliveries(subscription_id: str, limit: int, **query):
    """The delivery log, newest first: status, attempts, last error, latency."""
    found = subscriptions.deliveries(get_engine(), subscription_id, limit=limit, **query)
    return {"deliveries": found}


@blp.route("/<string:subscription_id>/deliveries/<string:delivery_id>/redeliver", methods=["POST"])
@blp.response(202, DeliverySchema())
@blp.alt_response(404, description="not_found")
def redeliver_webhook(subscription_id: str, delivery_id: str):
    """Send a delivery again, whatever its status, with a new 24-hour retry budget."""
    # 0-9 only: str.isdigit also takes a superscript 1 (int() refuses it) and an
    # Arabic-Indic 1 (int() reads 1)
    plain = delivery_id.isascii() and delivery_id.isdigit() and len(delivery_id) < 19
    if not plain:  # no delivery has such an id: the 404 names the one asked for
        subscriptions.get(get_engine(), subscription_id)  # an unknown subscription's first
        raise NotFoundError(
            f"There is no delivery {delivery_id!r} of {subscription_id}.",
            {"delivery_id": delivery_id},
        )
    return subscriptions.redeliver(get_engine(), subscription_id, int(delivery_id))
