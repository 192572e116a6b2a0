"""One request to the API, built once: a `Call` says what to send and how to decode.

The sync and async clients differ only in how they send a `Call` and wait between
attempts. A state-changing call gets its Idempotency-Key here, when it is built (the
caller's, or a new random one), so every retry of that one logical call sends the
same key and the server applies it once. `calls` builds one `Call` per operation.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from questboard_client.errors import ValidationError
from questboard_client.routes import ROUTES

T = TypeVar("T")
Params = Mapping[str, str | int | bool | list[str]]


@dataclass(frozen=True)
class Answer:
    """A successful answer: its status, parsed body (None when empty), replay flag."""

    status: int
    body: Any
    replayed: bool


@dataclass(frozen=True)
class Call(Generic[T]):
    operation: str
    method: str
    path: str
    decode: Callable[[Answer], T]
    params: Params = field(default_factory=dict)
    json: Any = None
    idempotency_key: str | None = None
    player_ip: str | None = None
    # A DELETE whose first attempt was applied but whose answer was lost hears 404 on
    # its retry: for such a call that 404 means done.
    not_found_on_retry_is_done: bool = False
    # Statuses besides 2xx whose body, when it decodes, is the result: /healthz
    # answers 503 with its own body (status "degraded") while Redis is unreachable.
    results_on: frozenset[int] = frozenset()

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.idempotency_key is not None:
            headers["Idempotency-Key"] = self.idempotency_key
        if self.player_ip is not None:
            headers["X-Player-IP"] = self.player_ip
        return headers


def new_idempotency_key() -> str:
    """A key for one logical call: 128 random bits, within the API's 1-128 characters."""
    return f"qb-{uuid.uuid4().hex}"


def sendable(value: str) -> bool:
    """Whether a header can carry `value` as given: printable ASCII, no space at an end.

    httpx refuses anything else, other characters than ASCII with UnicodeEncodeError
    and a line break, a NUL or a space at either end (HTTP strips those around a field
    value) as a LocalProtocolError (a TransportError, which would be retried as a
    failed connection); `build` refuses such a value as the server refuses a malformed
    one, with ValidationError, before anything is sent.
    """
    return value.isascii() and value.isprintable() and value == value.strip(" ")


def segment(value: str) -> str:
    """A path parameter as one path segment, every reserved character quoted.

    A segment of dots alone ("." and ".." are valid player ids) has its dots written
    %2E: httpx, like any URL resolver (RFC 3986 5.2.4), would otherwise remove it as
    the current folder or go up one, sending the player ".."'s wallet call to
    /v1/wallet. The server reads %2E as the dot it is.
    """
    quoted = quote(value, safe="")
    return quoted.replace(".", "%2E") if quoted in {".", ".."} else quoted


def one_segment(name: str, value: str) -> str:
    """`value`, when it can travel as one path segment: not empty, and without "/".

    The web server decodes %2F back into "/" before routing, and an empty value leaves
    an empty segment, so either reaches no route: the answer was 404 not_found, read as
    a missing player or a ban already lifted. No id of the API is either (a player id is
    ^[A-Za-z0-9_.:-]{1,64}$), so it is refused as the server refuses a bad one.

    Raises:
        ValidationError: naming the parameter, before anything is sent.
    """
    if not value or "/" in value:
        raise ValidationError(
            f"The {name} cannot be sent as one path segment.",
            details={name: ["Must not be empty or hold a '/'."]},
        )
    return value


def build(
    operation: str,
    decode: Callable[[Answer], T],
    *,
    path: Mapping[str, str] | None = None,
    params: Mapping[str, str | int | bool | list[str] | None] | None = None,
    json: Any = None,
    idempotency_key: str | None = None,
    player_ip: str | None = None,
    not_found_on_retry_is_done: bool = False,
    results_on: frozenset[int] = frozenset(),
) -> Call[T]:
    """The `Call` of `operation` (a name in `routes.ROUTES`): its path filled in, each
    parameter one `segment`, the params that are not None, and a new Idempotency-Key
    unless it is a GET or the caller gave one.

    Raises:
        ValidationError: the Idempotency-Key or the player's address is not `sendable`,
            or a path parameter is not one segment (`one_segment`).
    """
    method, template = ROUTES[operation]
    quoted = {name: segment(one_segment(name, value)) for name, value in (path or {}).items()}
    if idempotency_key is not None and not sendable(idempotency_key):
        raise ValidationError(
            "The Idempotency-Key cannot be sent.",
            details={"Idempotency-Key": ["Must be 1-128 visible ASCII characters."]},
        )
    if player_ip is not None and not sendable(player_ip):
        raise ValidationError(
            "The player's address cannot be sent.",
            details={"X-Player-IP": ["Must be an IPv4 or IPv6 address."]},
        )
    if method != "GET" and idempotency_key is None:
        # Every call that changes state carries a key, also where the route does not
        # read one yet (bans, the tool override): a retry then stays one call.
        idempotency_key = new_idempotency_key()
    return Call(
        operation=operation,
        method=method,
        path=template.format(**quoted),
        decode=decode,
        params={k: v for k, v in (params or {}).items() if v is not None},
        json=json,
        idempotency_key=idempotency_key,
        player_ip=player_ip,
        not_found_on_retry_is_done=not_found_on_retry_is_done,
        results_on=results_on,
    )
