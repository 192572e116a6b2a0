"""Per-request defenses, before any view runs: the player's address, bans, rate limits.

Order: authentication (web.auth) first, then here: a malformed `X-Player-IP` is 400,
a banned player or address 403 `banned`, a route over its limit 429 `rate_limited`
with `Retry-After`. Admin routes are not subject to these: admins must be able to
act on banned players.

Player bans and per-player limits apply to the player's own routes,
`/v1/players/{player_id}/...`, where that player is the one acting. On a leaderboard
read (`/v1/leaderboards/.../players/{player_id}`) the player is only looked at, so
only the address checks apply, when the request carries `X-Player-IP`.

A request reads nothing from Redis for its ban check: bans come from the process's
copy (engine.security.ban_cache), which follows every ban change within a second.
Each route group has a limit per player (the path's player id) and per player address,
from the rules' `[security]`; every window lives in the engine's Redis, so the limits
hold across gunicorn workers and web nodes, and each is taken in the same round trip
as the work it limits:

- the routes that change a player's state (purchases, ad rewards, login, exams) are
  limited by the engine, where the change is (engine.security.rate_limits): a replay
  or a login of a claimed day is never counted or refused there. With an address,
  such a request is two round trips whether it changes something or not: the
  address's place taken together with a read of the call's record (is it a known
  copy?), then the action's script, with the place given back in the same round trip
  when the call was a known copy. Taking the address's place after the action, in its
  reply path, would have saved one round trip on new changes but was rejected: the
  per-address limit exists to refuse an address over its limit before it changes
  anything (a card-testing or farming address spread over many players), and a limit
  counted after the fact would let every such change through and only refuse the
  next request. The one case still three round trips: a copy that races its first
  copy (both read "no record", the script then answers the second as a replay) or a
  call refused by the player's own limit gives its place back on its own;
- a read of a player's state counts in the player's window inside its own script
  (lua/read_player.lua): the view passes `read_group()` down to the engine read;
- with an address, any other route first counts in the address's window here
  (lua/take_rate_slot.lua on the address's own slot): the one extra round trip.
"""

from __future__ import annotations

from flask import Flask, Request, g

from engine.addresses import IpAddress
from engine.clock import to_ms
from engine.runtime import Engine
from engine.security import ban_cache, bans, rate_limits
from web import auth
from web.auth import ADMIN_PREFIX, PROTECTED_PREFIX
from web.errors import ApiError
from web.extensions import get_engine

ADDRESS_HEADER = "X-Player-IP"
ADDRESS_ENVIRON = "HTTP_X_PLAYER_IP"  # the header's key in the WSGI environ
PLAYER_PREFIX = "/v1/players/"
READ_GROUP = "default"

# Endpoint -> the rules' rate-limit group; anything else is READ_GROUP.
ROUTE_GROUPS = {
    "purchases.create_purchase": "purchases",
    "exams.record_exam": "exams",
    "ads.create_ad_reward": "ad_rewards",
    "daily.login": "login",
    "streaks.repair_streak": "purchases",  # a repair is bought
}


def player_address() -> str | None:
    """The validated X-Player-IP of this request (set by `check_request`)."""
    return g.get("player_address")


def read_group() -> str | None:
    """The rate-limit group a read of the path's player counts in (engine reads take it
    inside their script); None where no per-player limit applies (admin routes)."""
    return g.get("read_group")


def parse_player_address(raw: str | None) -> IpAddress | None:
    """The request's X-Player-IP (`raw`, None when absent), validated.

    Raises:
        ApiError: 400, not an IPv4 or IPv6 address.
    """
    if raw is None:
        return None
    try:
        return bans.parse_address(raw.strip(" \t"))  # a header's OWS is no part of it
    except ValueError:
        raise ApiError(
            400,
            "validation_error",
            "The player's address is not valid.",
            {ADDRESS_HEADER: ["Must be an IPv4 or IPv6 address."]},
        ) from None


def admit(app: Flask, environ: dict) -> tuple[Engine, IpAddress | None]:
    """The first steps of before_each_request for a request answered before Flask
    (web.hot_routes, web.hot_purchase): the key's role for the path, then the
    X-Player-IP address; the app's engine and that address. Raises as the hook does."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    auth.role_of(auth.keyring_of(app), environ["PATH_INFO"], authorization)
    address = parse_player_address(environ.get(ADDRESS_ENVIRON))
    return app.extensions["questboard.engine"], address


def check_player(
    engine: Engine, player_id: str | None, address: IpAddress | None, group: str
) -> str | None:
    """The defenses of a route of `group` acting on `player_id` (None: a route where no
    player acts) from `address` (None: no X-Player-IP): the ban check, then the
    address's read limit. Returns the group the view's read of the player counts in
    (`read_group`), or None.

    Raises:
        ApiError: 403 banned.
        RateLimitedError: the address's window of `group` is full.
    """
    now_ms = to_ms(engine.clock.now())
    ban = ban_cache.ban_for(engine, player_id, address, now_ms)
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
    if group in rate_limits.STATE_CHANGING_GROUPS:
        return None  # the engine limits attempted changes only, after its replay check
    if address is not None:
        rate_limits.take_address_read(engine, group, str(address), now_ms)
    return group if player_id is not None else None


def check_request(req: Request) -> None:
    path = req.path
    if not path.startswith(PROTECTED_PREFIX) or path.startswith(ADMIN_PREFIX):
        return
    # req.headers.get(ADDRESS_HEADER), in one step
    address = parse_player_address(req.environ.get(ADDRESS_ENVIRON))
    if address is not None:
        g.player_address = str(address)
    player_id = None
    if path.startswith(PLAYER_PREFIX):
        player_id = (req.view_args or {}).get("player_id")
    if req.url_rule is None or (player_id is None and address is None):
        return
    group = ROUTE_GROUPS.get(req.endpoint or "", READ_GROUP)
    read = check_player(get_engine(), player_id, address, group)
    if read is not None:
        g.read_group = read
