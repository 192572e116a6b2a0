"""engine.webhooks.guard as an attacker probes it: every spelling of an inward address.

A URL an admin saves must not point the webhooks job at the service's own network,
however its host is written: IPv6 forms that carry an IPv4 address, the numeric IPv4
forms resolvers accept, names that mean this machine, and characters that parsers read
differently. No test here needs DNS: the resolver is replaced by one that knows nothing
(the guard must not lean on a resolver's leniency) or by a fixed table.
"""

from __future__ import annotations

import httpx
import pytest

from engine.errors import InvalidInputError
from engine.webhooks import guard

PUBLIC = "93.184.215.14"  # a public address


@pytest.fixture
def no_dns(monkeypatch):
    """A resolver that resolves nothing, as when a name does not resolve yet."""

    def resolve(host, port, *args, **kwargs):
        raise guard.socket.gaierror("no such name")

    monkeypatch.setattr(guard.socket, "getaddrinfo", resolve)


@pytest.fixture
def dns(monkeypatch):
    """A resolver with a fixed table: name -> addresses."""
    table: dict[str, list[str]] = {}

    def resolve(host, port, *args, **kwargs):
        if host not in table:
            raise guard.socket.gaierror("no such name")
        return [
            (guard.socket.AF_INET6 if ":" in a else guard.socket.AF_INET, 1, 6, "", (a, port))
            for a in table[host]
        ]

    monkeypatch.setattr(guard.socket, "getaddrinfo", resolve)
    return table


def refused(url: str) -> str:
    with pytest.raises(InvalidInputError) as error:
        guard.check_url(url, allow_private=False)
    return error.value.details["url"][0]


@pytest.mark.parametrize(
    "host",
    [
        "[64:ff9b::7f00:1]",  # NAT64 (well-known prefix) of 127.0.0.1
        "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254
        "[2002:7f00:1::]",  # 6to4 site of 127.0.0.1
        "[2002:a00:1:1::1]",  # 6to4 site of 10.0.0.1
        "[::127.0.0.1]",  # IPv4-compatible
        "[::ffff:127.0.0.1]",  # IPv4-mapped
        "[::ffff:0:127.0.0.1]",  # IPv4-translated (SIIT)
        "[64:ff9b:1::7f00:1]",  # NAT64, local-use prefix (RFC 8215)
        "[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo
        "[::]",
        "[::1]",
        "[fec0::1]",  # site-local
        "[ff02::1]",  # multicast, link scope
        "[fd00::1]",
        "224.0.0.1",  # multicast
        "0.0.0.0",
        "100.64.0.1",  # shared (carrier-grade NAT)
    ],
)
def test_an_address_that_is_or_carries_a_non_public_one_is_refused(no_dns, host):
    assert refused(f"http://{host}/hooks").startswith("Resolves to the non-public address")


@pytest.mark.parametrize(
    "host",
    [
        "2130706433",  # 127.0.0.1 as one decimal number
        "0x7f000001",
        "017700000001",
        "0177.1",  # octal, short form
        "0x7f.1",  # hex, short form
        "127.1",  # short form
        "0x7f.0.0.01",
        "127.0.0.1.",  # an absolute name
        "169.254.169.254.",
        "\u2460\u2461\u2466.0.0.1",  # circled digits: IDNA maps them to 127.0.0.1
        "127\u30020\u30020\u30021",  # ideographic full stops
        "0x7f\uff0e1",  # a fullwidth full stop
    ],
)
def test_every_spelling_of_an_ipv4_address_is_judged_as_that_address(no_dns, host):
    assert refused(f"http://{host}/hooks").startswith("Resolves to the non-public address")


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost.",
        "LOCALHOST",
        "hooks.localhost",
        "\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3",  # circled letters
    ],
)
def test_localhost_is_refused_without_asking_a_resolver(no_dns, host):
    assert refused(f"http://{host}:8080/hooks") == "Names this machine (localhost)."


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/\x00",
        "https://example.com/a\r\nX-Injected: 1",
        "https://example.com/\ta",
        "https://example.com /",
        "https://example.com/\u200b",  # a zero-width space
        "https://example.com/\x7f",
        "https://example.com\\@127.0.0.1/",
        "http://127.0.0.1\\.example.com/",
        "http://127.0.0.1%00.example.com/",
        "http://exa%6Dple.com/",
        "http://example..com/",
        "http://-example.com/",
        "http://[fe80::1%25eth0]/",
        "http://[::1/",
        "http://[v1.fe]/",  # an IPvFuture literal, which urlsplit reads as the name v1.fe
        "http://example.com:99999/",
        "http://example.com:80:80/",
        "http://example.com:-1/",
        "http://example.com:0/",
        "http://xn--/",  # an IDNA label that decodes to nothing
    ],
)
def test_a_malformed_url_is_refused_as_malformed(no_dns, url):
    with pytest.raises(InvalidInputError) as error:
        guard.check_url(url, allow_private=True)  # the form is checked whatever is allowed
    assert "url" in error.value.details


@pytest.mark.parametrize(
    "url",
    [
        f"http://{PUBLIC}/hooks",
        f"https://{PUBLIC}:8443/hooks?x=1#frag",
        "http://[2002:5db8:d70e::1]/",  # the 6to4 site of the public address
        "http://[64:ff9b::5db8:d70e]/",  # its NAT64 address
        "http://[2606:4700::1111]/",
        "https://hooks.example.com/q",  # does not resolve yet: checked again at delivery
        "https://b\u00fccher.example/q",
        "https://HOOKS.Example.COM./q",
    ],
)
def test_public_urls_are_accepted_as_given(no_dns, url):
    assert guard.check_url(url, allow_private=False) == url


def test_a_name_is_judged_by_every_address_it_resolves_to(dns):
    dns["hooks.example.com"] = [PUBLIC]
    dns["both.example.com"] = [PUBLIC, "64:ff9b::a9fe:a9fe"]
    dns["six.example.com"] = ["2002:a9fe:a9fe::1"]
    assert guard.check_url("https://hooks.example.com/q", allow_private=False)
    for name in ("both.example.com", "six.example.com"):
        assert refused(f"https://{name}/q") == (
            "Resolves to the non-public address 169.254.169.254."
        )


def test_an_idn_receiver_is_called_by_its_ascii_name(dns):
    """Host and SNI carry the name as DNS and TLS know it: a header is ASCII."""
    dns["xn--bcher-kva.example"] = [PUBLIC]
    pinned = guard.target("https://B\u00fccher.example./q", allow_private=False)
    assert pinned == guard.Target(
        f"https://{PUBLIC}/q",
        {"Host": "xn--bcher-kva.example"},
        {"sni_hostname": "xn--bcher-kva.example"},
    )
    request = httpx.Client(trust_env=False).build_request(
        "POST", pinned.url, headers=pinned.headers, extensions=pinned.extensions
    )
    assert request.headers["Host"] == "xn--bcher-kva.example"


def test_an_attempt_connects_to_the_address_resolved_as_it_was_resolved(dns):
    """A NAT64 or 6to4 address is judged by the IPv4 address it carries but called as
    resolved: on an IPv6-only network the IPv4 address itself is unreachable."""
    dns["six.example.com"] = ["64:ff9b::5db8:d70e"]
    pinned = guard.target("http://six.example.com:8080/q", allow_private=False)
    assert pinned.url == "http://[64:ff9b::5db8:d70e]:8080/q"
    assert pinned.headers == {"Host": "six.example.com:8080"}


def test_a_stored_url_of_a_bad_form_is_refused_at_delivery(dns):
    """A URL saved before a check existed fails its attempt as refused (InvalidInputError),
    never with an error the delivery does not expect."""
    dns["hooks.example.com"] = [PUBLIC]
    for url in ("https://hooks.example.com/\x00", "https://hooks.example.com:99999/"):
        with pytest.raises(InvalidInputError):
            guard.target(url, allow_private=False)
        with pytest.raises(InvalidInputError):
            guard.target(url, allow_private=True)
