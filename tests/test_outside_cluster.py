"""Questboard on a Redis Cluster, seen from outside: admin routes and commands that
read or write keys of several hash tags at once."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime

import pytest
import redis
import sqlalchemy

from cli.main import main as questboard_main
from config import ConfigError, Settings
from engine import Engine, connection, db, keys
from engine.boards import exams
from engine.economy import grants, wallet
from engine.ops import maintenance, reshard
from engine.rules.progression import StreakRepair
from engine.runtime import build_engine
from scripts.redis_cluster import running_cluster
from tests.conftest import real_redis_url
from tests.test_cluster import move_slot
from web import create_app

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


def test_a_streak_repair_waits_for_the_replicas_as_every_balance_change_does(
    settings, real_redis, clock, server_headers, admin_headers
):
    """With REDIS_WAIT_REPLICAS a repair, which takes coins as a purchase does, is not
    answered before a replica holds it: on a server without replicas it is 503, and its
    retry (here through a process without the setting) is answered from its record, the
    coins taken once."""
    plain = create_app(settings, redis_client=real_redis, clock=clock)
    waiting = create_app(
        dataclasses.replace(settings, redis_wait_replicas=1, redis_wait_timeout_ms=10),
        redis_client=real_redis,
        clock=clock,
    )
    for app in (plain, waiting):
        engine = app.extensions["questboard.engine"]
        offer = StreakRepair("coins", base=50, per_day=10, max_price=500)
        engine.rules = dataclasses.replace(engine.rules, streak_repair=offer)
    client = plain.test_client()
    grant = {"resources": {"coins": 1000}, "reason": "funds"}
    headers = admin_headers | {"Idempotency-Key": "fund"}
    funded = client.post("/v1/admin/players/alice/grants", headers=headers, json=grant)
    assert funded.status_code == 201
    for _ in range(3):  # three days in a row, one missed, then a claim that starts again
        assert client.post("/v1/players/alice/login", headers=server_headers).status_code == 200
        clock.advance(days=1)
    clock.advance(days=1)
    assert client.post("/v1/players/alice/login", headers=server_headers).get_json()["streak"] == 1
    repair = ("/v1/players/alice/streak/repair", server_headers | {"Idempotency-Key": "r-1"})
    wallet = client.get("/v1/players/alice/wallet", headers=server_headers).get_json()
    coins = wallet["balances"]["coins"]

    unconfirmed = waiting.test_client().post(repair[0], headers=repair[1])

    assert unconfirmed.status_code == 503, unconfirmed.get_json()
    assert unconfirmed.headers["Retry-After"] == "1"
    retried = client.post(repair[0], headers=repair[1])
    assert (retried.status_code, retried.headers.get("Idempotent-Replayed")) == (201, "true")
    assert retried.get_json()["streak"] == 4
    wallet = client.get("/v1/players/alice/wallet", headers=server_headers).get_json()
    assert wallet["balances"]["coins"] == coins - 80


def node_port(client, key: str) -> int:
    return client.get_node_from_key(key).port


def test_a_shard_migration_that_cannot_write_a_keys_new_copy_keeps_the_old_one(
    cluster_redis, clock, sqlite_url, player_shards
):
    """`questboard shards migrate` copies each player key to its new tag and deletes the
    old one. When the node of the new tag refuses the copy (here it lacks the replica
    min-replicas-to-write asks for; a node at maxmemory refuses RESTORE and still takes
    DEL), the old key is still there: the migration stops with the error, and run again
    once the node takes writes it finishes with the wallet whole."""
    player_shards(16)
    engine = build_engine(Settings(player_shards=16, database_url=sqlite_url), cluster_redis, clock)
    meta = node_port(cluster_redis, keys.player_shards_record())

    def moves_to_another_node(player: str) -> bool:
        old = node_port(cluster_redis, keys.wallet(player))
        player_shards(64)
        new = node_port(cluster_redis, keys.wallet(player))
        player_shards(16)
        return old != new != meta

    player = next(p for p in (f"player-{n}" for n in range(100)) if moves_to_another_node(p))
    grants.grant(engine, player, {"coins": 700}, "welcome", "welcome-1")
    old_wallet = keys.wallet(player)
    player_shards(64)
    refusing = cluster_redis.get_redis_connection(
        cluster_redis.get_node_from_key(keys.wallet(player))
    )
    player_shards(16)

    refusing.config_set("min-replicas-to-write", 1)
    try:
        with pytest.raises(redis.ResponseError, match="NOREPLICAS"):
            reshard.migrate(engine, 64)
    finally:
        refusing.config_set("min-replicas-to-write", 0)

    player_shards(16)
    assert cluster_redis.hgetall(old_wallet) == {b"coins": b"700"}
    reshard.migrate(engine, 64)
    player_shards(64)
    assert wallet.balances(engine, player)["coins"] == 700
    assert not cluster_redis.exists(old_wallet)


def test_a_cluster_with_no_node_answering_is_a_503_and_serves_again_once_back(
    settings, clock, server_headers
):
    """Every node gone at once (a cluster restarted, the network to it cut): redis-py
    asks the nodes it knows for the slot map again and none answers. That is an
    unreachable Redis, 503 with Retry-After and /healthz degraded, as when no node
    answers at start, not a 500; once the node is back the same process serves."""
    with running_cluster(masters=1) as cluster:
        own = connection.connect(cluster.url, socket_timeout=2, socket_connect_timeout=1)
        on_cluster = dataclasses.replace(
            settings, redis_url=cluster.url, rq_redis_url=real_redis_url()
        )
        http = create_app(on_cluster, redis_client=own, clock=clock).test_client()
        wallet_path = "/v1/players/alice/wallet"
        assert http.get(wallet_path, headers=server_headers).status_code == 200
        [node] = cluster.nodes

        cluster.kill(node)
        gone = http.get(wallet_path, headers=server_headers)
        health = http.get("/healthz")

        assert gone.status_code == 503, gone.get_json()
        assert gone.get_json()["error"]["code"] == "service_unavailable"
        assert gone.headers["Retry-After"] == "1"
        assert (health.status_code, health.get_json()["status"]) == (503, "degraded")
        cluster.restart(node)
        cluster.wait_ok()
        assert http.get(wallet_path, headers=server_headers).status_code == 200
        own.close()


def test_a_season_is_archived_whole_when_a_slot_moves_during_its_walk(
    cluster_redis, rules, clock, sqlite_url, monkeypatch
):
    """The season rollover walks each primary in turn (SCAN), archiving what it finds,
    and then marks the season archived. A slot moved by a reshard from a node not walked
    yet to one walked already was not seen: its players' battle passes never reached the
    archive and stayed in Redis (they have no expiry), the season marked done."""
    engine = Engine(redis=cluster_redis, rules=rules, clock=clock, database_url=sqlite_url)
    players = [f"bp-{n}" for n in range(30)]
    for player in players:
        exams.record_exam(engine, player, exams.Exam(f"{player}-1", "math", 10, 10, 10))
    clock.set(datetime(2026, 12, 1, 4, tzinfo=UTC))  # the autumn season has ended
    first, *_, last = cluster_redis.get_primaries()
    late = next(
        p
        for p in players
        if cluster_redis.get_node_from_key(keys.battle_pass(p, "2026-autumn")).name == last.name
    )
    walk, moved = connection.scan_keys, []

    def a_reshard_during_the_walk(client, pattern, count):
        for found in walk(client, pattern, count):
            yield found
            if not moved:  # the first primary walked: a slot of the last one moves to it
                slot = cluster_redis.keyslot(keys.battle_pass(late, "2026-autumn"))
                move_slot(cluster_redis, slot, last, first)
                moved.append(slot)

    monkeypatch.setattr(connection, "scan_keys", a_reshard_during_the_walk)

    assert maintenance.season_rollover(engine) == len(players)

    table = db.user_battle_pass_archive
    with engine.sql.connect() as conn:
        archived = set(conn.execute(sqlalchemy.select(table.c.player_id)).scalars())
    assert archived == set(players)
    assert not cluster_redis.exists(keys.battle_pass(late, "2026-autumn"))
