"""A base URL the client cannot send to is refused when the client is made.

"127.0.0.1:8000" or "localhost:8000" (no scheme), "ftp://..." or "http://" (no host)
can never be answered: httpx refuses each request (UnsupportedProtocol, a
TransportError) or fails to resolve the empty host, which the client retried as a
failed connection and raised as QuestboardConnectionError, as if the service were
down. Such a URL is a ValidationError naming `base_url`, status None, from the
constructor of either client; an http or https URL, with a path prefix or not, is used
as given.

The fixtures (tests/python_client/conftest.py) serve the app on fakeredis with a fixed
clock behind werkzeug on a loopback port, through tests.python_client.gate.Gate.
"""

from __future__ import annotations

import pytest
from questboard_client import AsyncQuestboard, NotFound, Questboard, ValidationError

from tests.conftest import SERVER_KEY


@pytest.mark.parametrize("client_class", [Questboard, AsyncQuestboard])
@pytest.mark.parametrize(
    "url", ["127.0.0.1:8000", "localhost:8000", "ftp://127.0.0.1:8000", "http://", ""]
)
def test_a_base_url_without_an_http_scheme_or_a_host_is_refused(client_class, url):
    with pytest.raises(ValidationError) as refused:
        client_class(url, SERVER_KEY)

    assert list(refused.value.details) == ["base_url"]
    assert refused.value.status is None


def test_an_http_base_url_is_used_as_given(base_url, gate):
    with Questboard(base_url, SERVER_KEY) as qb:
        assert qb.wallet("alice").player_id == "alice"
    with Questboard(f"{base_url}/behind-a-proxy", SERVER_KEY) as qb, pytest.raises(NotFound):
        qb.wallet("alice")  # the prefix is kept: this app has no such path

    assert [path for _, path, *_ in gate.seen] == [
        "/v1/players/alice/wallet",
        "/behind-a-proxy/v1/players/alice/wallet",
    ]
