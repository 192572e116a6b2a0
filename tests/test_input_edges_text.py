"""A ban's or a grant's reason is one readable line (engine/text.py): besides the control
characters (tests/test_admin_reasons.py), Unicode's own line breaks and the
bidirectional controls are refused, and a reason of only invisible characters is blank.

U+2028 and U+2029 end a line wherever Unicode text is laid out (and in JavaScript), so a
reason with one is two lines in an admin's table; the bidirectional embeddings,
overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder what follows them on
screen, so `questboard bans list` or the ledger shows another text than the one kept;
a zero-width space, a word joiner, a byte order mark or a soft hyphen alone shows
nothing at all. The joiners inside real text (an emoji sequence, Persian) stay.
"""

from __future__ import annotations

import pytest

from engine.errors import InvalidInputError
from engine.text import check_reason
from tests.conftest import error_of

UNREADABLE = [
    "line one\u2028line two",
    "paragraph\u2029two",
    "refund \u202egnp.exe",  # right-to-left override
    "\u202aembedded\u202c",
    "isolate \u2066x\u2069",
    "\u200b",  # zero-width space
    "\u200b\u200b \u2060",
    "\ufeff",
    "\u00ad",
    " \u200d ",
]
READABLE = [
    "family \U0001f468\u200d\U0001f469\u200d\U0001f467",  # joined by U+200D
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian, with a non-joiner
    "\u05d7\u05e1\u05d5\u05dd",  # Hebrew, right to left by itself
    "soft\u00adhyphen",
]


@pytest.mark.parametrize("reason", UNREADABLE)
def test_a_reason_that_does_not_read_as_one_visible_line_is_refused(client, admin_headers, reason):
    for path, body, headers in (
        ("/v1/admin/player-bans", {"player_id": "mallory", "reason": reason}, {}),
        ("/v1/admin/bans", {"ip": "203.0.113.7", "reason": reason}, {}),
        (
            "/v1/admin/players/alice/grants",
            {"resources": {"coins": 5}, "reason": reason},
            {"Idempotency-Key": "g1"},
        ),
    ):
        response = client.post(path, headers=admin_headers | headers, json=body)
        assert response.status_code == 400, (path, response.get_json())
        assert set(error_of(response)["details"]) == {"reason"}, path
    assert client.get("/v1/admin/player-bans", headers=admin_headers).get_json()["bans"] == []
    wallet = client.get("/v1/players/alice/wallet", headers=admin_headers).get_json()
    assert wallet["balances"]["coins"] == 0
    with pytest.raises(InvalidInputError):
        check_reason(reason)


@pytest.mark.parametrize("reason", READABLE)
def test_a_reason_of_real_text_with_joiners_is_kept(client, admin_headers, reason):
    check_reason(reason)
    response = client.post(
        "/v1/admin/player-bans", headers=admin_headers, json={"player_id": "m", "reason": reason}
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["reason"] == reason


def test_the_spec_shows_the_reasons_rule(client):
    spec = client.get("/openapi.json").get_json()
    schema = spec["components"]["schemas"]
    patterns = {
        name: fields["properties"]["reason"]["pattern"]
        for name, fields in schema.items()
        if "reason" in fields.get("properties", {}) and "pattern" in fields["properties"]["reason"]
    }
    assert patterns
    for pattern in patterns.values():
        assert "\\u2028" in pattern and "\\u202e" in pattern and "\\u200b" in pattern
