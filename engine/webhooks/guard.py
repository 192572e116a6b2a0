"""Receiver URLs that cannot turn webhooks against the service's own network.

A URL is refused when its host is, or resolves to, an address that is not globally
routable: loopback, link-local (cloud metadata at 169.254.169.254), private, shared,
multicast, reserved or unspecified, unless WEBHOOK_ALLOW_PRIVATE=true (tests, a
receiver on the same private network). The check runs when a subscription is saved
and again before every attempt, since a name can be re-pointed after it was saved.
Delivery follows no redirects, so a public URL cannot bounce a request inward.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from engine.errors import InvalidInputError

SCHEMES = ("http", "https")
MAX_URL = 2048


def check_url(url: str, allow_private: bool, resolve: bool = True) -> str:
    """The URL if webhooks may POST to it; raises InvalidInputError (details.url) if not.

    A host that does not resolve (yet) is accepted when saved: delivery checks again.
    """
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname or len(url) > MAX_URL:
        raise InvalidInputError(
            "The webhook URL must be an http or https URL with a host.",
            {"url": ["Not an http(s) URL with a host."]},
        )
    if parts.username or parts.password:
        raise InvalidInputError(
            "The webhook URL may not carry credentials.", {"url": ["Has credentials."]}
        )
    if allow_private:
        return url
    for address in addresses_of(parts.hostname, parts.port, resolve):
        if not address.is_global:
            raise InvalidInputError(
                f"The webhook URL's host {parts.hostname} is a non-public address "
                f"({address}); set WEBHOOK_ALLOW_PRIVATE=true to allow it.",
                {"url": [f"Resolves to the non-public address {address}."]},
            )
    return url


def addresses_of(
    host: str, port: int | None, resolve: bool = True
) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The host as an address, or every address it resolves to ([] if it does not)."""
    try:
        return [_unmapped(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    if not resolve:
        return []
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    return [_unmapped(ipaddress.ip_address(info[4][0].split("%")[0])) for info in infos]


def _unmapped(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """::ffff:127.0.0.1 is judged as 127.0.0.1."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
