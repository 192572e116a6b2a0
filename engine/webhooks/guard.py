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
from dataclasses import dataclass, field
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
    _refuse_private(parts.hostname, addresses_of(parts.hostname, parts.port, resolve))
    return url


def _refuse_private(host: str, addresses: list) -> None:
    for address in addresses:
        if not address.is_global:
            raise InvalidInputError(
                f"The webhook URL's host {host} is a non-public address "
                f"({address}); set WEBHOOK_ALLOW_PRIVATE=true to allow it.",
                {"url": [f"Resolves to the non-public address {address}."]},
            )


@dataclass(frozen=True)
class Target:
    """Where one attempt connects: the URL, and the Host header and TLS server name
    that keep the receiver's own name when the URL carries the checked address."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


def target(url: str, allow_private: bool) -> Target:
    """Check the URL now and pin it to the address checked.

    The name is resolved once, every address it has is checked, and the request goes
    to the first of them by address (Host and SNI keep the name, so virtual hosts and
    certificates work), so a name re-pointed between the check and the connection
    (DNS rebinding) cannot send the request inward. With private addresses allowed,
    the URL is used as it is.
    """
    check_url(url, allow_private=True)  # the URL's form
    if allow_private:
        return Target(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    addresses = addresses_of(host, parts.port)
    if not addresses:
        raise InvalidInputError(
            f"The webhook URL's host {host} does not resolve.", {"url": ["Does not resolve."]}
        )
    _refuse_private(host, addresses)
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    pinned = parts._replace(netloc=literal + (f":{parts.port}" if parts.port else "")).geturl()
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return Target(pinned, {"Host": parts.netloc}, extensions)


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
