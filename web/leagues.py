"""`GET /v1/players/{player_id}/league` → engine.leagues.player_league → the player's
league record (lua/read_player.lua, counted in the player's read limit), then their
cohort (lua/read_cohort.lua on the tier's slot); `GET /v1/leagues/{period}/cohorts/{cohort_id}`
→ engine.leagues.results.cohort_with_prizes → engine.leagues.cohort → lua/read_cohort.lua
(a closed cohort Redis lost, and a closed period's prizes: league_results in SQL, where
the close marks a prize the wallet refused, shown refused and not paid).
Players join on their first scored exam of the period (lua/join_league.lua, from the
exam path).
"""

from __future__ import annotations

import marshmallow as ma

from engine import leagues
from engine.leagues import results
from web.api import Blueprint
from web.extensions import get_engine
from web.schemas import PERIOD, PrizeRefusedSchema
from web.security import read_group

blp = Blueprint("leagues", __name__, url_prefix="/v1", description="Leagues.")
NO_PRIZE = results.MemberPrize()  # a member the close skipped (banned at the close)


class MemberSchema(ma.Schema):
    player_id = ma.fields.String(required=True)
    rank = ma.fields.Integer(
        required=True, metadata={"description": "Competition rank: equal scores share it."}
    )
    position = ma.fields.Integer(
        required=True,
        metadata={"description": "Place in the order; among equal scores, first to reach it."},
    )
    score = ma.fields.Integer(required=True)
    zone = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Where the period's close would move the player now; once the"
            " period is closed, where the close moved them. null for a member the close"
            " skips (banned at the close; before it, banned now): no promotion, no"
            " relegation and no prize, the others ranked and zoned without them."
        },
        validate=ma.validate.OneOf(["promotion", "stay", "relegation"]),
    )
    prize = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        allow_none=True,
        metadata={
            "description": "A closed period's cohort only: the prize the close paid the"
            " member (rules [leagues.prizes]), as their ledger shows it; null for no prize,"
            " or for one the wallet refused (then in `prize_refused`).",
            "example": {"coins": 200},
        },
    )
    prize_refused = ma.fields.Nested(
        PrizeRefusedSchema(),
        allow_none=True,
        metadata={
            "description": "A closed period's cohort only: the prize the rules gave the"
            " member's rank that the close did not pay, because the wallet refused it"
            " (`balance_limit_exceeded`: the balance was at the rules' maximum); nothing was"
            " credited and the close does not try again. null when paid or no prize."
        },
    )


REFUSED_SCHEMA = PrizeRefusedSchema()


class CohortSchema(ma.Schema):
    cohort_id = ma.fields.String(required=True, metadata={"example": "bronze-12"})
    period_type = ma.fields.String(required=True, metadata={"example": "weekly"})
    period = ma.fields.String(required=True, metadata={"example": "2026-W48"})
    tier = ma.fields.String(required=True, metadata={"example": "bronze"})
    size = ma.fields.Integer(required=True, metadata={"description": "The most members."})
    promotion_zone = ma.fields.Integer(required=True)
    relegation_zone = ma.fields.Integer(required=True)
    members = ma.fields.List(ma.fields.Nested(MemberSchema()), required=True)


class PlayerLeagueSchema(ma.Schema):
    player_id = ma.fields.String(required=True)
    period_type = ma.fields.String(required=True, metadata={"example": "weekly"})
    period = ma.fields.String(required=True, metadata={"example": "2026-W48"})
    ends_at = ma.fields.DateTime(required=True)
    tier = ma.fields.String(required=True, metadata={"example": "bronze"})
    cohort = ma.fields.Nested(
        CohortSchema(),
        required=True,
        allow_none=True,
        metadata={"description": "null until the player's first scored exam of the period."},
    )


@blp.route("/players/<player:player_id>/league")
@blp.response(200, PlayerLeagueSchema())
def get_player_league(player_id: str):
    engine = get_engine()
    return leagues.player_league(engine, player_id, engine.clock.now(), read_group())


# The cohort's path as the engine reads it (engine.calendar.parse, parse_cohort_id): a
# period of the leagues' type in ASCII digits; a tier of the rules, a dash, a number.
COHORT_PATH = [
    {
        "in": "path",
        "name": "period",
        "description": "The leagues' period: 2026-W48 (weekly), 2026-11 (monthly), 2026"
        " (yearly). As on the boards: a period not started yet is 400 validation_error,"
        " one no longer kept (rules [leaderboards]) 404 period_expired.",
        "schema": {"type": "string", "pattern": PERIOD},
    },
    {
        "in": "path",
        "name": "cohort_id",
        "description": "A tier of the rules, a dash and the cohort's number (1 to 2**63-1,"
        " no leading zero).",
        "schema": {"type": "string", "pattern": r"^[a-z][a-z0-9_]{0,31}-[1-9][0-9]{0,18}$"},
    },
]


@blp.route("/leagues/<period>/cohorts/<cohort_id>", parameters=COHORT_PATH)
@blp.response(200, CohortSchema())
@blp.alt_response(
    404,
    description="not_found: no such cohort in that period; period_expired: the period is"
    " no longer kept",
)
def get_cohort(period: str, cohort_id: str):
    found, prizes = results.cohort_with_prizes(get_engine(), period, cohort_id)
    if prizes is None:
        return found
    body = CohortSchema().dump(found)
    for member in body["members"]:
        prize = prizes.get(member["player_id"], NO_PRIZE)
        member["prize"] = prize.paid
        member["prize_refused"] = REFUSED_SCHEMA.dump(prize.refused) if prize.refused else None
    return body
