"""Schemas shared by several blueprints; each blueprint keeps its own beside it."""

from __future__ import annotations

import re
from collections.abc import Callable

import marshmallow as ma
from flask import current_app
from marshmallow import validate
from werkzeug.routing import BaseConverter

from engine import boards
from engine.rules import Rules
from web.errors import ApiError
from web.fastschema import FastSchema

# Every pattern is written ^...$ (what JSON Schema readers expect in the spec) and is
# always matched against the whole value with re.fullmatch: Python's `$` also matches
# before a trailing newline, so `.match` would let "bob\n" through as a new player.
PLAYER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# 1-128 visible ASCII characters but the comma: HTTP joins the lines of a header sent
# twice with commas (RFC 9110, 5.3; granian without a space), so `Idempotency-Key: k`
# repeated reaches the app as "k,k", which must not be a key of its own (a retry whose
# client repeated the header would be applied again).
IDEMPOTENCY_KEY = r"^[\x21-\x2b\x2d-\x7e]{1,128}$"


def quoted(value: object, limit: int = 80) -> str:
    """The value as sent, quoted for an error message (long values cut short)."""
    text = value if isinstance(value, str) else str(value)
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def pattern_problem(value: str, pattern: re.Pattern) -> str | None:
    """Why `value` does not match the whole of `pattern`, quoting it; None if it does."""
    if pattern.fullmatch(value):
        return None
    return f"{quoted(value)} is not valid: it must match {pattern.pattern}."


class Pattern(validate.Regexp):
    """A regex validator that matches the whole value and quotes it when it fails.

    apispec reads `regex.pattern` for the spec's `pattern`, so the spec shows the same
    anchored pattern the server enforces.
    """

    def __call__(self, value: str) -> str:
        problem = pattern_problem(value, self.regex)
        if problem:
            raise ma.ValidationError(problem)
        return value


class PlayerIdConverter(BaseConverter):
    """`<player:player_id>`: any path segment, refused with 400 unless it is a valid id.

    A plain regex converter would answer 404 for a bad id; a client deserves to hear
    that the id itself is malformed.
    """

    regex = "[^/]+"
    # One path segment: werkzeug infers "not part-isolating" from the "/" in the regex
    # and then matches the rest of the path against each player route's regex in turn.
    part_isolating = True

    def to_python(self, value: str) -> str:
        problem = pattern_problem(value, PLAYER_ID)
        if problem:
            raise ApiError(
                400, "validation_error", "The player id is not valid.", {"player_id": [problem]}
            )
        return value


def player_id_parameter_schema(converter: BaseConverter) -> dict:
    return {"type": "string", "pattern": PLAYER_ID.pattern}


PERIOD_TYPES = ("weekly", "monthly", "yearly")


class PeriodTypeConverter(BaseConverter):
    """`<period_type:period_type>`: weekly, monthly or yearly; anything else is 400."""

    regex = "[^/]+"
    part_isolating = True  # one path segment (see PlayerIdConverter)

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


class WholeNumber(ma.fields.Integer):
    """An integer, also when the JSON writes it 80.0 (JSON Schema counts a number with
    a zero fraction as an integer, so a client may); never a string, a boolean or a
    fraction."""

    def __init__(self, **kwargs) -> None:
        super().__init__(strict=True, **kwargs)

    def _validated(self, value):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return super()._validated(value)


ASCII_INTEGER = re.compile(r"-?[0-9]+")


class QueryInteger(ma.fields.Integer):
    """An integer query parameter: ASCII digits after an optional minus, nothing else.

    int() also reads `1_0` as 10, `+5` and ` 5 ` as 5, and the digits of every script
    (Arabic-Indic, fullwidth...) as ASCII ones: a client, a cache or a proxy in front
    reads such a value as text, or refuses it, so it is refused here too ("Not a valid
    integer.")."""

    def _validated(self, value):
        if isinstance(value, str) and not ASCII_INTEGER.fullmatch(value):
            raise self.make_error("invalid")
        return super()._validated(value)


class JsonBoolean(ma.fields.Boolean):
    """A JSON body's true or false, nothing else: marshmallow's Boolean also reads the
    strings "yes", "off", "0", "F" and the numbers 1, 0 and 1.0, where the spec says
    boolean (as WholeNumber refuses "70" and true for an integer)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class RulesChoice(validate.Validator):
    """One of a list the loaded rules hold (apispec reads `choices` for the enum)."""

    def __init__(self, choices_of: Callable[[Rules], tuple[str, ...]]) -> None:
        self.choices_of = choices_of

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self.choices_of(current_rules()))

    def __call__(self, value: str) -> str:
        if value not in self.choices:
            raise ma.ValidationError(f"{quoted(value)} is not one of: {', '.join(self.choices)}.")
        return value


class StrictSchema(FastSchema):
    class Meta:
        unknown = ma.RAISE


def idempotency_key_field(description: str, example: str, required: bool = True):
    """The Idempotency-Key header, described for what a route keeps under it."""
    return ma.fields.String(
        data_key="Idempotency-Key",
        required=required,
        validate=Pattern(IDEMPOTENCY_KEY),
        metadata={"description": description, "example": example},
    )


class IdempotencyHeaderSchema(FastSchema):
    class Meta:
        unknown = ma.EXCLUDE

    idempotency_key = idempotency_key_field(
        "Makes the request safe to retry: the same key with the same request answers"
        " the first answer, for IDEMPOTENCY_TTL_SECONDS (24 h by default); after that"
        " it is a new request. The same key with another request is 422.",
        example="order-81723",
    )


RESOURCE_NAME = r"^[a-z][a-z0-9_]{0,31}$"


class MapSize(validate.Validator):
    """How many entries a map may hold (apispec reads no bounds from it: the spec's
    minProperties/maxProperties come from `Amounts`)."""

    def __init__(self, fewest: int, most: int) -> None:
        self.fewest = fewest
        self.most = most

    def __call__(self, value: dict) -> dict:
        if not self.fewest <= len(value) <= self.most:
            if self.fewest:
                raise ma.ValidationError(
                    f"Must name between {self.fewest} and {self.most} resources."
                )
            raise ma.ValidationError(f"Must name at most {self.most} resources.")
        return value


class Amounts(ma.fields.Dict):
    """A map of resource name to an integer amount.

    The server bounds the map (at most 32 names of the resource-name pattern, values
    within +-10**15) and the engine checks the names and amounts against the rules.
    The spec says what the rules allow, filled in when the app is built: names among
    the rules' resources, values within `spec_bounds`, non-zero where `nonzero`.
    """

    def __init__(
        self,
        *,
        fewest: int = 0,
        nonzero: bool = False,
        spec_bounds: Callable[[Rules], tuple[int, int]] | None = None,
        **kwargs,
    ) -> None:
        self.fewest = fewest
        self.most = 32
        self.nonzero = nonzero
        self.spec_bounds = spec_bounds
        super().__init__(
            keys=ma.fields.String(validate=Pattern(RESOURCE_NAME)),
            values=WholeNumber(validate=validate.Range(-(10**15), 10**15)),
            validate=MapSize(fewest, self.most),
            **kwargs,
        )

    def spec(self, rules: Rules) -> dict:
        """The JSON Schema of this map under `rules`."""
        values: dict = {"type": "integer"}
        if self.spec_bounds is not None:
            values["minimum"], values["maximum"] = self.spec_bounds(rules)
        if self.nonzero:
            values["not"] = {"const": 0}
        schema = {
            "type": "object",
            "propertyNames": {"enum": list(rules.wallet_resources)},
            "additionalProperties": values,
            "maxProperties": min(self.most, len(rules.wallet_resources)),
        }
        if self.fewest:
            schema["minProperties"] = self.fewest
        if self.allow_none:  # apispec's own nullable fields are typed so in OpenAPI 3.1
            schema["type"] = ["object", "null"]
        return schema


def amounts2properties(converter, field: ma.fields.Field, **kwargs) -> dict:
    """apispec attribute function: an `Amounts` map as the loaded rules allow it."""
    if not isinstance(field, Amounts):
        return {}
    return field.spec(current_rules())


def amounts_field(**kwargs) -> Amounts:
    """A map of resource name to an integer amount (see `Amounts`)."""
    return Amounts(**kwargs)


class BalancesSchema(ma.Schema):
    player_id = ma.fields.String(required=True)
    balances = amounts_field(required=True)


class TransactionSchema(ma.Schema):
    transaction_id = ma.fields.String(required=True)
    balances = amounts_field(required=True)


class DailyBonusSchema(ma.Schema):
    streak = ma.fields.Integer(required=True)
    reward = amounts_field(required=True)
    transaction_id = ma.fields.String(allow_none=True)


class MissionProgressSchema(ma.Schema):
    id = ma.fields.String(required=True, metadata={"example": "solve_20"})
    progress = ma.fields.Integer(required=True)
    target = ma.fields.Integer(required=True)
    completed = ma.fields.Boolean(
        required=True, metadata={"description": "Completed by this event."}
    )
    xp = ma.fields.Integer()
    reward = amounts_field()
    transaction_id = ma.fields.String()


class XpSchema(ma.Schema):
    season = ma.fields.String(required=True)
    gained = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True)
    level = ma.fields.Integer(required=True)
    levels_gained = ma.fields.List(ma.fields.Integer(), required=True)


class LevelRewardSchema(ma.Schema):
    level = ma.fields.Integer(required=True)
    reward = amounts_field(required=True)
    transaction_id = ma.fields.String(allow_none=True)


class ProgressSchema(ma.Schema):
    """What an activity earned besides itself: bonus, missions, XP, level rewards."""

    daily_bonus = ma.fields.Nested(DailyBonusSchema(), required=True, allow_none=True)
    missions = ma.fields.List(ma.fields.Nested(MissionProgressSchema()), required=True)
    xp = ma.fields.Nested(XpSchema(), required=True, allow_none=True)
    level_rewards = ma.fields.List(ma.fields.Nested(LevelRewardSchema()), required=True)
    streak = ma.fields.Integer(required=True)
    freezes_used = ma.fields.Integer(
        required=True, metadata={"description": "Streak freezes used to bridge missed game days."}
    )


CATEGORY = boards.CATEGORY
PERIOD = r"^[0-9]{4}(-W[0-9]{2}|-[0-9]{2})?$"  # weekly 2026-W48, monthly 2026-11, yearly 2026


def category_field(description: str | None = None, **kwargs) -> ma.fields.String:
    """A quiz category id: the pattern of `engine.boards.CATEGORY`, and never 'global',
    the name the global board uses for itself."""
    metadata = {"example": "math", "not": {"enum": [boards.GLOBAL]}}
    if description:
        metadata["description"] = description
    return ma.fields.String(
        validate=[
            Pattern(CATEGORY.pattern),
            validate.NoneOf(
                [boards.GLOBAL], error="'global' names the board of all categories, no category."
            ),
        ],
        metadata=metadata,
        **kwargs,
    )


def current_rules() -> Rules:
    return current_app.extensions["questboard.engine"].rules


class RulesRange(validate.Validator):
    """An integer range whose upper bound is a limit of the loaded rules.

    The message and the spec (built inside the app's context) give the rules' bound.
    Values above it but within `hard_max` still reach the engine, which refuses them
    and records the attempt as a fraud violation (impossible amount); beyond
    `hard_max` the value is refused here, with the same message.
    """

    def __init__(self, low: int, limit: Callable[[Rules], int], hard_max: int) -> None:
        self.min = low
        self.limit = limit
        self.hard_max = hard_max

    @property
    def max(self) -> int:
        """The rules' bound (apispec reads `min` and `max` for the spec)."""
        return self.limit(current_rules())

    def __call__(self, value: int) -> int:
        if not self.min <= value <= self.hard_max:
            raise ma.ValidationError(f"Must be between {self.min} and {self.max}.")
        return value


class PrizeRefusedSchema(ma.Schema):
    """A prize a close did not pay (a closed board's entry, a closed cohort's member)."""

    prize = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        required=True,
        metadata={"example": {"coins": 200}},
    )
    code = ma.fields.String(
        required=True,
        metadata={
            "description": "The wallet's refusal, an error code.",
            "example": "balance_limit_exceeded",
        },
    )
