"""Receiver URLs that cannot turn webhooks against the service's own network.

A URL is refused when its host is, or resolves to, an address that is not globally
routable: loopback, link-local (cloud metadata at 169.254.169.254), private, shared,
multicast, reserved, site-local or unspecified, unless WEBHOOK_ALLOW_PRIVATE=true
(tests, a receiver on the same private network). An address is judged by the IPv4
address it carries when it has one (IPv4-mapped, IPv4-compatible, NAT64 and 6to4
addresses, engine.addresses), and a Teredo or local-use NAT64 address, whose carried
address cannot be told, is refused. The check runs when a subscription is saved and
again before every attempt, since a name can be re-pointed after it was saved.
Delivery follows no redirects, so a public URL cannot bounce a request inward.

The host is judged as the resolver and the connection will read it, not as it is
spelled: IDNA maps it to ASCII (`①②⑦。0。0。1` is 127.0.0.1, `ⓛⓞⓒⓐⓛⓗⓞⓢⓣ` is
localhost), a final dot is dropped, and a host that ends in a number is an IPv4
address in the forms inet_aton and browsers read (`2130706433`, `0x7f.1`, `0177.1`,
`127.1`), so no spelling depends on a resolver to be refused. `localhost` and names
under it are refused without asking one. The form is checked whatever is allowed: a
space, a control or format character or a backslash (which parsers read differently)
anywhere in the URL, credentials, a port outside 1-65535, a zone id, or a host that is
no valid name or address make it malformed.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

from engine.addresses import IpAddress, parse_address
from engine.errors import InvalidInputError
from engine.webhooks.deadline import AttemptExpiredError, bounded

SCHEMES = ("http", "https")
MAX_URL = 2048
SAVE_LOOKUP_SECONDS = 3.0  # how long saving a URL waits for its name to resolve
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_NUMBER = re.compile(r"0x[0-9a-f]*|[0-9]+")  # an inet_aton part: hex, octal or decimal
_UNKNOWN_CARRIED = (ipaddress.IPv6Network("64:ff9b:1::/48"),)  # local-use NAT64 (RFC 8215)
Lookup = Callable[[str, int], list[IpAddress]]  # (host, port) -> its addresses


@dataclass(frozen=True)
class Receiver:
    """A URL's parts as the guard judges them."""

    parts: SplitResult
    host: str  # ASCII, lower case, no final dot: as DNS and TLS know it
    port: int | None
    address: IpAddress | None  # the host, when it is an address in any spelling


def check_url(url: str, allow_private: bool, resolve: bool = True) -> str:
    """The URL if webhooks may POST to it; raises InvalidInputError (details.url) if not.

    A host that does not resolve (yet) is accepted when saved: delivery checks again.
    So is one whose lookup takes more than SAVE_LOOKUP_SECONDS (`saving_lookup`): a
    slow resolver holds the admin's request no longer.
    """
    receiver = parse(url)
    if not allow_private:
        _refuse_private(receiver, addresses_of(receiver, resolve, saving_lookup))
    return url


def saving_lookup(host: str, port: int) -> list[IpAddress]:
    """resolve_name, waited for SAVE_LOOKUP_SECONDS at most ([] after that)."""
    try:
        return bounded(lambda: resolve_name(host, port), SAVE_LOOKUP_SECONDS)
    except AttemptExpiredError:
        return []


def parse(url: str) -> Receiver:
    """The URL's parts, its host in the one form it is judged in; InvalidInputError if
    the URL is malformed."""
    if len(url) > MAX_URL:
        raise _malformed(f"The webhook URL may be {MAX_URL} characters long at most.", "Too long.")
    if any(_unprintable(ch) for ch in url):
        raise _malformed(
            "The webhook URL may not hold a space, a control character or a backslash.",
            "Holds a space, a control character or a backslash.",
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:  # "[::1", a port that is no number or out of range
        raise _malformed(f"The webhook URL is malformed: {error}.", "Malformed.") from None
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise _malformed(
            "The webhook URL must be an http or https URL with a host.",
            "Not an http(s) URL with a host.",
        )
    if "@" in parts.netloc:
        raise _malformed("The webhook URL may not carry credentials.", "Has credentials.")
    if port == 0:
        raise _malformed("The webhook URL's port must be 1-65535.", "Port 0.")
    bracketed = parts.netloc.startswith("[")  # credentials are refused: the host is first
    host, address = _host(parts.hostname, bracketed)
    return Receiver(parts, host, port, address)


def _unprintable(ch: str) -> bool:
    return ch == "\\" or unicodedata.category(ch)[0] in "CZ"  # controls, format, spaces


def _malformed(message: str, detail: str) -> InvalidInputError:
    return InvalidInputError(message, {"url": [detail]})


def _host(hostname: str, bracketed: bool) -> tuple[str, IpAddress | None]:
    """The host as judged (ASCII, no final dot), and its address if it is one."""
    bad = _malformed(
        f"The webhook URL's host {hostname!r} is not a valid host.", "Not a valid host."
    )
    if bracketed:  # an IPv6 literal; [v1.fe], an IPvFuture, is no host to resolve
        if "%" in hostname or ":" not in hostname:  # a zone id names this machine's interface
            raise bad
        try:
            address = ipaddress.IPv6Address(hostname)
        except ValueError:
            raise bad from None
        return str(address), address
    try:
        ascii_host = hostname.encode("idna").decode("ascii").lower()
        ascii_host.encode("ascii").decode("idna")  # xn-- labels must decode
    except UnicodeError:
        raise bad from None
    ascii_host = ascii_host.removesuffix(".")
    labels = ascii_host.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise bad
    if not _NUMBER.fullmatch(labels[-1]):
        return ascii_host, None
    address = _ipv4_of_numbers(labels)
    if address is None:
        raise bad
    return str(address), address


def _ipv4_of_numbers(labels: list[str]) -> ipaddress.IPv4Address | None:
    """What inet_aton (and a browser) reads in 1-4 numbers: each hex (0x), octal (a
    leading 0) or decimal, the last filling the bytes left; None if they are no address."""
    if len(labels) > 4 or not all(_NUMBER.fullmatch(label) for label in labels):
        return None
    numbers = []
    for label in labels:
        if label.startswith("0x"):
            numbers.append(int(label[2:] or "0", 16))
        elif label.startswith("0") and len(label) > 1:
            if not set(label) <= set("01234567"):
                return None
            numbers.append(int(label, 8))
        else:
            numbers.append(int(label))
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        return None
    return ipaddress.IPv4Address(last + sum(n << (24 - 8 * i) for i, n in enumerate(head)))


def _refuse_private(receiver: Receiver, addresses: list[IpAddress]) -> None:
    if receiver.address is None and (
        receiver.host == "localhost" or receiver.host.endswith(".localhost")
    ):  # RFC 6761: always this machine, whatever a resolver says
        raise InvalidInputError(
            f"The webhook URL's host {receiver.host} names this machine; set "
            "WEBHOOK_ALLOW_PRIVATE=true to allow it.",
            {"url": ["Names this machine (localhost)."]},
        )
    for address in addresses:
        judged = parse_address(str(address))
        if not _public(judged):
            raise InvalidInputError(
                f"The webhook URL's host {receiver.host} is a non-public address "
                f"({judged}); set WEBHOOK_ALLOW_PRIVATE=true to allow it.",
                {"url": [f"Resolves to the non-public address {judged}."]},
            )


def _public(address: IpAddress) -> bool:
    """Globally routable, by every test Python knows (is_global alone lets multicast
    and site-local addresses by, on 3.11)."""
    if (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
        or address.is_private
    ):
        return False
    if isinstance(address, ipaddress.IPv6Address):
        if address.is_site_local or address.teredo is not None:
            return False
        return not any(address in network for network in _UNKNOWN_CARRIED)
    return True


@dataclass(frozen=True)
class Target:
    """Where one attempt connects: the URL, and the Host header and TLS server name
    that keep the receiver's own name when the URL carries the checked address."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


def target(url: str, allow_private: bool, lookup: Lookup | None = None) -> Target:
    """Check the URL now and pin it to the address checked.

    The name is resolved once, every address it has is checked, and the request goes
    to the first of them by address, as resolved (Host and SNI keep the name, in
    ASCII, so virtual hosts and certificates work), so a name re-pointed between the
    check and the connection (DNS rebinding) cannot send the request inward. With
    private addresses allowed, the URL is used as it is, once its form is checked.
    `lookup` resolves the name (resolve_name; delivery bounds it by the attempt's
    deadline).
    """
    receiver = parse(url)
    if allow_private:
        return Target(url)
    addresses = addresses_of(receiver, lookup=lookup or resolve_name)
    if not addresses:
        raise InvalidInputError(
            f"The webhook URL's host {receiver.host} does not resolve.",
            {"url": ["Does not resolve."]},
        )
    _refuse_private(receiver, addresses)
    address = addresses[0]
    if isinstance(address, ipaddress.IPv6Address):
        address = address.ipv4_mapped or ipaddress.IPv6Address(int(address))  # no zone
    port = f":{receiver.port}" if receiver.port else ""
    literal = f"[{address}]" if address.version == 6 else str(address)
    host = f"[{receiver.host}]" if ":" in receiver.host else receiver.host
    pinned = receiver.parts._replace(netloc=literal + port).geturl()
    extensions = {"sni_hostname": receiver.host} if receiver.parts.scheme == "https" else {}
    return Target(pinned, {"Host": host + port}, extensions)


def resolve_name(host: str, port: int) -> list[IpAddress]:
    """Every address `host` resolves to ([] if it does not), as the resolver gave them."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def addresses_of(
    receiver: Receiver, resolve: bool = True, lookup: Lookup = resolve_name
) -> list[IpAddress]:
    """The host's address, or every address `lookup` resolves its name to ([] if it
    does not), as the resolver gave them."""
    if receiver.address is not None:
        return [receiver.address]
    if not resolve:
        return []
    return lookup(receiver.host, receiver.port or 443)
