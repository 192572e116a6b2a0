"""A master of a six-node Redis Cluster (3 masters, 1 replica each) killed under load.

Purchases run through the HTTP app from several threads, each with keys of its own and,
on a 503, the same key again as a game server does. One master is killed with SIGKILL
in the middle; the service answers 503 with Retry-After while the cluster heals and
recovers in the same process with the same client. Afterwards every key that got a 201
has exactly one ledger entry and one outbox entry, and every wallet equals its ledger.

Redis replicates asynchronously. With REDIS_WAIT_REPLICAS=1 (engine.replication) a
purchase is answered 201 only once a replica holds it, which is what makes "no 201 is
lost" true here; `test_without_wait_an_acknowledged_purchase_is_lost_in_a_failover`
shows the same kill losing a 201 when the setting is off, and the setting answering
503 instead. A master whose replica took over has no replica left: with the setting on,
its players' purchases are refused (503) until the killed node is back as a replica, so
the test restarts it, as an orchestrator would. Waits poll the cluster's state.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator

import pytest
import redis

from config import ApiKey, Settings
from engine import Engine, keys
from engine.economy import grants, ledger, purchases, wallet
from engine.replication import ReplicationTimeoutError, ReplicaWait
from engine.runtime import build_engine
from engine.scripts import SCRIPTS
from scripts.redis_cluster import Node, RedisClusterProcess, start
from tests.conftest import SERVER_KEY, real_redis_url
from web import create_app

NODE_TIMEOUT_MS = 1_000
HEAL_SECONDS = 30  # a bound on polling, never a sleep
PLAYERS = [f"fo{n}" for n in range(12)]
THREADS, KEYS_EACH, KILL_AFTER = 4, 30, 30
HEADERS = {"Authorization": f"Bearer {SERVER_KEY}"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisClusterProcess]:
    """Six nodes; a cluster that cannot start fails the test (in CI and out of it)."""
    running = start(masters=3, replicas=1, node_timeout_ms=NODE_TIMEOUT_MS)
    yield running
    running.stop()


def make_app(cluster, sqlite_url, clock, unlimited_rules, wait_replicas: int):
    settings = Settings(
        api_keys=(ApiKey("server", SERVER_KEY),),
        database_url=sqlite_url,
        redis_url=cluster.url,
        rq_redis_url=real_redis_url(),  # RQ cannot run on a cluster; purchases queue nothing
        ledger_keep_entries=10_000,  # the whole ledger stays in Redis to be summed
        redis_wait_replicas=wait_replicas,
        redis_wait_timeout_ms=2_000,
    )
    client = cluster.client(socket_timeout=5)
    app = create_app(settings, redis_client=client, clock=clock)
    engine = app.extensions["questboard.engine"]
    engine.rules = unlimited_rules
    return app, engine


def master_of(cluster: RedisClusterProcess, client, key: str) -> Node:
    port = client.get_node_from_key(key).port
    return next(node for node in cluster.nodes if node.port == port)


def replica_of(cluster: RedisClusterProcess, master: Node) -> Node:
    with contextlib.closing(master.connection()) as connection:
        port = int(connection.info("replication")["slave0"]["port"])
    return next(node for node in cluster.nodes if node.port == port)


def poll(check, what: str) -> None:
    deadline = time.monotonic() + HEAL_SECONDS
    while not check():
        assert time.monotonic() < deadline, f"not {what} after {HEAL_SECONDS} s"
        time.sleep(0.02)  # the pause between two polls of the cluster's state


def failed_over(cluster: RedisClusterProcess, killed: Node) -> bool:
    """Every slot served by a running master, none by the killed node (a survivor's view)."""
    survivor = next(node for node in cluster.nodes if node is not killed and node.role == "master")
    try:
        with contextlib.closing(survivor.connection()) as connection:
            slots = connection.execute_command("CLUSTER", "SLOTS")
            state = connection.execute_command("CLUSTER", "INFO").decode()
    except redis.exceptions.RedisError:
        return False
    served = sum(int(end) - int(first) + 1 for first, end, *_ in slots)
    owners = {int(master[1]) for _, _, master, *_ in slots}
    return "cluster_state:ok" in state and served == 16_384 and killed.port not in owners


def replicating(node: Node) -> bool:
    try:
        with contextlib.closing(node.connection()) as connection:
            info = connection.info("replication")
    except redis.exceptions.RedisError:
        return False
    return info.get("role") == "slave" and info.get("master_link_status") == "up"


@dataclasses.dataclass
class Load:
    created: dict[str, tuple[str, str]] = dataclasses.field(
        default_factory=dict
    )  # key -> (player, tx)
    unavailable: list = dataclasses.field(default_factory=list)  # (key, Retry-After, code)
    unexpected: list = dataclasses.field(default_factory=list)
    retried: set[str] = dataclasses.field(default_factory=set)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


def buy(app, load: Load, thread: int, healed: threading.Event) -> None:
    http = app.test_client()
    for n in range(KEYS_EACH):
        key, player = f"t{thread}-{n}", PLAYERS[(thread * 5 + n) % len(PLAYERS)]
        for _ in range(50):
            answer = http.post(
                f"/v1/players/{player}/purchases",
                headers={**HEADERS, "Idempotency-Key": key},
                json={"item": "logs", "quantity": 1},
            )
            if answer.status_code == 201:
                with load.lock:
                    load.created[key] = (player, answer.get_json()["transaction_id"])
                break
            with load.lock:
                if answer.status_code != 503:
                    load.unexpected.append((key, answer.status_code, answer.get_data(True)))
                    return
                code = answer.get_json()["error"]["code"]
                load.unavailable.append((key, answer.headers.get("Retry-After"), code))
                load.retried.add(key)
            healed.wait(HEAL_SECONDS)  # Retry-After: again once the cluster has healed
        else:
            with load.lock:
                load.unexpected.append((key, "no 201 in 50 attempts", ""))


def ledger_of(engine, player: str) -> list:
    """The player's whole ledger (engine.economy.ledger), after checking it sums to the
    wallet for every resource."""
    entries = ledger.history(engine, player, limit=10_000)
    totals: Counter[str] = Counter()
    for entry in entries:
        totals.update(entry.deltas)
    assert +totals == +Counter(wallet.balances(engine, player))
    return entries


def outbox_by_ref(client, players: list[str]) -> dict[str, list[tuple[str, str]]]:
    """ref -> [(player, transaction id)] of the players' balance changes in their outboxes."""
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for outbox in {keys.player_outbox(player) for player in players}:
        for entry_id, fields in client.xrange(outbox):
            if b"ref" in fields:
                tx = fields.get(b"tx", entry_id).decode()
                found[fields[b"ref"].decode()].append((fields[b"player"].decode(), tx))
    return found


def check_books(engine, load: Load) -> None:
    """Each 201 once in its player's ledger and outbox; each wallet equals its ledger."""
    outbox = outbox_by_ref(engine.redis, PLAYERS)
    for key, (player, tx) in load.created.items():
        assert outbox[f"purchase/{key}"] == [(player, tx)], key
    purchases = [ref for ref in outbox if ref.startswith("purchase/")]
    assert len(purchases) == len(load.created)
    for player in PLAYERS:
        entries = ledger_of(engine, player)
        bought = {tx for key, (owner, tx) in load.created.items() if owner == player}
        assert {e.transaction_id for e in entries if e.kind == "purchase"} == bought


def test_purchases_survive_a_master_killed_under_load(cluster, sqlite_url, clock, unlimited_rules):
    app, engine = make_app(cluster, sqlite_url, clock, unlimited_rules, wait_replicas=1)
    for player in PLAYERS:
        grants.grant(engine, player, {"coins": 1_000_000}, "failover test", f"fund-{player}")
    victim = master_of(cluster, engine.redis, keys.wallet(PLAYERS[0]))
    load, healed = Load(), threading.Event()
    threads = [threading.Thread(target=buy, args=(app, load, t, healed)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    poll(lambda: len(load.created) >= KILL_AFTER or not any(t.is_alive() for t in threads),
         "enough purchases before the kill")  # fmt: skip
    cluster.kill(victim)
    poll(lambda: failed_over(cluster, victim), "failed over")
    cluster.restart(victim)  # back as the replica of the node that took over
    poll(lambda: replicating(victim), "replicating again")
    healed.set()
    for thread in threads:
        thread.join(HEAL_SECONDS)

    assert load.unexpected == []
    assert len(load.created) == THREADS * KEYS_EACH
    assert load.unavailable, "the kill was never seen"
    assert {(retry_after, code) for _, retry_after, code in load.unavailable} == {
        ("1", "service_unavailable")
    }
    assert load.retried  # and each of them is in the books exactly once:
    check_books(engine, load)


def test_without_wait_an_acknowledged_purchase_is_lost_in_a_failover(
    cluster, sqlite_url, clock, unlimited_rules
):
    """The replica stops receiving (its link to the master is cut and cannot come back);
    a purchase answered 201 without WAIT is then gone once the replica takes over, and
    the same purchase with WAIT is answered 503 and applied once by its retry."""
    plain, _ = make_app(cluster, sqlite_url, clock, unlimited_rules, wait_replicas=0)
    waiting, engine = make_app(cluster, sqlite_url, clock, unlimited_rules, wait_replicas=1)
    client = engine.redis
    player = next(  # a new player whose master still has its replica
        p
        for p in (f"cut{n}" for n in range(100))
        if replicating(replica_of(cluster, master_of(cluster, client, keys.wallet(p))))
    )
    grants.grant(engine, player, {"coins": 1_000}, "failover test", "fund-lost")
    master = master_of(cluster, client, keys.wallet(player))
    replica = replica_of(cluster, master)
    with contextlib.closing(replica.connection()) as connection:
        connection.config_set("masterauth", "not-the-password")  # its reconnects fail
    with contextlib.closing(master.connection()) as connection:
        connection.execute_command("CLIENT", "KILL", "TYPE", "replica")
    poll(lambda: not replicating(replica), "cut off")

    def purchase(app, key: str):
        return app.test_client().post(
            f"/v1/players/{player}/purchases",
            headers={**HEADERS, "Idempotency-Key": key},
            json={"item": "logs", "quantity": 1},
        )

    acknowledged = purchase(plain, "no-wait")
    refused = purchase(waiting, "with-wait")
    cluster.kill(master)
    poll(lambda: failed_over(cluster, master), "failed over")
    with contextlib.closing(replica.connection()) as connection:
        connection.config_set("masterauth", "")
    cluster.restart(master)
    poll(lambda: replicating(master), "replicating again")
    retried = purchase(waiting, "with-wait")

    assert acknowledged.status_code == 201
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers  # its first run died with the master
    outbox = outbox_by_ref(client, [player])
    assert outbox["purchase/with-wait"] == [(player, retried.get_json()["transaction_id"])]
    assert outbox["purchase/no-wait"] == []  # answered 201, then lost with the master
    entries = ledger_of(engine, player)
    assert [e.transaction_id for e in entries if e.kind == "purchase"] == [
        retried.get_json()["transaction_id"]
    ]


def test_a_write_no_replica_confirms_is_refused_and_its_retry_applies_it_once(
    real_redis, rules, clock
):
    """A standalone server without replicas: WAIT confirms nothing, so the purchase is a
    Redis timeout (503) although it ran; its retry is answered from its record."""
    waiting = Engine(redis=real_redis, rules=rules, clock=clock, replica_wait=ReplicaWait(1, 10))
    plain = Engine(redis=real_redis, rules=rules, clock=clock)
    grants.grant(plain, "solo", {"coins": 1_000}, "failover test", "fund-solo")

    with pytest.raises(ReplicationTimeoutError):
        purchases.purchase(waiting, "solo", "logs", 1, "unconfirmed")
    retried = purchases.purchase(plain, "solo", "logs", 1, "unconfirmed")

    assert retried.transaction.replayed
    bought = [e.transaction_id for e in ledger_of(plain, "solo") if e.kind == "purchase"]
    assert bought == [retried.transaction.transaction_id]


def test_the_setting_waits_for_replicas_on_the_balance_changing_scripts_only(real_redis):
    settings = Settings.from_env({"REDIS_WAIT_REPLICAS": "1", "REDIS_WAIT_TIMEOUT_MS": "250"})
    engine = build_engine(settings, real_redis)

    waiting = {name for name in SCRIPTS if getattr(engine.scripts, name).wait is not None}
    assert waiting == {"record_activity", "apply_transaction", "repair_streak"}
    assert engine.scripts.record_activity.wait == ReplicaWait(1, 250)
    assert build_engine(Settings.from_env({}), real_redis).scripts.record_activity.wait is None
