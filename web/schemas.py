"""Schemas shared by several blueprints; each blueprint keeps its own beside it."""

from __future__ import annotations

import re

import marshmallow as ma
from marshmallow import validate
from werkzeug.routing import BaseConverter

from web.errors import ApiError

PLAYER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,128}$"  # 1-128 visible ASCII characters


class PlayerIdConverter(BaseConverter):
    """`<player:player_id>`: any path segment, refused with 400 unless it is a valid id.

    A plain regex converter would answer 404 for a bad id; a client deserves to hear
    that the id itself is malformed.
    """

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        if not PLAYER_ID.match(value):
            raise ApiError(
                400,
                "validation_error",
                "The player id is not valid.",
                {"player_id": ["Must match ^[A-Za-z0-9_.:-]{1,64}$."]},
            )
        return value


def player_id_parameter_schema(converter: BaseConverter) -> dict:
    return {"type": "string", "pattern": PLAYER_ID.pattern}


PERIOD_TYPES = ("weekly", "monthly", "yearly")


class PeriodTypeConverter(BaseConverter):
    """`<period_type:period_type>`: weekly, monthly or yearly; anything else is 400."""

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        if value not in PERIOD_TYPES:
            raise ApiError(
                400,
                "validation_error",
                "The period type is not valid.",
                {"period_type": [f"Must be one of {', '.join(PERIOD_TYPES)}."]},
            )
        return value


def period_type_parameter_schema(converter: BaseConverter) -> dict:
    return {"type": "string", "enum": list(PERIOD_TYPES)}


class StrictSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class IdempotencyHeaderSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    idempotency_key = ma.fields.String(
        data_key="Idempotency-Key",
        required=True,
        validate=validate.Regexp(
            IDEMPOTENCY_KEY, error="Must be 1 to 128 visible ASCII characters."
        ),
        metadata={"description": "Makes the request safe to retry: same key, same answer."},
    )


def amounts_field(**kwargs) -> ma.fields.Dict:
    """A map of resource name to an integer amount."""
    return ma.fields.Dict(
        keys=ma.fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,31}$")),
        values=ma.fields.Integer(strict=True),
        **kwargs,
    )


class BalancesSchema(ma.Schema):
    player_id = ma.fields.String(required=True)
    balances = amounts_field(required=True)


class TransactionSchema(ma.Schema):
    transaction_id = ma.fields.String(required=True)
    balances = amounts_field(required=True)
