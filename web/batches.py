"""`POST /v1/exams:batch` → engine.boards.exams.record_exam_batch (the players' bans
from the process's copy, then lua/record_exams.lua per player shard,
lua/update_board.lua per board, lua/keep_exam_summaries.lua per shard);
`POST /v1/admin/grants:batch` → engine.economy.grants.grant_batch
(lua/apply_transaction.lua once per item, all in one round trip);
`GET /v1/wallets` (`?player_id=a&player_id=b`) →
engine.economy.wallet.balances_of_players (every wallet in one pipeline, the bans
from the process's copy). Many players' items in one request, each answered on its own.

Every item gets `{"status", "replayed", "result", "error"}` in the order sent (the
wallets, one per distinct `player_id`, in the order each was first sent): the
status the single route would have answered (201, 200 for a replay, or an error's
status with its `{"code", "message", "details"}`). A bad item does not stop the others,
and the same batch sent again answers every item the same way, replays marked. The
batch itself is 200 once its shape is valid; a malformed batch is a 400 for the whole.

A batch comes from a game server, not a player: each item counts against its own
player's per-player limit and pace in the scripts, as a single exam does, and against
no address's window (an `X-Player-IP` sent with a batch is web.security's check of the
request as a whole, as on any route). A banned player's exam or wallet answers 403
`banned`. Grants are admin-only (web.auth, by their /v1/admin path) and, as on the
single route, applied to a banned player too.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import orjson
from flask import Response
from marshmallow import validate

from engine.boards import exams
from engine.economy import grants, wallet
from engine.economy.transactions import Transaction
from engine.errors import QuestboardError
from engine.rules import Rules
from web.api import Blueprint, ErrorInfoSchema
from web.errors import STATUS_BY_ERROR
from web.exams import ExamRequestSchema, ExamSummarySchema
from web.extensions import get_engine
from web.grants import GrantRequestSchema
from web.guards import batch_body
from web.schemas import (
    IDEMPOTENCY_KEY,
    PLAYER_ID,
    RESOURCE_NAME,
    Amounts,
    BalancesSchema,
    Pattern,
    StrictSchema,
    TransactionSchema,
    WholeNumber,
)

MAX_EXAMS = 500
HARD_MAX = 2**31  # what the single routes' schemas refuse themselves
AMOUNT = 10**15
MAX_GRANTS = 100
MAX_WALLETS = 100

blp = Blueprint("batches", __name__, description="Many players' items in one request.")


def player_id_field(**kwargs: Any) -> ma.fields.String:
    return ma.fields.String(
        required=True, validate=Pattern(PLAYER_ID.pattern), metadata={"example": "alice"}, **kwargs
    )


# An item's values that the rules bound are checked by the engine, item by item (an
# impossible exam result is also a fraud violation, as on the single route): the spec
# gives the bounds the schema enforces, and each item answers 400 beyond the rules'.
ITEM_CHECKED = "Beyond the rules' bound (see the single route) the item answers 400."


def checked_number(low: int, example: int) -> WholeNumber:
    return WholeNumber(
        required=True,
        validate=validate.Range(low, HARD_MAX),
        metadata={"example": example, "description": ITEM_CHECKED},
    )


class ExamBatchItemSchema(ExamRequestSchema):
    player_id = player_id_field()
    score = checked_number(0, 80)
    total_questions = checked_number(1, 10)
    correct_answers = checked_number(0, 8)


class ItemAmounts(Amounts):
    """A grant item's resources: names and amounts the rules refuse answer 400 in the
    item, so the spec bounds only what the schema does."""

    def spec(self, rules: Rules) -> dict:
        return {
            "type": "object",
            "propertyNames": {"pattern": RESOURCE_NAME},
            "additionalProperties": {"type": "integer", "minimum": -AMOUNT, "maximum": AMOUNT},
            "minProperties": self.fewest,
            "maxProperties": self.most,
            "description": ITEM_CHECKED,
        }


class ExamBatchRequestSchema(StrictSchema):
    exams = ma.fields.List(
        ma.fields.Nested(ExamBatchItemSchema()),
        required=True,
        validate=validate.Length(1, MAX_EXAMS),
        metadata={"description": f"1 to {MAX_EXAMS} exam results, of any players."},
    )


class GrantBatchItemSchema(GrantRequestSchema):
    player_id = player_id_field()
    resources = ItemAmounts(required=True, fewest=1, metadata={"example": {"coins": 100}})
    idempotency_key = ma.fields.String(
        required=True,
        validate=Pattern(IDEMPOTENCY_KEY),
        metadata={
            "description": (
                "This grant's own key: applied once however often sent within"
                " IDEMPOTENCY_TTL_SECONDS (24 h by default), as the Idempotency-Key of"
                " the single route."
            ),
            "example": "welcome-alice",
        },
    )


class GrantBatchRequestSchema(StrictSchema):
    grants = ma.fields.List(
        ma.fields.Nested(GrantBatchItemSchema()),
        required=True,
        validate=validate.Length(1, MAX_GRANTS),
        metadata={"description": f"1 to {MAX_GRANTS} grants, each with its own key."},
    )


class WalletsQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    player_id = ma.fields.List(
        ma.fields.String(validate=Pattern(PLAYER_ID.pattern)),
        required=True,
        validate=validate.Length(1, MAX_WALLETS),
        metadata={
            "description": f"1 to {MAX_WALLETS} player ids, the parameter repeated.",
            "example": ["alice", "bob"],
        },
    )


def item_schema(name: str, result: ma.Schema, created: int) -> type[ma.Schema]:
    """The schema of one item's answer, its `result` the single route's body."""
    return ma.Schema.from_dict(
        {
            "status": ma.fields.Integer(
                required=True,
                metadata={
                    "description": f"The single route's status: {created}, 200 for a replay, "
                    "or the error's status.",
                    "example": created,
                },
            ),
            "replayed": ma.fields.Boolean(
                required=True, metadata={"description": "An answer recorded before, again."}
            ),
            "result": ma.fields.Nested(result, required=True, allow_none=True),
            "error": ma.fields.Nested(ErrorInfoSchema(), required=True, allow_none=True),
        },
        name=name,
    )


def batch_schema(
    name: str, item: type[ma.Schema], order: str = "One answer per item, in the order sent."
) -> type[ma.Schema]:
    return ma.Schema.from_dict(
        {
            "results": ma.fields.List(
                ma.fields.Nested(item()),
                required=True,
                metadata={"description": order},
            )
        },
        name=name,
    )


ExamBatchResultSchema = batch_schema(
    "ExamBatchResult", item_schema("ExamBatchItemResult", ExamSummarySchema(), 201)
)
GrantBatchResultSchema = batch_schema(
    "GrantBatchResult", item_schema("GrantBatchItemResult", TransactionSchema(), 201)
)
WalletsResultSchema = batch_schema(
    "WalletsResult",
    item_schema("WalletItemResult", BalancesSchema(), 200),
    "One answer per distinct player_id, in the order each was first sent: a player_id "
    "sent twice is answered once.",
)


def error_item(error: QuestboardError) -> dict[str, Any]:
    return {
        "status": STATUS_BY_ERROR[type(error)],
        "replayed": error.replayed,
        "result": None,
        "error": {"code": error.code, "message": error.message, "details": error.details},
    }


def answer(items: list[dict[str, Any]]) -> Response:
    return Response(orjson.dumps({"results": items}), mimetype="application/json")


@blp.route("/v1/exams:batch", methods=["POST"])
@batch_body
@blp.arguments(ExamBatchRequestSchema())
@blp.response(200, ExamBatchResultSchema())
def record_exam_batch(body: dict):
    submissions = [
        (
            item["player_id"],
            exams.Exam(
                exam_id=item["exam_id"],
                category=item["category_id"],
                score=item["score"],
                total_questions=item["total_questions"],
                correct_answers=item["correct_answers"],
            ),
        )
        for item in body["exams"]
    ]
    return answer(
        [
            error_item(outcome)
            if isinstance(outcome, QuestboardError)
            else {
                "status": 201 if outcome.created else 200,
                "replayed": not outcome.created,
                "result": outcome.summary,
                "error": None,
            }
            for outcome in exams.record_exam_batch(get_engine(), submissions)
        ]
    )


@blp.route("/v1/admin/grants:batch", methods=["POST"])
@batch_body
@blp.arguments(GrantBatchRequestSchema())
@blp.response(200, GrantBatchResultSchema())
def create_grant_batch(body: dict):
    items = [
        grants.GrantItem(
            player_id=item["player_id"],
            resources=item["resources"],
            reason=item["reason"],
            idempotency_key=item["idempotency_key"],
        )
        for item in body["grants"]
    ]
    return answer(
        [
            error_item(outcome) if isinstance(outcome, QuestboardError) else _granted(outcome)
            for outcome in grants.grant_batch(get_engine(), items)
        ]
    )


def _granted(transaction: Transaction) -> dict[str, Any]:
    return {
        "status": 200 if transaction.replayed else 201,
        "replayed": transaction.replayed,
        "result": {"transaction_id": transaction.transaction_id, "balances": transaction.balances},
        "error": None,
    }


@blp.route("/v1/wallets")
@blp.arguments(WalletsQuerySchema(), location="query", as_kwargs=True)
@blp.response(200, WalletsResultSchema())
def list_wallets(player_id: list[str]):
    found = wallet.balances_of_players(get_engine(), player_id)
    return answer(
        [
            error_item(balances)
            if isinstance(balances, QuestboardError)
            else {
                "status": 200,
                "replayed": False,
                "result": {"player_id": pid, "balances": balances},
                "error": None,
            }
            for pid, balances in found.items()
        ]
    )
