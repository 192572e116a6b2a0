"""`GET /v1/leaderboards/{period_type}` → engine.boards.resolve →
engine.boards.leaderboards.top (a closed period's page adds each entry's prize from
engine.boards.prizes.prizes_of: paid, or refused by the wallet);
`GET /v1/leaderboards/{period_type}/players/{player_id}` →
engine.boards.leaderboards.around; `GET /v1/players/{player_id}/ranks` →
engine.boards.leaderboards.player_ranks. Live reads go through lua/read_board.lua, one
call per board on the board's own slot; a snapshot page reads the snapshot's keys.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from engine import boards
from engine.boards import leaderboards, prizes
from engine.leagues.results import MemberPrize
from engine.runtime import Engine
from web.api import Blueprint
from web.extensions import get_engine
from web.responses import json_response
from web.schemas import (
    PERIOD,
    Pattern,
    PrizeRefusedSchema,
    QueryInteger,
    StrictSchema,
    category_field,
)
from web.security import read_group

blp = Blueprint("leaderboards", __name__, url_prefix="/v1", description="Leaderboards.")


class BoardQuerySchema(StrictSchema):
    category = category_field(description="Omit for the global board.")
    period = ma.fields.String(
        validate=Pattern(PERIOD),
        metadata={
            "description": "2026-W48 (weekly), 2026-11 (monthly) or 2026 (yearly), as the"
            " board's type; omit for the current period.",
            "example": "2026-W48",
        },
    )


class TopQuerySchema(BoardQuerySchema):
    limit = QueryInteger(load_default=10, validate=validate.Range(1, 100))
    offset = QueryInteger(load_default=0, validate=validate.Range(0, 10_000_000))
    source = ma.fields.String(
        load_default="live",
        validate=validate.OneOf(["live", "snapshot"]),
        metadata={
            "description": "live (the default): the board as it is now; snapshot: the"
            " frozen top 100 of the last snapshot, with snapshot_at (pages past it are empty)."
        },
    )
    fresh = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "Changes nothing: every read is live unless source=snapshot."},
    )


class AroundQuerySchema(BoardQuerySchema):
    around = QueryInteger(load_default=5, validate=validate.Range(0, 50))


class EntrySchema(ma.Schema):
    rank = ma.fields.Integer(required=True)
    player_id = ma.fields.String(required=True)
    score = ma.fields.Integer(required=True)
    exams = ma.fields.Integer(required=True)
    questions = ma.fields.Integer(required=True)
    correct = ma.fields.Integer(required=True)
    accuracy = ma.fields.Float(required=True)
    rank_previous = ma.fields.Integer(required=True, allow_none=True)
    movement = ma.fields.String(
        required=True, validate=validate.OneOf(["up", "down", "same", "new"])
    )
    prize = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        allow_none=True,
        metadata={
            "description": "A past period's page only: the prize the period's close paid"
            " the entry (rules [leaderboards.prizes]), as their ledger shows it; null for no"
            " prize, or for one the wallet refused (then in `prize_refused`).",
            "example": {"coins": 1000},
        },
    )
    prize_refused = ma.fields.Nested(
        PrizeRefusedSchema(),
        allow_none=True,
        metadata={
            "description": "A past period's page only: the prize the rules gave the entry's"
            " rank that the close did not pay, because the wallet refused it"
            " (`balance_limit_exceeded`: the balance was at the rules' maximum); nothing was"
            " credited and the close does not try again. null when paid or no prize."
        },
    )


class BoardFieldsSchema(ma.Schema):
    board = ma.fields.Function(
        lambda page: page.board.period_type,
        required=True,
        metadata={"type": "string", "enum": ["weekly", "monthly", "yearly"]},
    )
    category = ma.fields.Function(
        lambda page: page.board.category,
        required=True,
        allow_none=True,
        metadata={"type": "string", "description": "null: global", "example": "math"},
    )
    period = ma.fields.Function(
        lambda page: page.board.period.name,
        required=True,
        metadata={"type": "string", "example": "2026-W48"},
    )
    next_reset_at = ma.fields.DateTime(
        metadata={"description": "When the current period ends; absent for a past period."}
    )
    ended_at = ma.fields.DateTime(
        metadata={"description": "When a past period ended; absent for the current period."}
    )
    total_players = ma.fields.Integer(required=True)


class BoardPageSchema(BoardFieldsSchema):
    source = ma.fields.String(required=True, validate=validate.OneOf(["live", "snapshot"]))
    snapshot_at = ma.fields.DateTime(required=True, allow_none=True)
    entries = ma.fields.List(ma.fields.Nested(EntrySchema()), required=True)


class StandingSchema(BoardFieldsSchema):
    entry = ma.fields.Nested(EntrySchema(), required=True)
    above = ma.fields.List(ma.fields.Nested(EntrySchema()), required=True)
    below = ma.fields.List(ma.fields.Nested(EntrySchema()), required=True)


class RankedBoardSchema(BoardFieldsSchema):
    entry = ma.fields.Nested(EntrySchema(), required=True)


class PlayerRanksSchema(ma.Schema):
    player_id = ma.fields.String(required=True)
    boards = ma.fields.List(ma.fields.Nested(RankedBoardSchema()), required=True)


# The read routes are the hottest of the service: they answer with JSON built straight
# from the engine's objects (the schemas above document them, and the fuzz test holds
# the answers to the schemas), which costs a fraction of a marshmallow dump. An entry is
# handed to orjson as it is: engine.boards.leaderboards.Entry's fields are EntrySchema's,
# in its order, and orjson writes a dataclass's fields in C, where a dict built per
# entry cost more than the rest of the page's Python.


def entry_json(entry: leaderboards.Entry) -> dict:
    """An entry as a dict, for a page that adds to it (a closed period's prizes)."""
    return {
        "rank": entry.rank,
        "player_id": entry.player_id,
        "score": entry.score,
        "exams": entry.exams,
        "questions": entry.questions,
        "correct": entry.correct,
        "accuracy": entry.accuracy,
        "rank_previous": entry.rank_previous,
        "movement": entry.movement,
    }


def prize_json(prize: MemberPrize) -> dict:
    """What a closed period's close gave an entry: `prize` paid, `prize_refused`."""
    refused = prize.refused
    return {
        "prize": prize.paid,
        "prize_refused": {"prize": refused.prize, "code": refused.code} if refused else None,
    }


def board_json(page) -> dict:
    body = {
        "board": page.board.period_type,
        "category": page.board.category,
        "period": page.board.period.name,
    }
    if page.next_reset_at is not None:
        body["next_reset_at"] = page.next_reset_at.isoformat()
    else:
        body["ended_at"] = page.ended_at.isoformat()
    body["total_players"] = page.total_players
    return body


@blp.route("/leaderboards/<period_type:period_type>")
@blp.arguments(TopQuerySchema(), location="query", as_kwargs=True)
@blp.response(200, BoardPageSchema())
@blp.alt_response(
    404,
    description="period_expired: the period is no longer kept; not_found: source=snapshot"
    " and the board has no snapshot yet",
)
def top(
    period_type: str,
    limit: int,
    offset: int,
    source: str,
    fresh: bool,
    category=None,
    period=None,
):
    engine = get_engine()
    board = boards.resolve(engine, period_type, category, period)
    page = leaderboards.top(engine, board, limit=limit, offset=offset, source=source, fresh=fresh)
    body = board_json(page)
    body["source"] = page.source
    body["snapshot_at"] = page.snapshot_at.isoformat() if page.snapshot_at else None
    body["entries"] = page.entries
    if page.ended_at is not None and page.entries:
        given = prizes.prizes_of(engine, board, [e.player_id for e in page.entries])
        body["entries"] = [
            entry_json(entry) | prize_json(given[entry.player_id]) for entry in page.entries
        ]
    return json_response(body)


AROUND_QUERY = AroundQuerySchema()  # the route's query, also loaded by web.hot_routes


def standing_answer(
    engine: Engine,
    period_type: str,
    player_id: str,
    around: int,
    category: str | None = None,
    period: str | None = None,
) -> dict:
    """The around-me route's answer (also web.hot_routes')."""
    board = boards.resolve(engine, period_type, category, period)
    standing = leaderboards.around(engine, board, player_id, around)
    body = board_json(standing)
    body["entry"] = standing.entry
    body["above"] = standing.above
    body["below"] = standing.below
    return body


@blp.route("/leaderboards/<period_type:period_type>/players/<player:player_id>")
@blp.arguments(AROUND_QUERY, location="query", as_kwargs=True)
@blp.response(200, StandingSchema())
@blp.alt_response(404, description="not_ranked or period_expired")
def around(period_type: str, player_id: str, around: int, category=None, period=None):
    return json_response(
        standing_answer(get_engine(), period_type, player_id, around, category, period)
    )


@blp.route("/players/<player:player_id>/ranks")
@blp.response(200, PlayerRanksSchema())
def player_ranks(player_id: str):
    standings = leaderboards.player_ranks(get_engine(), player_id, read_group())
    return json_response(
        {
            "player_id": player_id,
            "boards": [board_json(s) | {"entry": s.entry} for s in standings],
        }
    )
