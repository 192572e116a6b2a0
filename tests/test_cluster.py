"""Redis Cluster: the client from a `redis+cluster://` URL everywhere, RQ kept off the
cluster, cluster errors answered 503, and script batches spread over the nodes."""

from __future__ import annotations

import io

import pytest
import redis
from redis.cluster import RedisCluster
from redis.exceptions import (
    AskError,
    ClusterDownError,
    ClusterError,
    MasterDownError,
    MovedError,
    SlotNotCoveredError,
    TryAgainError,
)

from cli.main import main as questboard
from config import ConfigError, Settings
from engine import connection, keys
from engine.boards import exams
from engine.boards.exams import Exam
from engine.economy import grants, wallet
from engine.outcomes import ScriptCode
from engine.runtime import Engine, build_engine
from engine.scripts import Scripts
from tests.conftest import earned, error_of

# Configuration ----------------------------------------------------------------------


def test_a_cluster_url_without_rq_redis_url_is_refused_in_one_line():
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"REDIS_URL": "redis+cluster://10.0.0.1:7000,10.0.0.2:7000"})
    assert str(refused.value) == (
        "REDIS_URL is a Redis Cluster, where RQ cannot run: set RQ_REDIS_URL to a standalone "
        "Redis for the job queue"
    )


def test_a_cluster_url_with_rq_redis_url_is_kept():
    settings = Settings.from_env(
        {"REDIS_URL": "redis+cluster://10.0.0.1:7000,10.0.0.2", "RQ_REDIS_URL": "redis://q/0"}
    )
    assert settings.redis_url == "redis+cluster://10.0.0.1:7000,10.0.0.2"
    assert settings.queue_redis_url == "redis://q/0"


def test_every_node_of_the_url_is_a_startup_node():
    url = "redis+cluster://user:secret@10.0.0.1:7000,10.0.0.2,[::1]:7002/?socket_timeout=2"
    assert connection.cluster_nodes(url) == [("10.0.0.1", 7000), ("10.0.0.2", 6379), ("::1", 7002)]
    assert connection.is_cluster_url(url)
    assert not connection.is_cluster_url("redis://10.0.0.1:7000/0")


@pytest.mark.parametrize("url", ["redis+cluster://", "redis+cluster://a:b7"])
def test_a_cluster_url_without_nodes_is_refused(url):
    with pytest.raises(ValueError):
        connection.cluster_nodes(url)


def test_the_engine_web_jobs_and_cli_run_on_the_cluster(redis_cluster_url, cluster_redis, clock):
    settings = Settings(redis_url=redis_cluster_url, rq_redis_url="redis://127.0.0.1:1/0")
    engine = build_engine(settings, clock=clock)
    assert isinstance(engine.redis, RedisCluster)
    grants.grant(engine, "alice", {"coins": 5}, "welcome", "g1")
    assert cluster_redis.exists(keys.wallet("alice"))

    out, err = io.StringIO(), io.StringIO()
    code = questboard(
        ["jobs", "list"],
        env={"REDIS_URL": redis_cluster_url, "RQ_REDIS_URL": "redis://127.0.0.1:1/0"},
        clock=clock,
        out=out,
        err=err,
    )
    assert (code, err.getvalue()) == (0, "")


def test_the_rq_queue_of_an_app_on_the_cluster_is_rq_redis_url(app_on_cluster):
    queue = app_on_cluster.extensions["questboard.queue"]
    assert not connection.is_cluster(queue.connection)


@pytest.fixture
def app_on_cluster(request, settings, cluster_redis, clock, redis_cluster_url):
    import dataclasses

    from tests.conftest import real_redis_url
    from web import create_app

    cluster_settings = dataclasses.replace(
        settings, redis_url=redis_cluster_url, rq_redis_url=real_redis_url()
    )
    return create_app(cluster_settings, redis_client=cluster_redis, clock=clock)


# Cluster errors are the store being unavailable: 503 with Retry-After -----------------


@pytest.mark.parametrize(
    "error",
    [
        MovedError("3999 127.0.0.1:6381"),
        AskError("3999 127.0.0.1:6381"),
        ClusterDownError("CLUSTERDOWN The cluster is down"),
        MasterDownError("MASTERDOWN Link with MASTER is down"),
        TryAgainError("TRYAGAIN"),
        ClusterError("TTL exhausted."),
        SlotNotCoveredError("Slot 3999 is not covered by the cluster."),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_cluster_error_that_survives_the_retries_is_a_503(
    app_on_cluster, server_headers, monkeypatch, error
):
    def unavailable(*args, **kwargs):
        raise error

    monkeypatch.setattr(wallet, "balances", unavailable)
    response = app_on_cluster.test_client().get("/v1/players/alice/wallet", headers=server_headers)

    assert response.status_code == 503
    assert error_of(response)["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "1"


def test_a_single_node_client_on_a_cluster_gets_503_not_500(
    app_on_cluster, cluster_redis, server_headers
):
    """The MovedError a plain client gets from a node that does not own the slot."""
    slot = cluster_redis.keyslot(keys.wallet("alice"))
    owner = cluster_redis.nodes_manager.get_node_from_slot(slot)
    other = next(node for node in cluster_redis.get_primaries() if node.name != owner.name)
    plain = redis.Redis(host=other.host, port=other.port)
    engine = app_on_cluster.extensions["questboard.engine"]
    engine.redis, engine.scripts = plain, Scripts(plain)

    response = app_on_cluster.test_client().get("/v1/players/alice/wallet", headers=server_headers)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    plain.close()


# Script batches on the cluster -------------------------------------------------------


def test_a_batch_spans_the_nodes_and_keeps_the_order(cluster_redis, rules, clock):
    engine = Engine(redis=cluster_redis, rules=rules, clock=clock)
    batch = engine.scripts.batch()
    players = [f"p{n}" for n in range(40)]
    for player in players:
        batch.pipe.set(f"{{{player}}}:mark", player)
        batch.call("take_job_lock", [f"{{{player}}}:lock", f"{{{player}}}:runs"], [player, 1, 9])
    nodes = {cluster_redis.get_node_from_key(f"{{{p}}}:mark").name for p in players}

    replies = batch.execute()

    assert len(nodes) == 3
    assert replies[0::2] == [True] * len(players)
    assert [reply[0] for reply in replies[1::2]] == [ScriptCode.APPLIED] * len(players)
    assert [cluster_redis.get(f"{{{p}}}:mark") for p in players] == [p.encode() for p in players]


def test_scripts_a_failover_lost_are_loaded_again_on_the_cluster(cluster_redis, rules, clock):
    engine = Engine(redis=cluster_redis, rules=rules, clock=clock)
    exams.record_exam(engine, "alice", Exam("x1", "math", 20, 10, 6))
    for primary in connection.primaries(cluster_redis):
        primary.script_flush()  # as on a replica promoted after a failover

    outcome = exams.record_exam(engine, "bob", Exam("x2", "math", 30, 10, 7))

    assert outcome.created
    assert [board["rank"] for board in outcome.summary["boards"]] == [1] * 6


def test_a_cluster_no_node_answers_is_an_unreachable_redis(clock):
    with pytest.raises(redis.ConnectionError, match="no node of the Redis Cluster"):
        connection.connect("redis+cluster://127.0.0.1:1,127.0.0.1:2", socket_connect_timeout=1)

    out, err = io.StringIO(), io.StringIO()
    code = questboard(
        ["jobs", "list"],
        env={"REDIS_URL": "redis+cluster://127.0.0.1:1", "RQ_REDIS_URL": "redis://127.0.0.1:1/0"},
        clock=clock,
        out=out,
        err=err,
    )
    assert code == 3
    assert err.getvalue().startswith(
        "questboard: cannot reach Redis at redis+cluster://127.0.0.1:1:"
    )
    assert err.getvalue().count("\n") == 1


# Resharding: a player's slot moved to another node -----------------------------------


def move_slot(cluster, slot: int, source, target) -> None:
    """Move one slot and its keys from `source` to `target`, as `redis-cli --cluster
    reshard` does."""
    source_conn, target_conn = (cluster.get_redis_connection(n) for n in (source, target))
    source_id = source_conn.execute_command("CLUSTER", "MYID").decode()
    target_id = target_conn.execute_command("CLUSTER", "MYID").decode()
    target_conn.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
    source_conn.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
    while moving := source_conn.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
        source_conn.execute_command(
            "MIGRATE", target.host, target.port, "", 0, 5000, "KEYS", *moving
        )
    for node in cluster.get_primaries():
        cluster.get_redis_connection(node).execute_command(
            "CLUSTER", "SETSLOT", slot, "NODE", target_id
        )
    cluster.nodes_manager.initialize()  # this client's map: the next test reads it


def app_with_own_client(settings, redis_cluster_url, clock, **options):
    """An app on a RedisCluster of its own: its slot map is its own to go stale."""
    import dataclasses

    from tests.conftest import real_redis_url
    from web import create_app

    own = connection.connect(redis_cluster_url, **options)
    cluster_settings = dataclasses.replace(
        settings, redis_url=redis_cluster_url, rq_redis_url=real_redis_url()
    )
    return create_app(cluster_settings, redis_client=own, clock=clock), own


def test_a_players_slot_moved_to_another_node_keeps_every_balance_and_rank(
    settings, redis_cluster_url, cluster_redis, clock, server_headers, admin_headers
):
    app, own = app_with_own_client(settings, redis_cluster_url, clock)
    client = app.test_client()
    grant = client.post(
        "/v1/admin/players/alice/grants",
        headers=admin_headers | {"Idempotency-Key": "g1"},
        json={"resources": {"coins": 100}, "reason": "welcome"},
    )
    assert grant.status_code == 201
    exam = {"exam_id": "e1", "category_id": "math", "score": 10, "total_questions": 10}
    exam["correct_answers"] = 5
    assert (
        client.post("/v1/players/alice/exams", headers=server_headers, json=exam).status_code == 201
    )

    slot = cluster_redis.keyslot(keys.wallet("alice"))
    home = cluster_redis.nodes_manager.get_node_from_slot(slot)
    other = next(node for node in cluster_redis.get_primaries() if node.name != home.name)
    move_slot(cluster_redis, slot, home, other)  # the app's client has the old slot map
    try:
        bought = client.post(
            "/v1/players/alice/purchases",
            headers=server_headers | {"Idempotency-Key": "p1"},
            json={"item": "steel", "quantity": 1},
        )
        exam["exam_id"] = "e2"
        again = client.post("/v1/players/alice/exams", headers=server_headers, json=exam)
        replay = client.post(
            "/v1/players/alice/purchases",
            headers=server_headers | {"Idempotency-Key": "p1"},
            json={"item": "steel", "quantity": 1},
        )
        wallet = client.get("/v1/players/alice/wallet", headers=server_headers).get_json()
    finally:
        move_slot(cluster_redis, slot, other, home)
        own.close()

    assert bought.status_code == 201
    assert again.status_code == 201
    assert replay.get_json()["transaction_id"] == bought.get_json()["transaction_id"]
    coins = bought.get_json()["balances"]["coins"] + earned(again.get_json()["progress"], "coins")
    assert wallet["balances"]["coins"] == coins
    assert bought.get_json()["balances"]["steel"] == 1


def test_a_request_during_a_slot_migration_that_splits_its_keys_is_a_503_then_served(
    settings, redis_cluster_url, cluster_redis, clock, server_headers, admin_headers
):
    """TRYAGAIN: a script's keys half moved. The client retries (here once, no backoff),
    then the request answers 503; once the slot has moved, the same request is served."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    app, impatient = app_with_own_client(
        settings, redis_cluster_url, clock, retry=Retry(NoBackoff(), 1)
    )
    client = app.test_client()
    client.post(
        "/v1/admin/players/alice/grants",
        headers=admin_headers | {"Idempotency-Key": "g1"},
        json={"resources": {"coins": 100}, "reason": "welcome"},
    )
    slot = cluster_redis.keyslot(keys.wallet("alice"))
    source = cluster_redis.nodes_manager.get_node_from_slot(slot)
    target = next(node for node in cluster_redis.get_primaries() if node.name != source.name)
    source_conn, target_conn = (cluster_redis.get_redis_connection(n) for n in (source, target))
    source_id = source_conn.execute_command("CLUSTER", "MYID").decode()
    target_id = target_conn.execute_command("CLUSTER", "MYID").decode()
    target_conn.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
    source_conn.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
    source_conn.execute_command(
        "MIGRATE", target.host, target.port, keys.wallet("alice"), 0, 5000
    )  # the wallet moved, the rest of the player's keys not yet
    purchase = {
        "path": "/v1/players/alice/purchases",
        "headers": server_headers | {"Idempotency-Key": "p1"},
        "json": {"item": "steel", "quantity": 1},
    }
    try:
        healing = client.post(**purchase)
    finally:
        move_slot(cluster_redis, slot, source, target)  # the migration completes
    served = client.post(**purchase)
    move_slot(cluster_redis, slot, target, source)
    impatient.close()

    assert healing.status_code == 503
    assert healing.headers["Retry-After"] == "1"
    assert served.status_code == 201
    assert served.get_json()["balances"]["coins"] == 100 - 50 + earned(
        served.get_json()["progress"], "coins"
    )
