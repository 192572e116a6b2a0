"""`POST /v1/admin/bans`, `GET /v1/admin/bans`, `DELETE /v1/admin/bans/{ban_id}` (IP bans)
and `POST /v1/admin/player-bans`, `GET /v1/admin/player-bans`,
`DELETE /v1/admin/player-bans/{ban_id}` (player bans) → engine.security.bans.place,
engine.security.bans.listing, engine.security.bans.delete → Redis hashes (a watched
transaction, no Lua); web.security reads them before every player request.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from engine.security import bans
from engine.text import MAX_REASON, READABLE_LINE
from web.api import Blueprint
from web.extensions import get_engine
from web.schemas import PLAYER_ID, Pattern, StrictSchema, WholeNumber

# A ban's reason: one readable line (engine.text), as the CLI holds it too.
REASON = [validate.Length(1, MAX_REASON), Pattern(READABLE_LINE.pattern)]

blp = Blueprint("bans", __name__, url_prefix="/v1/admin", description="Bans (admin).")

BAN_ID = r"^ban_[0-9a-f]{16}$"
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
IPV4_NETWORK = rf"^{_OCTET}(\.{_OCTET}){{3}}/([1-9]|[12][0-9]|3[0-2])$"


class IpBanRequestSchema(StrictSchema):
    ip = ma.fields.String(
        required=True,
        validate=validate.Length(2, 64),
        metadata={
            "example": "203.0.113.0/24",
            "description": "An IPv4 or IPv6 address or CIDR range (a prefix of at least 1).",
            "anyOf": [
                {"type": "string", "format": "ipv4"},
                {"type": "string", "format": "ipv6"},
                {"type": "string", "pattern": IPV4_NETWORK},
            ],
        },
    )
    reason = ma.fields.String(required=True, validate=REASON)
    expires_in_seconds = WholeNumber(validate=validate.Range(1, 10 * 365 * 86_400), allow_none=True)


class PlayerBanRequestSchema(StrictSchema):
    player_id = ma.fields.String(required=True, validate=Pattern(PLAYER_ID.pattern))
    reason = ma.fields.String(required=True, validate=REASON)
    expires_in_seconds = WholeNumber(validate=validate.Range(1, 10 * 365 * 86_400), allow_none=True)


class BanSchema(ma.Schema):
    id = ma.fields.String(
        required=True, attribute="ban_id", metadata={"example": "ban_3f2a9c1e5b7d4a60"}
    )
    kind = ma.fields.String(required=True, metadata={"enum": ["ip", "player"]})
    target = ma.fields.String(required=True)
    reason = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)
    expires_at = ma.fields.DateTime(required=True, allow_none=True)
    created_by = ma.fields.String(required=True)


class BanListSchema(ma.Schema):
    bans = ma.fields.List(ma.fields.Nested(BanSchema()), required=True)


class BanPathSchema(ma.Schema):
    ban_id = ma.fields.String(required=True, validate=Pattern(BAN_ID))


def _placed(ban: bans.Ban, created: bool) -> tuple[bans.Ban, int]:
    """201 for a new ban; 200 for the ban already in force on the target, extended."""
    return ban, 201 if created else 200


@blp.route("/bans", methods=["POST"])
@blp.arguments(IpBanRequestSchema())
@blp.response(201, BanSchema())
@blp.alt_response(200, schema=BanSchema(), description="The target's ban, extended.")
def create_ip_ban(body: dict):
    return _placed(
        *bans.place(get_engine(), "ip", body["ip"], body["reason"], body.get("expires_in_seconds"))
    )


@blp.route("/bans", methods=["GET"])
@blp.response(200, BanListSchema())
def list_ip_bans():
    return {"bans": bans.listing(get_engine(), "ip")}


@blp.route("/bans/<string:ban_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(404, description="not_found")
def delete_ip_ban(ban_id: str):
    bans.delete(get_engine(), "ip", ban_id)


@blp.route("/player-bans", methods=["POST"])
@blp.arguments(PlayerBanRequestSchema())
@blp.response(201, BanSchema())
@blp.alt_response(200, schema=BanSchema(), description="The player's ban, extended.")
def create_player_ban(body: dict):
    return _placed(
        *bans.place(
            get_engine(),
            "player",
            body["player_id"],
            body["reason"],
            body.get("expires_in_seconds"),
        )
    )


@blp.route("/player-bans", methods=["GET"])
@blp.response(200, BanListSchema())
def list_player_bans():
    return {"bans": bans.listing(get_engine(), "player")}


@blp.route("/player-bans/<string:ban_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(404, description="not_found")
def delete_player_ban(ban_id: str):
    bans.delete(get_engine(), "player", ban_id)
