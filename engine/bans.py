"""IP and player bans, each with a reason and an optional expiry.

Checking a request costs one round trip and a bounded amount of Redis work whatever
the number of bans: an address is looked up as the network it belongs to at every
prefix length (33 for IPv4, 129 for IPv6) with one HMGET on the index of banned
networks, so a /24 ban and a single-address ban are found the same way.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine import keys
from engine.clock import from_ms, to_ms
from engine.errors import InvalidInputError, NotFoundError
from engine.runtime import Engine

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Ban:
    ban_id: str
    kind: str  # "ip" or "player"
    target: str  # the network (203.0.113.0/24) or the player id
    reason: str
    created_at: datetime
    expires_at: datetime | None
    created_by: str  # "admin" or "automatic"


def parse_address(raw: str) -> IpAddress:
    """An address as a client sent it; IPv4-mapped IPv6 becomes IPv4."""
    address = ipaddress.ip_address(raw.strip())
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def parse_network(raw: str) -> IpNetwork:
    try:
        return ipaddress.ip_network(raw.strip(), strict=False)
    except ValueError:
        raise InvalidInputError(
            f"{raw!r} is not an IP address or network.",
            {"ip": ["Must be an IPv4 or IPv6 address or CIDR range."]},
        ) from None


def _field(version: int, network_int: int, prefix: int) -> str:
    width = 8 if version == 4 else 32
    return f"{version}:{network_int:0{width}x}/{prefix}"


def network_field(network: IpNetwork) -> str:
    return _field(network.version, int(network.network_address), network.prefixlen)


def candidate_fields(address: IpAddress) -> list[str]:
    """The index field of every network containing `address`, from /0 to a host."""
    bits = address.max_prefixlen
    value = int(address)
    return [
        _field(
            address.version, (value >> (bits - prefix)) << (bits - prefix) if prefix else 0, prefix
        )
        for prefix in range(bits + 1)
    ]


def create(
    engine: Engine,
    kind: str,
    target: str,
    reason: str,
    expires_in_seconds: int | None = None,
    created_by: str = "admin",
) -> Ban:
    now = engine.clock.now()
    expires_at = now + timedelta(seconds=expires_in_seconds) if expires_in_seconds else None
    if kind == "ip":
        network = parse_network(target)
        target, index, field = str(network), keys.ip_bans(), network_field(network)
    else:
        index, field = keys.player_bans(), target
    ban = Ban(
        ban_id=f"ban_{secrets.token_hex(8)}",
        kind=kind,
        target=target,
        reason=reason,
        created_at=now,
        expires_at=expires_at,
        created_by=created_by,
    )
    expires_ms = to_ms(expires_at) if expires_at else 0
    pipe = engine.redis.pipeline(transaction=True)
    pipe.hset(
        keys.ban(ban.ban_id),
        mapping={
            "kind": kind,
            "target": target,
            "reason": reason,
            "created_at": to_ms(now),
            "expires_at": expires_ms,
            "created_by": created_by,
            "field": field,
        },
    )
    if expires_in_seconds:
        # The record outlives the ban by a day; expiry itself is checked in engine time.
        pipe.expire(keys.ban(ban.ban_id), expires_in_seconds + 86_400)
    pipe.hset(index, field, f"{ban.ban_id}|{expires_ms}")
    pipe.zadd(keys.bans_index(), {ban.ban_id: to_ms(now)})
    pipe.execute()
    return ban


def _load(engine: Engine, ban_ids: list[str]) -> list[Ban]:
    pipe = engine.redis.pipeline(transaction=False)
    for ban_id in ban_ids:
        pipe.hgetall(keys.ban(ban_id))
    found = []
    for ban_id, raw in zip(ban_ids, pipe.execute(), strict=True):
        if not raw:
            continue
        record = {k.decode(): v.decode() for k, v in raw.items()}
        expires = int(record["expires_at"])
        found.append(
            Ban(
                ban_id=ban_id,
                kind=record["kind"],
                target=record["target"],
                reason=record["reason"],
                created_at=from_ms(int(record["created_at"])),
                expires_at=from_ms(expires) if expires else None,
                created_by=record["created_by"],
            )
        )
    return found


def listing(engine: Engine, kind: str) -> list[Ban]:
    """The live bans of a kind, newest first."""
    now = engine.clock.now()
    ids = [b.decode() for b in engine.redis.zrevrange(keys.bans_index(), 0, -1)]
    return [
        ban
        for ban in _load(engine, ids)
        if ban.kind == kind and (ban.expires_at is None or ban.expires_at > now)
    ]


def delete(engine: Engine, kind: str, ban_id: str) -> None:
    """Lift a ban. Raises NotFoundError if there is no such ban of that kind."""
    raw = engine.redis.hmget(keys.ban(ban_id), "kind", "field")
    if raw[0] is None or raw[0].decode() != kind:
        raise NotFoundError(f"There is no {kind} ban {ban_id}.", {"ban_id": ban_id})
    index = keys.ip_bans() if kind == "ip" else keys.player_bans()
    pipe = engine.redis.pipeline(transaction=True)
    pipe.delete(keys.ban(ban_id))
    pipe.zrem(keys.bans_index(), ban_id)
    pipe.hget(index, raw[1])
    _, _, current = pipe.execute()
    if current is not None and current.decode().split("|")[0] == ban_id:
        engine.redis.hdel(index, raw[1])


def active_ban(engine: Engine, player_id: str | None, address: IpAddress | None) -> Ban | None:
    """The ban that stops this request, if any: one round trip."""
    if player_id is None and address is None:
        return None
    pipe = engine.redis.pipeline(transaction=False)
    if player_id is not None:
        pipe.hget(keys.player_bans(), player_id)
    if address is not None:
        pipe.hmget(keys.ip_bans(), candidate_fields(address))
    replies = pipe.execute()
    entries = []
    if player_id is not None:
        entries.append(replies.pop(0))
    if address is not None:
        entries.extend(replies.pop(0))
    now_ms = to_ms(engine.clock.now())
    for entry in entries:
        if entry is None:
            continue
        ban_id, expires = entry.decode().split("|")
        if int(expires) == 0 or int(expires) > now_ms:
            found = _load(engine, [ban_id])
            if found:
                return found[0]
    return None
