"""An API key a header cannot carry as given is refused when the client is made.

A key read from a file or an environment file often ends in a line break or a space;
`Authorization: Bearer <key>` cannot carry either (httpx refuses to send it with a
LocalProtocolError), nor other characters than ASCII (UnicodeEncodeError). Such a key
is a ValidationError naming the Authorization header, status None, raised by the
constructor of either client, with nothing sent: not every call retried for its whole
deadline and raised as a connection error, as if the service were unreachable.

The fixtures (tests/python_client/conftest.py) serve the app on fakeredis with a fixed
clock behind werkzeug on a loopback port, through tests.python_client.gate.Gate.
"""

from __future__ import annotations

import pytest
from questboard_client import AsyncQuestboard, Questboard, ValidationError

from tests.conftest import SERVER_KEY

UNSENDABLE = [f"{SERVER_KEY}\n", f"{SERVER_KEY} ", f" {SERVER_KEY}", "cl\u00e9-du-serveur"]


@pytest.mark.parametrize("client_class", [Questboard, AsyncQuestboard])
@pytest.mark.parametrize("key", UNSENDABLE, ids=["line-break", "trailing", "leading", "accent"])
def test_a_key_a_header_cannot_carry_is_refused_by_the_constructor(
    base_url, gate, client_class, key
):
    with pytest.raises(ValidationError) as refused:
        client_class(base_url, key)

    assert list(refused.value.details) == ["Authorization"]
    assert refused.value.status is None
    assert key.strip() not in str(refused.value)  # a secret is not repeated in errors
    assert gate.seen == []


def test_the_key_as_given_is_served(base_url):
    with Questboard(base_url, SERVER_KEY) as qb:
        assert qb.wallet("alice").player_id == "alice"
