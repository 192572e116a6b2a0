"""A reason made of characters that draw nothing is blank, whichever they are: the Hangul
fillers (the classic blank name in games), the braille blank, variation selectors, the
combining grapheme joiner, the Mongolian vowel separator, Khmer's inherent vowels and
the Arabic letter mark show a reason of them as an empty cell in `questboard bans list`
and an empty reason in the player's ledger, as a zero-width space alone does
(tests/test_input_edges_text.py). Inside real text they stay."""

from __future__ import annotations

import pytest

from engine.errors import InvalidInputError
from engine.text import READABLE_LINE_OR_EMPTY, check_reason
from tests.conftest import error_of

BLANK = [
    "\u3164",  # Hangul filler
    "\u3164\u3164 \u3164",
    "\uffa0",  # halfwidth Hangul filler
    "\u115f\u1160",  # Hangul choseong and jungseong fillers
    "\u2800",  # braille pattern blank
    "\u034f",  # combining grapheme joiner
    "\ufe0f",  # variation selector 16
    "\u180e",  # Mongolian vowel separator
    "\u17b4\u17b5",  # Khmer inherent vowels
    "\u061c",  # Arabic letter mark
]
READABLE = [
    "\u2764\ufe0f thanks",  # a heart with its emoji presentation selector
    "\ud55c\uad6d\uc5b4",  # Korean
]


@pytest.mark.parametrize("reason", BLANK)
def test_a_reason_of_characters_that_draw_nothing_is_refused(client, admin_headers, reason):
    response = client.post(
        "/v1/admin/players/alice/grants",
        headers=admin_headers | {"Idempotency-Key": "g1"},
        json={"resources": {"coins": 5}, "reason": reason},
    )
    assert response.status_code == 400, response.get_json()
    assert set(error_of(response)["details"]) == {"reason"}
    response = client.post(
        "/v1/admin/player-bans", headers=admin_headers, json={"player_id": "m", "reason": reason}
    )
    assert response.status_code == 400, response.get_json()
    wallet = client.get("/v1/players/alice/wallet", headers=admin_headers).get_json()
    assert wallet["balances"]["coins"] == 0
    with pytest.raises(InvalidInputError):
        check_reason(reason)
    assert not READABLE_LINE_OR_EMPTY.fullmatch(reason)  # a webhook's description too


@pytest.mark.parametrize("reason", READABLE)
def test_real_text_with_them_is_kept(client, admin_headers, reason):
    check_reason(reason)
    response = client.post(
        "/v1/admin/player-bans", headers=admin_headers, json={"player_id": "m", "reason": reason}
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["reason"] == reason
