"""How a ban's target is indexed: the fields of the two indexes of bans in force, their
entries, and the change log every change of them is written to.

`qb:{sec}:bans:ip` maps a network's field (`4:<8 hex digits>/<prefix>` or
`6:<32 hex digits>/<prefix>`, host bits zero) and `qb:{sec}:bans:player` a player id to
`<ban id>|<expires ms>` (0: never) of the one ban in force on it. An address is looked
up as the network it belongs to at every prefix length, so a /24 ban and a
single-address ban are found the same way. Every change of an index is logged in
`qb:{sec}:bans:changes` in the change's own MULTI; each process's copy of the indexes
(engine.security.ban_cache) follows that log. engine.security.bans places and lifts the
bans themselves.
"""

from __future__ import annotations

from redis.client import Pipeline

from engine import addresses, keys
from engine.addresses import IpAddress, IpNetwork
from engine.errors import InvalidInputError

CHANGES_KEPT = 10_000  # keys.ban_changes() is trimmed to about this many


def parse_network(raw: str) -> IpNetwork:
    """The network a ban means, normalised (see engine.addresses); 400 if it is none.

    A network of every address is refused: once normalised, all of NAT64 or of 6to4 is
    all of IPv4, and a ban of everyone is surely a mistake.
    """
    try:
        network = addresses.parse_network(raw)
    except ValueError:
        raise InvalidInputError(
            f"{raw!r} is not an IP address or network.",
            {"ip": ["Must be an IPv4 or IPv6 address or CIDR range."]},
        ) from None
    if network.prefixlen == 0:
        raise InvalidInputError(
            f"{raw!r} would ban every IPv{network.version} address.",
            {"ip": ["Must be narrower than every address (a prefix of at least 1)."]},
        )
    return network


def _field(version: int, network_int: int, prefix: int) -> str:
    width = 8 if version == 4 else 32
    return f"{version}:{network_int:0{width}x}/{prefix}"


def network_field(network: IpNetwork) -> str:
    return _field(network.version, int(network.network_address), network.prefixlen)


def network_field_of(address: IpAddress, prefix: int) -> str:
    """The index field of the network of `prefix` bits containing `address`."""
    shift = address.max_prefixlen - prefix
    return _field(address.version, (int(address) >> shift) << shift if prefix else 0, prefix)


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


def log_change(pipe: Pipeline, kind: str, field: str, entry: str) -> None:
    """Queue, in a change's MULTI, its entry in the bans' change stream: the index
    (kind), the field and its new value ("" when removed)."""
    pipe.xadd(
        keys.ban_changes(),
        {"kind": kind, "field": field, "entry": entry},
        maxlen=CHANGES_KEPT,
        approximate=True,
    )


def entry_in_force(entry: bytes | None, now_ms: int) -> tuple[str, int] | None:
    """(ban id, expires ms) of an index entry, if the ban has not expired."""
    if entry is None:
        return None
    ban_id, expires = entry.decode().split("|")
    if int(expires) == 0 or int(expires) > now_ms:
        return ban_id, int(expires)
    return None
