"""`POST /v1/players/{player_id}/exams` → engine.boards.exams.record_exam →
engine.boards.exams.record_exams → lua/record_exams.lua (+ includes wallet, rate,
progress) on the player's slot, then lua/update_board.lua on each of the six boards'
slots, then lua/keep_exam_summaries.lua: an exam result into every current board,
counted once per exam_id. With `X-Player-IP`, lua/take_rate_slot.lua runs first.
"""

from __future__ import annotations

import marshmallow as ma
import orjson

from engine.boards import exams
from web.api import Blueprint
from web.extensions import get_engine
from web.fastschema import FastSchema
from web.purchases import replay_headers
from web.responses import JSON_MIMETYPE, Response
from web.schemas import (
    Pattern,
    ProgressSchema,
    RulesRange,
    StrictSchema,
    WholeNumber,
    category_field,
)
from web.security import player_address

blp = Blueprint("exams", __name__, url_prefix="/v1/players", description="Exam results.")


class ExamRequestSchema(StrictSchema):
    exam_id = ma.fields.String(
        required=True,
        validate=Pattern(r"^[A-Za-z0-9_.:-]{1,128}$"),
        metadata={
            "description": (
                "The attempt's id: sent again within IDEMPOTENCY_TTL_SECONDS (24 h by"
                " default) it counts nothing twice and answers the first summary; after"
                " that it counts as a new attempt."
            ),
            "example": "attempt-5521",
        },
    )
    category_id = category_field(required=True)
    score = WholeNumber(
        required=True,
        validate=RulesRange(0, lambda rules: rules.leaderboards.max_exam_score, 2**31),
        metadata={"example": 80},
    )
    total_questions = WholeNumber(
        required=True,
        validate=RulesRange(1, lambda rules: rules.leaderboards.max_questions, 2**31),
        metadata={"example": 10},
    )
    correct_answers = WholeNumber(
        required=True,
        validate=RulesRange(0, lambda rules: rules.leaderboards.max_questions, 2**31),
        metadata={"example": 8, "description": "At most total_questions."},
    )

    # correct_answers > total_questions and scores above the rules' maximum are checked
    # by the engine, which records them as fraud violations (impossible amounts).


class BoardResultSchema(FastSchema):
    board = ma.fields.String(required=True, metadata={"example": "weekly"})
    category = ma.fields.String(
        allow_none=True, required=True, metadata={"description": "null: global"}
    )
    period = ma.fields.String(required=True, metadata={"example": "2026-W48"})
    score = ma.fields.Integer(required=True)
    rank = ma.fields.Integer(required=True)
    exams = ma.fields.Integer(required=True)
    accuracy = ma.fields.Float(required=True)


class ExamSummarySchema(FastSchema):
    exam_id = ma.fields.String(required=True)
    player_id = ma.fields.String(required=True)
    category_id = ma.fields.String(required=True)
    score = ma.fields.Integer(required=True)
    total_questions = ma.fields.Integer(required=True)
    correct_answers = ma.fields.Integer(required=True)
    boards = ma.fields.List(ma.fields.Nested(BoardResultSchema()), required=True)
    progress = ma.fields.Nested(ProgressSchema(), required=True)


EXAM_REQUEST = ExamRequestSchema()
EXAM_SUMMARY = ExamSummarySchema()
# The app's JSON provider sorts keys (web.guards): the answer is written as it writes it.
SORTED = orjson.OPT_SORT_KEYS


def exam_of(body: dict) -> exams.Exam:
    """The engine's exam of a body EXAM_REQUEST loaded: the view's, and web.hot_exam's."""
    return exams.Exam(
        exam_id=body["exam_id"],
        category=body["category_id"],
        score=body["score"],
        total_questions=body["total_questions"],
        correct_answers=body["correct_answers"],
    )


def summary_body(outcome: exams.ExamOutcome) -> bytes:
    """The answer's body: ExamSummarySchema's dump of the summary, as Flask writes a
    view's dump (keys sorted, compact), without flask-smorest's layers."""
    return orjson.dumps(EXAM_SUMMARY.dump(outcome.summary), option=SORTED)


@blp.route("/<player:player_id>/exams", methods=["POST"])
@blp.arguments(ExamRequestSchema())
@blp.response(201, ExamSummarySchema())
@blp.alt_response(200, schema=ExamSummarySchema(), description="A replay: the first summary.")
@blp.alt_response(422, description="idempotency_key_reused: exam_id used with other content")
def record_exam(body: dict, player_id: str):
    outcome = exams.record_exam(get_engine(), player_id, exam_of(body), address=player_address())
    return Response(
        summary_body(outcome),
        201 if outcome.created else 200,
        replay_headers(replayed=not outcome.created),
        content_type=JSON_MIMETYPE,
    )
