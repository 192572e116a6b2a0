"""`POST /v1/players/{player_id}/purchases` → engine.economy.purchases.purchase →
engine.economy.activity.record → lua/record_activity.lua (+ includes replay, wallet, rate,
progress), which debits the price and credits the items in one atomic call, each change
with its ledger entry: buy catalog items, exactly once per Idempotency-Key. With
`X-Player-IP`, engine.security.rate_limits.take_address_slot → lua/take_rate_slot.lua
runs first. The answer of a purchase that earned nothing beyond itself (most of them)
is built directly (web.responses); PurchaseSchema documents it and dumps every other.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import flask
import marshmallow as ma
from marshmallow import validate
from webargs.flaskparser import is_json_request

from engine.economy import purchases
from engine.progression import Progress
from engine.rules import Rules
from engine.runtime import Engine
from web.api import Blueprint, is_identity
from web.extensions import get_engine
from web.fastschema import FastSchema
from web.responses import json_response
from web.schemas import (
    IDEMPOTENCY_KEY,
    IdempotencyHeaderSchema,
    ProgressSchema,
    RulesRange,
    StrictSchema,
    WholeNumber,
    amounts_field,
)
from web.security import player_address

blp = Blueprint("purchases", __name__, url_prefix="/v1/players", description="Purchases.")


def largest_quantity(rules: Rules) -> int:
    return max(item.max_quantity for item in rules.catalog.values())


class PurchaseRequestSchema(StrictSchema):
    item = ma.fields.String(
        required=True, validate=validate.Length(1, 64), metadata={"example": "steel"}
    )
    quantity = WholeNumber(
        required=True,
        validate=RulesRange(1, largest_quantity, 1_000_000),
        metadata={"example": 2, "description": "At most the item's max_quantity."},
    )
    expected_price = amounts_field(
        fewest=1,
        spec_bounds=lambda rules: (1, rules.limits.max_balance),
        metadata={
            "description": "The unit price the player saw, as in the catalog; another price"
            " is 409 price_changed.",
            "example": {"coins": 50},
        },
    )


class PurchaseSchema(FastSchema):
    transaction_id = ma.fields.String(required=True, attribute="transaction.transaction_id")
    item = ma.fields.String(required=True)
    quantity = ma.fields.Integer(required=True)
    cost = amounts_field(required=True)
    balances = amounts_field(required=True, attribute="transaction.balances")
    progress = ma.fields.Nested(ProgressSchema(), required=True, attribute="transaction.progress")


HEADERS, BODY = IdempotencyHeaderSchema(), PurchaseRequestSchema()


def documented_only(*decorators: Callable[[Callable], Callable]) -> Callable[[Callable], Callable]:
    """flask-smorest's `@blp.arguments` decorators (`decorators`, outermost first) for
    the OpenAPI document only: the view keeps what they document and is called without
    their layers of webargs, as it loads its arguments itself (`purchase_arguments`)."""

    def decorate(view: Callable) -> Callable:
        documented = view
        for decorator in reversed(decorators):
            documented = decorator(documented)
        view._apidoc = documented._apidoc  # type: ignore[attr-defined]
        return view

    return decorate


# The body nearly every purchase sends, `{"item": "<id>", "quantity": <n>}` and nothing
# else, written plainly: JSON whitespace only, an id of plain characters (no escape, so
# the text is the value), a quantity without sign, fraction or leading zero and below
# the field's hard maximum (RulesRange: 1,000,000). Such a text is valid JSON without a
# duplicate name, and PurchaseRequestSchema loads it as {"item", "quantity"}: matching
# it replaces the JSON parser and the schema, with the same result. Anything else (an
# expected_price, another order, escapes, 1e0) takes the schema's path.
_WS = rb"[ \t\n\r]*"
PLAIN_BODY = re.compile(
    _WS
    + rb"\{"
    + _WS
    + rb'"item"'
    + _WS
    + rb":"
    + _WS
    + rb'"([A-Za-z0-9_.-]{1,64})"'
    + _WS
    + rb","
    + _WS
    + rb'"quantity"'
    + _WS
    + rb":"
    + _WS
    + rb"([1-9][0-9]{0,5})"
    + _WS
    + rb"\}"
    + _WS
)
PLAIN_KEY = re.compile(IDEMPOTENCY_KEY)  # IdempotencyHeaderSchema's whole-value pattern


def plain_arguments(key: str, data: bytes) -> tuple[str, dict] | None:
    """The key and the body of a plain purchase (PLAIN_BODY, a valid key) as the schemas
    would load them, or None: for the schemas (web.hot_purchase answers only these)."""
    plain = PLAIN_BODY.fullmatch(data)
    if plain is None or not PLAIN_KEY.fullmatch(key):
        return None
    return key, {"item": plain[1].decode(), "quantity": int(plain[2])}


def purchase_arguments() -> tuple[str, dict]:
    """The Idempotency-Key and the body, loaded as the documented `@blp.arguments`
    would load them: a plain body (PLAIN_BODY) with a valid key by a match, any other
    valid pair through the schemas, else by the same parser (web.api.Parser), headers
    first, whose refusal is the answer (a body with a Content-Encoding included)."""
    request = flask.request
    key = request.headers.get("Idempotency-Key")
    as_sent = is_json_request(request) and is_identity(request.headers.get("Content-Encoding"))
    data = request.get_data(cache=True) if as_sent else b""
    if key is not None and data:
        plain = plain_arguments(key, data)
        if plain is not None:
            return plain
        try:
            loaded = HEADERS.load({"Idempotency-Key": key})
            return loaded["idempotency_key"], BODY.load(flask.current_app.json.loads(data))
        except (ma.ValidationError, ValueError):
            pass  # InvalidJsonError is a ValueError: the parser below answers both
    parser = blp.ARGUMENTS_PARSER
    loaded = parser.parse(HEADERS, location="headers")
    return loaded["idempotency_key"], parser.parse(BODY, location="json")


@blp.route("/<player:player_id>/purchases", methods=["POST"])
@documented_only(
    blp.arguments(HEADERS, location="headers", as_kwargs=True),
    blp.arguments(BODY),
)
@blp.response(201, PurchaseSchema())
@blp.alt_response(404, description="unknown_item")
@blp.alt_response(409, description="insufficient_funds or price_changed")
@blp.alt_response(422, description="idempotency_key_reused")
def create_purchase(player_id: str):
    idempotency_key, body = purchase_arguments()
    result = buy(get_engine(), player_id, idempotency_key, body, player_address())
    headers = replay_headers(result.transaction.replayed)
    body = plain_answer(result)
    if body is None:
        return result, 201, headers
    return json_response(body, 201, headers)


def buy(
    engine: Engine, player_id: str, idempotency_key: str, body: dict, address: str | None
) -> purchases.Purchase:
    """The engine's purchase of a loaded body, from `address` (the validated
    X-Player-IP, None without one): the view's call, and web.hot_purchase's."""
    return purchases.purchase(
        engine,
        player_id,
        item_id=body["item"],
        quantity=body["quantity"],
        idempotency_key=idempotency_key,
        expected_price=body.get("expected_price"),
        address=address,
    )


def replay_headers(replayed: bool) -> dict[str, str]:
    return {"Idempotent-Replayed": "true"} if replayed else {}


def plain_answer(result: purchases.Purchase) -> dict | None:
    """PurchaseSchema's dump of a purchase whose progress is the streak alone, built
    without the schema; None for any other (a bonus, a mission, XP: the schema dumps it)."""
    transaction = result.transaction
    progress = transaction.progress
    if progress is None or not _plain(progress):
        return None
    return {
        "transaction_id": transaction.transaction_id,
        "item": result.item,
        "quantity": result.quantity,
        "cost": result.cost,
        "balances": transaction.balances,
        "progress": {
            "daily_bonus": None,
            "missions": [],
            "xp": None,
            "level_rewards": [],
            "streak": progress.streak,
            "freezes_used": progress.freezes_used,
        },
    }


def _plain(progress: Progress) -> bool:
    return (
        progress.daily_bonus is None
        and not progress.missions
        and progress.xp is None
        and not progress.level_rewards
    )
