"""The HTTP contract on input: patterns match the whole value, messages name the problem.

A trailing newline (which `$` alone would let through) is refused in player ids, exam
ids, categories, board queries, ledger cursors, bans, security events, the engine's
periods and the rules' names; a validation message names the real problem (a body
without its content type, the value that failed a pattern, the rules' bounds); a whole
number may be written with a zero fraction, as JSON Schema counts it.
"""

from __future__ import annotations

import pytest

from tests.conftest import EXAM, error_of

# Patterns match the whole value: `$` alone would let a trailing newline through ------


def test_a_player_id_with_a_trailing_newline_is_refused_not_a_new_player(client, server_headers):
    response = client.get("/v1/players/bob%0A/wallet", headers=server_headers)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["details"] == {
        "player_id": ["'bob\\n' is not valid: it must match ^[A-Za-z0-9_.:-]{1,64}$."]
    }


def test_a_65_character_player_id_ending_in_a_newline_is_refused(client, server_headers):
    response = client.get(f"/v1/players/{'a' * 64}%0A/wallet", headers=server_headers)
    assert response.status_code == 400
    assert list(error_of(response)["details"]) == ["player_id"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"exam_id": "x\n"}, "exam_id"), ({"category_id": "math\n"}, "category_id")],
)
def test_exam_ids_and_categories_with_a_trailing_newline_are_refused(
    client, server_headers, admin_headers, changes, field
):
    response = client.post("/v1/players/alice/exams", headers=server_headers, json=EXAM | changes)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert list(error["details"]) == [field]
    assert repr(changes[field]) in error["details"][field][0]
    ranks = client.get("/v1/players/alice/ranks", headers=server_headers).get_json()
    assert ranks == {"player_id": "alice", "boards": []}


@pytest.mark.parametrize(
    "query",
    [{"category": "math\n"}, {"period": "2026-W48\n"}],
)
def test_a_board_query_with_a_trailing_newline_is_refused(client, server_headers, query):
    response = client.get("/v1/leaderboards/weekly", headers=server_headers, query_string=query)
    assert response.status_code == 400
    assert list(error_of(response)["details"]) == list(query)


def test_a_ledger_cursor_with_a_trailing_newline_is_refused(client, server_headers):
    response = client.get(
        "/v1/players/alice/ledger", headers=server_headers, query_string={"before": "1-1\n"}
    )
    assert response.status_code == 400
    assert list(error_of(response)["details"]) == ["before"]


def test_a_player_ban_on_an_id_with_a_trailing_newline_is_refused(client, admin_headers):
    response = client.post(
        "/v1/admin/player-bans",
        headers=admin_headers,
        json={"player_id": "bob\n", "reason": "cheating"},
    )
    assert response.status_code == 400
    assert list(error_of(response)["details"]) == ["player_id"]
    listed = client.get("/v1/admin/player-bans", headers=admin_headers).get_json()
    assert listed == {"bans": []}


def test_security_events_refuse_a_player_id_with_a_trailing_newline(client, admin_headers):
    response = client.get(
        "/v1/admin/security/events", headers=admin_headers, query_string={"player_id": "bob\n"}
    )
    assert response.status_code == 400
    assert list(error_of(response)["details"]) == ["player_id"]


def test_the_engine_refuses_categories_and_periods_with_a_trailing_newline(engine):
    from engine import boards
    from engine.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        boards.check_category("math\n")
    with pytest.raises(InvalidInputError):
        engine.calendar.parse("yearly", "2026\n")


# Validation messages name the real problem -------------------------------------------


def test_a_json_body_without_its_content_type_is_refused_as_such(client, server_headers):
    response = client.post(
        "/v1/players/alice/purchases",
        headers=server_headers | {"Idempotency-Key": "ct-1", "Content-Type": "text/plain"},
        data='{"item": "logs", "quantity": 1}',
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["details"] == {
        "json": ["The body must be JSON, sent with Content-Type: application/json."]
    }
    unmarked = client.post(
        "/v1/players/alice/exams", headers=server_headers, data='{"exam_id": "e1"}'
    )
    assert unmarked.status_code == 400
    assert error_of(unmarked)["details"] == error["details"]


def test_a_pattern_failure_quotes_the_value_sent(client, server_headers):
    response = client.post(
        "/v1/players/alice/exams",
        headers=server_headers,
        json=EXAM | {"category_id": "Math Stuff!"},
    )
    assert response.status_code == 400
    assert error_of(response)["details"] == {
        "category_id": [
            "'Math Stuff!' is not valid: it must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$."
        ]
    }


@pytest.mark.parametrize(
    ("changes", "details"),
    [
        ({"score": -1}, {"score": ["Must be between 0 and 10000."]}),
        ({"score": 2**40}, {"score": ["Must be between 0 and 10000."]}),
        ({"total_questions": 0}, {"total_questions": ["Must be between 1 and 1000."]}),
        ({"correct_answers": -1}, {"correct_answers": ["Must be between 0 and 1000."]}),
    ],
)
def test_an_exam_range_message_gives_the_rules_bounds(client, server_headers, changes, details):
    response = client.post("/v1/players/alice/exams", headers=server_headers, json=EXAM | changes)
    assert response.status_code == 400
    assert error_of(response)["details"] == details


def test_a_quantity_range_message_gives_the_rules_bound(client, server_headers):
    response = client.post(
        "/v1/players/alice/purchases",
        headers=server_headers | {"Idempotency-Key": "q-0"},
        json={"item": "logs", "quantity": 0},
    )
    assert response.status_code == 400
    assert error_of(response)["details"] == {"quantity": ["Must be between 1 and 100."]}


@pytest.mark.parametrize(("score", "status"), [(80.0, 201), (80.5, 400), ("80", 400), (True, 400)])
def test_a_whole_number_may_be_written_with_a_zero_fraction(client, server_headers, score, status):
    """JSON Schema counts 80.0 as an integer, so the spec's clients may send it."""
    response = client.post(
        "/v1/players/alice/exams", headers=server_headers, json=EXAM | {"score": score}
    )
    assert response.status_code == status
    if status == 201:
        assert response.get_json()["score"] == 80
        assert isinstance(response.get_json()["score"], int)
    else:
        assert list(error_of(response)["details"]) == ["score"]


@pytest.mark.parametrize(
    ("original", "changed", "field"),
    [
        ('"earthwork"]', '"earthwork\\n"]', r"tools\.names"),
        ('player = "10/minute"', 'player = "10/minute\\n"', "rate_limits.purchases"),
        ('id = "2026-autumn"', 'id = "2026-autumn\\n"', "battle_pass.seasons"),
    ],
)
def test_rules_names_with_a_trailing_newline_stop_start_up(tmp_path, original, changed, field):
    from config import DEFAULT_RULES_FILE
    from engine.rules import RulesError, load_rules

    text = DEFAULT_RULES_FILE.read_text()
    assert original in text
    bad = tmp_path / "rules.toml"
    bad.write_text(text.replace(original, changed, 1))
    with pytest.raises(RulesError, match=field):
        load_rules(bad)
