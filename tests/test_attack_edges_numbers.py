"""Numbers a client writes in ways a double cannot hold: a whole number is taken as
written, and a fraction is never rounded into one."""

from __future__ import annotations

import pytest

from tests.conftest import error_of

JSON = {"Content-Type": "application/json"}


def exam_body(score: str, exam_id: str = "e1") -> str:
    return (
        f'{{"exam_id": "{exam_id}", "category_id": "math", "score": {score}, '
        '"total_questions": 10, "correct_answers": 5}'
    )


@pytest.mark.parametrize(
    "score",
    [
        "9999.99999999999999999",  # a double reads 10000.0, the maximum score
        "79.9999999999999999",  # a double reads 80.0
        "1e-400",  # a double reads 0.0
    ],
)
def test_a_fraction_a_double_rounds_to_a_whole_number_is_no_score(client, server_headers, score):
    response = client.post(
        "/v1/players/alice/exams", headers=server_headers | JSON, data=exam_body(score)
    )
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "validation_error",
        "message": "The request is not valid.",
        "details": {"score": ["Not a valid integer."]},
    }
    ranked = client.get("/v1/leaderboards/weekly/players/alice", headers=server_headers)
    assert ranked.status_code == 404  # nothing counted


@pytest.mark.parametrize(
    ("written", "score"),
    [("80.0", 80), ("8e1", 80), ("0.8e2", 80), ("-0.0", 0), ("0.000000000000000000001e21", 1)],
)
def test_a_whole_number_written_with_a_fraction_or_an_exponent_counts_as_written(
    client, server_headers, written, score
):
    response = client.post(
        "/v1/players/alice/exams", headers=server_headers | JSON, data=exam_body(written)
    )
    assert response.status_code == 201
    assert response.get_json()["score"] == score
