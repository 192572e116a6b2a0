"""Player addresses as keys: one address, one written form.

Bans and per-address rate limits key on the address a game server passes for its
player. One IPv4 host can be written many ways in IPv6, and an IPv6 address can carry a
zone id (`fe80::7%eth0`) that changes nothing about where the request came from; were
each spelling its own key, a client could escape a ban or a limit by changing spelling.
So, before an address or a network becomes a key:

- a zone id is dropped;
- the IPv6 forms that carry an IPv4 address become that IPv4 address: IPv4-mapped
  (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`; `::` and `::1` stay IPv6), NAT64
  with the well-known prefix (`64:ff9b::/96`) and 6to4 (`2002:AABB:CCDD::/48` is the
  site of a.b.c.d, whatever follows);
- a network in one of those forms becomes the IPv4 network it covers
  (`::ffff:192.0.2.0/120` is `192.0.2.0/24`; a network inside one 6to4 site is that
  site's IPv4 address, /32, since every address in it is that address).

An IPv6 network wider than these prefixes (say `2000::/3`) covers only the addresses that
stay IPv6 once normalised.

The per-address rate limit of an IPv6 address counts per /64: a home or a host gets a
/64, and privacy addresses rotate within it (RFC 8981), so a limit per /128 would be
escaped by choosing a new address. IPv4 addresses count one by one.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

IPV6_LIMIT_PREFIX = 64  # the per-address rate limit of IPv6 counts per /64


@dataclass(frozen=True)
class _Embedding:
    """An IPv6 prefix whose addresses carry an IPv4 address `shift` bits from the end."""

    prefix: ipaddress.IPv6Network
    shift: int


_EMBEDDINGS = (
    _Embedding(ipaddress.IPv6Network("::ffff:0:0/96"), 0),  # IPv4-mapped
    _Embedding(ipaddress.IPv6Network("::/96"), 0),  # IPv4-compatible (deprecated)
    _Embedding(ipaddress.IPv6Network("64:ff9b::/96"), 0),  # NAT64, well-known prefix
    _Embedding(ipaddress.IPv6Network("2002::/16"), 80),  # 6to4
)
_IPV6_ONLY = (0, 1)  # :: and ::1 are IPv6's own unspecified and loopback addresses


def _carried_ipv4(network: ipaddress.IPv6Network) -> ipaddress.IPv4Network | None:
    """The IPv4 network an IPv6 network stands for, or None if it is plain IPv6."""
    value = int(network.network_address)
    if network.prefixlen == 128 and value in _IPV6_ONLY:
        return None
    for embedding in _EMBEDDINGS:
        if network.prefixlen >= embedding.prefix.prefixlen and network.subnet_of(embedding.prefix):
            ipv4_prefix = min(network.prefixlen - embedding.prefix.prefixlen, 32)
            ipv4_value = (value >> embedding.shift) & 0xFFFF_FFFF
            return ipaddress.IPv4Network((ipv4_value, ipv4_prefix), strict=False)
    return None


def _unpadded(raw: str) -> str:
    """`raw`, refused with ValueError when white space surrounds it."""
    if raw != raw.strip():
        raise ValueError(f"{raw!r} has white space around it")
    return raw


def parse_address(raw: str) -> IpAddress:
    """An address as a client sent it, in its one normalised form.

    Raises ValueError if `raw` is not an IPv4 or IPv6 address (white space around it
    included: no part of an address; an HTTP header's own is dropped by the web layer).
    """
    address = ipaddress.ip_address(_unpadded(raw))
    if isinstance(address, ipaddress.IPv4Address):
        return address
    carried = _carried_ipv4(ipaddress.IPv6Network((int(address), 128)))
    if carried is not None:
        return carried.network_address
    return ipaddress.IPv6Address(int(address))  # without its zone id


def parse_network(raw: str) -> IpNetwork:
    """An address or CIDR range, in its one normalised form; host bits are cleared.

    Raises ValueError if `raw` is neither (white space around it included).
    """
    text = _unpadded(raw)
    if "%" in text:  # a zone id: "fe80::1%eth0" or "fe80::%eth0/64"
        address, slash, prefix = text.partition("/")
        scoped = ipaddress.ip_address(address)  # refuses a zone on IPv4, or an empty one
        text = str(ipaddress.IPv6Address(int(scoped))) + slash + prefix
    network = ipaddress.ip_network(text, strict=False)
    if isinstance(network, ipaddress.IPv6Network):
        return _carried_ipv4(network) or network
    return network


def limit_key(address: IpAddress | str) -> str:
    """What the per-address rate limit counts: the IPv4 address, or the IPv6 /64.

    A string is parsed first (the engine is handed the address as text); one that is no
    address at all counts as itself.
    """
    if isinstance(address, str):
        try:
            address = parse_address(address)
        except ValueError:
            return address
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    return str(ipaddress.IPv6Network((int(address), IPV6_LIMIT_PREFIX), strict=False))
