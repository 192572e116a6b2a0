"""Questboard on a Redis Cluster, seen from outside: admin routes and commands that
read or write keys of several hash tags at once."""

from __future__ import annotations

import io

import pytest

from cli.main import main as questboard_main
from config import ConfigError, Settings

CLUSTER_URL = "redis+cluster://10.0.0.1:7000,10.0.0.2:7000"


def exam(player: str, number: int, score: int) -> dict:
    return {
        "exam_id": f"{player}-{number}",
        "category_id": "math",
        "score": score,
        "total_questions": 10,
        "correct_answers": 9,
    }


@pytest.mark.app_on_both_backends  # fakeredis, Redis, the cluster
def test_a_cheater_comes_off_the_leaderboards_and_the_league(client, server_headers, admin_headers):
    """The removal asks each league period whether its close has begun, two keys of two
    hash tags: on a cluster they are asked apart, not as one cross-slot EXISTS."""
    for player, score in (("alice", 50), ("mallory", 90)):
        response = client.post(
            f"/v1/players/{player}/exams", headers=server_headers, json=exam(player, 1, score)
        )
        assert response.status_code == 201

    response = client.delete("/v1/admin/players/mallory/leaderboards", headers=admin_headers)

    assert response.status_code == 200, response.get_data(True)
    body = response.get_json()
    assert body["cohorts"] == [{"period": "2026-W48", "cohort_id": "bronze-1"}]
    assert {board["board"] for board in body["removed"]} >= {"weekly", "monthly", "yearly"}
    top = client.get("/v1/leaderboards/weekly", headers=server_headers).get_json()
    assert [entry["player_id"] for entry in top["entries"]] == ["alice"]


def test_a_cluster_url_as_the_job_queues_redis_is_refused_in_one_line(sqlite_url, tmp_path):
    """RQ cannot run on a cluster: RQ_REDIS_URL naming one is refused at start, in one
    line, as a cluster REDIS_URL without RQ_REDIS_URL is, not by a traceback from the
    web or the worker when they first build the queue's client."""
    env = {"REDIS_URL": CLUSTER_URL, "RQ_REDIS_URL": "redis+cluster://10.0.0.9:7000"}
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(env)
    assert str(refused.value) == (
        "RQ_REDIS_URL is a Redis Cluster, where RQ cannot run: set it to a standalone "
        "Redis for the job queue"
    )
    out, err = io.StringIO(), io.StringIO()
    env |= {"DATABASE_URL": sqlite_url, "QUESTBOARD_VAR": str(tmp_path)}
    assert questboard_main(["jobs", "list"], env=env, out=out, err=err) == 2
    assert out.getvalue() == ""
    assert err.getvalue() == f"questboard: {refused.value}\n"
