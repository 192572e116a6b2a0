"""Per-request defenses, before any view runs: the player's address, bans, rate limits.

Order: authentication (web.auth) first, then here: a malformed `X-Player-IP` is 400,
a banned player or address 403 `banned`, a route over its limit 429 `rate_limited`
with `Retry-After`. Admin routes are not subject to these: admins must be able to
act on banned players.

Player bans and per-player limits apply to the player's own routes,
`/v1/players/{player_id}/...`, where that player is the one acting. On a leaderboard
read (`/v1/leaderboards/.../players/{player_id}`) the player is only looked at, so
only the address checks apply, when the request carries `X-Player-IP`.

Each route group has a limit per player (the path's player id) and per player address,
from the rules' `[security]`; every window lives in the engine's Redis, so the limits
hold across gunicorn workers and web nodes. The routes that change a player's state
(purchases, ad rewards, login, exams) are limited by the engine, where the change is
(engine.security.rate_limits): a replay or a login of a claimed day is never counted or refused
there. Every other route is limited here, before its view, with the `limits` library's
moving window.
"""

from __future__ import annotations

import math
import time

from flask import Flask, Request, current_app, g
from limits import parse
from limits.storage import RedisClusterStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter

from engine import connection, keys
from engine.security import bans, rate_limits
from web.auth import ADMIN_PREFIX, PROTECTED_PREFIX
from web.errors import ApiError
from web.extensions import get_engine

ADDRESS_HEADER = "X-Player-IP"
PLAYER_PREFIX = "/v1/players/"

# Endpoint -> the rules' rate-limit group; anything else is "default".
ROUTE_GROUPS = {
    "purchases.create_purchase": "purchases",
    "exams.record_exam": "exams",
    "ads.create_ad_reward": "ad_rewards",
    "daily.login": "login",
}


def player_address() -> str | None:
    """The validated X-Player-IP of this request (set by `check_request`)."""
    return g.get("player_address")


def check_request(req: Request) -> None:
    path = req.path
    if not path.startswith(PROTECTED_PREFIX) or path.startswith(ADMIN_PREFIX):
        return
    raw = req.headers.get(ADDRESS_HEADER)
    address = None
    if raw is not None:
        try:
            address = bans.parse_address(raw)
        except ValueError:
            raise ApiError(
                400,
                "validation_error",
                "The player's address is not valid.",
                {ADDRESS_HEADER: ["Must be an IPv4 or IPv6 address."]},
            ) from None
        g.player_address = str(address)
    player_id = None
    if path.startswith(PLAYER_PREFIX):
        player_id = (req.view_args or {}).get("player_id")
    if req.url_rule is None or (player_id is None and address is None):
        return
    engine = get_engine()
    ban = bans.active_ban(engine, player_id, address)
    if ban is not None:
        raise ApiError(
            403,
            "banned",
            "This player or address is banned.",
            {
                "reason": ban.reason,
                "ban_id": ban.ban_id,
                "kind": ban.kind,
                "expires_at": ban.expires_at.isoformat() if ban.expires_at else None,
            },
        )
    limit_key = bans.limit_key(address) if address is not None else None  # IPv6: its /64
    _rate_limit(engine, req.endpoint or "", player_id, limit_key)


def _rate_limit(engine, endpoint: str, player_id: str | None, address: str | None) -> None:
    group = ROUTE_GROUPS.get(endpoint, "default")
    if group in rate_limits.STATE_CHANGING_GROUPS:
        return  # the engine limits attempted changes only, after its replay check
    limits = engine.rules.security.limits_for(group)
    limiter: MovingWindowRateLimiter = current_app.extensions["questboard.limiter"]
    for scope, value, limit in (
        ("player", player_id, limits.player),
        ("address", address, limits.address),
    ):
        if value is None or limit is None:
            continue
        item = parse(limit)
        if not limiter.hit(item, scope, group, value):
            reset_at = limiter.get_window_stats(item, scope, group, value).reset_time
            retry_after = max(1, math.ceil(reset_at - time.time()))
            raise ApiError(
                429,
                "rate_limited",
                f"Too many requests: the limit is {limit} per {scope}.",
                {"limit": limit, "scope": scope, "group": group, "retry_after": retry_after},
                headers={"Retry-After": str(retry_after)},
            )


def init_app(app: Flask, redis_client) -> None:
    if connection.is_cluster(redis_client):  # limits builds its client from the same nodes
        nodes = ",".join(node.name for node in redis_client.get_primaries())
        auth = redis_client.nodes_manager.connection_kwargs
        storage = RedisClusterStorage(
            f"redis+cluster://{nodes}",
            key_prefix=keys.RATE_LIMIT_PREFIX,
            **{k: auth[k] for k in ("username", "password") if auth.get(k)},
        )
    else:
        storage = RedisStorage(
            "redis://",
            connection_pool=redis_client.connection_pool,
            key_prefix=keys.RATE_LIMIT_PREFIX,
        )
    app.extensions["questboard.limiter"] = MovingWindowRateLimiter(storage)
