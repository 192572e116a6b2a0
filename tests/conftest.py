"""Fixtures: engines on fakeredis and on the real Redis, apps, clients.

The real Redis is REDIS_URL's server (default 127.0.0.1:6379). Each test run leases one
database of its own (15 down to 1, or QUESTBOARD_TEST_REDIS_DB) with a lease key in
database 0, so two runs on one machine never flush each other's data; the tests flush
only the leased database, before and after each test. Without a reachable server the
real-Redis tests are skipped, except when CI=true: there a missing server is a failure.

The app fixtures (`app`, `client`) run on `store`: fakeredis, and in tests marked
`app_on_both_backends` once on fakeredis, once on the real server and once on a Redis
Cluster, so rate limits, bans, alerts and the clock override are proven where they run in
production.

The cluster is three masters started once a run, on first use, by scripts/redis_cluster.py
(its own loopback ports and folder, stopped at the end); a fresh store there is every
primary flushed, not a database selected. Tests marked `also_on_cluster` run their
`any_redis` or `real_redis` on it too. A cluster that cannot start skips those tests,
except when CI=true: there it is a failure.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import fakeredis
import pytest
import redis

from bench import redis_lease
from config import ApiKey, Settings
from engine import Engine, connection, db, keys, migrate
from engine.clock import FixedClock
from engine.rules import RouteLimits, load_rules
from tests.sql_fixtures import durable_engine, mariadb_database, sql_url  # noqa: F401  (fixtures)
from web import create_app

SERVER_KEY = "server-test-key"
ADMIN_KEY = "admin-test-key"
IN_CI = os.environ.get("CI", "").lower() == "true"


_leased_database: int | None = None
_lease_token = redis_lease.new_token()


def _server_url(database: int) -> str:
    return redis_lease.server_url(os.environ.get("REDIS_URL"), database)


def leased_database() -> int:
    """The database this run owns: leased once, released when the run ends."""
    global _leased_database
    if _leased_database is not None:
        return _leased_database
    forced = os.environ.get("QUESTBOARD_TEST_REDIS_DB")
    if forced:
        _leased_database = int(forced)
        return _leased_database
    try:
        _leased_database = redis_lease.acquire(os.environ.get("REDIS_URL"), _lease_token)
    except redis.exceptions.ConnectionError:
        _leased_database = 15  # no server: the real-Redis fixtures skip or fail on it
    return _leased_database


def release_test_database() -> None:
    if _leased_database is None or os.environ.get("QUESTBOARD_TEST_REDIS_DB"):
        return
    redis_lease.release(os.environ.get("REDIS_URL"), _leased_database, _lease_token)


def pytest_sessionfinish(session, exitstatus):
    release_test_database()


def real_redis_url() -> str:
    return _server_url(leased_database())


def _connect_real_redis() -> redis.Redis:
    client = redis.Redis.from_url(real_redis_url())
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        message = f"Redis at {real_redis_url()} is not reachable: {error}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return client


@pytest.fixture
def real_redis(request):
    """The real server's leased database, flushed around the test; with the param
    "cluster" (tests marked also_on_cluster), the cluster instead."""
    if getattr(request, "param", "redis") == CLUSTER:
        yield request.getfixturevalue("cluster_redis")
        return
    client = _connect_real_redis()
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


CLUSTER = "cluster"


@pytest.fixture(scope="session")
def redis_cluster_url():
    """A three-master Redis Cluster of this run's own: started once, stopped at the end."""
    from scripts import redis_cluster

    try:
        cluster = redis_cluster.start(masters=3)
    except (redis_cluster.ClusterStartError, OSError) as error:
        message = f"cannot start a Redis Cluster: {error}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    yield cluster.url
    cluster.stop()


@pytest.fixture(scope="session")
def _cluster_client(redis_cluster_url):
    client = connection.connect(redis_cluster_url)
    yield client
    client.close()


def flush_primaries(client) -> None:
    """A fresh cluster: every primary flushed (replicas follow), as FLUSHDB is one server's."""
    for primary in connection.primaries(client):
        primary.flushall()


@pytest.fixture
def cluster_redis(_cluster_client):
    """The cluster's client (one a run: it keeps the slot map), every primary flushed
    before and after the test."""
    flush_primaries(_cluster_client)
    yield _cluster_client
    flush_primaries(_cluster_client)


@pytest.fixture
def fake_redis():
    return fakeredis.FakeRedis()


BOTH_BACKENDS = "app_on_both_backends"
ALSO_ON_CLUSTER = "also_on_cluster"


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        f"{BOTH_BACKENDS}: the app's `store` is fakeredis, then the real Redis, then the cluster",
    )
    config.addinivalue_line(
        "markers", f"{ALSO_ON_CLUSTER}: `any_redis` and `real_redis` run on the cluster too"
    )


def pytest_generate_tests(metafunc):
    """Tests marked app_on_both_backends run their app once on each backend; tests marked
    also_on_cluster run their `any_redis` or `real_redis` on the cluster as well."""
    marked = metafunc.definition.get_closest_marker
    names = metafunc.fixturenames
    if "store" in names and marked(BOTH_BACKENDS):
        metafunc.parametrize("store", ["fakeredis", "redis", CLUSTER], indirect=True)
    if "any_redis" in names:
        backends = ["fakeredis", "redis"] + ([CLUSTER] if marked(ALSO_ON_CLUSTER) else [])
        metafunc.parametrize("any_redis", backends, indirect=True)
    elif "real_redis" in names and marked(ALSO_ON_CLUSTER) and "store" not in names:
        metafunc.parametrize("real_redis", ["redis", CLUSTER], indirect=True)


def pytest_collection_modifyitems(config, items):
    """On the cluster, a test parametrized over inputs runs its first case only: the
    other cases differ in what is validated before Redis, not in how Redis is used,
    and the real server already runs them all."""
    seen, kept, dropped = set(), [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if params.get("store") == CLUSTER:
            function = (item.path, item.originalname)
            if function in seen:
                dropped.append(item)
                continue
            seen.add(function)
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def store(request):
    """The app's Redis: `fake_redis` (the same client), or the real server when marked."""
    backend = getattr(request, "param", "fakeredis")
    if backend == "fakeredis":
        return request.getfixturevalue("fake_redis")
    if backend == CLUSTER:
        return request.getfixturevalue("cluster_redis")
    return request.getfixturevalue("real_redis")


def on_cluster(request) -> bool:
    """Whether this test's store or Redis is the cluster."""
    params = getattr(getattr(request.node, "callspec", None), "params", {})
    return CLUSTER in (params.get("store"), params.get("any_redis"), params.get("real_redis"))


@pytest.fixture
def any_redis(request):
    """The same test on fakeredis and on the real server (and the cluster when marked)."""
    if request.param == "fakeredis":
        return fakeredis.FakeRedis()
    if request.param == CLUSTER:
        return request.getfixturevalue("cluster_redis")
    return request.getfixturevalue("real_redis")


@pytest.fixture(scope="session")
def rules():
    """The shipped rules, loaded once a run (a thousand tests ask for them): Rules is
    immutable all the way down (frozen dataclasses, tuples, MappingProxyType)."""
    return load_rules(Settings().rules_file)


@pytest.fixture
def unlimited_rules(rules):
    """The rules with rapid fire and rate limits opened up, for races: many changes in
    one second are the point there."""
    unlimited = RouteLimits(player="100000/second", address="100000/second")
    return dataclasses.replace(
        rules,
        security=dataclasses.replace(
            rules.security,
            max_changes_per_second=100_000,
            rate_limits={group: unlimited for group in rules.security.rate_limits},
        ),
    )


@pytest.fixture
def clock():
    return FixedClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))


@pytest.fixture(autouse=True)
def _default_player_shards():
    """Every test starts and ends on the default player shard count (engine.keys holds
    the process's count; build_engine and the `player_shards` fixture set it)."""
    keys.set_player_shards(keys.DEFAULT_PLAYER_SHARDS)
    yield
    keys.set_player_shards(keys.DEFAULT_PLAYER_SHARDS)


@pytest.fixture
def player_shards():
    """Set this test's player shard count: `player_shards(16)`; the default comes back after."""
    return keys.set_player_shards


@pytest.fixture
def engine(any_redis, rules, clock):
    return Engine(redis=any_redis, rules=rules, clock=clock)


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory) -> Path:
    """One SQLite file migrated to the current schema, once a run; tests get copies."""
    path = tmp_path_factory.mktemp("sqlite-template") / "questboard.db"
    sql = db.connect(f"sqlite:///{path}")
    migrate.upgrade(sql)
    sql.dispose()
    return path


@pytest.fixture
def sqlite_url(tmp_path, migrated_sqlite_template):
    """A fresh SQLite database at the current schema (a copy of the migrated template)."""
    path = tmp_path / "questboard.db"
    shutil.copyfile(migrated_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings(request, sqlite_url):
    """Test settings; REDIS_URL is the leased database, so the job dashboard (which
    connects by URL) never reads database 0 or another run's database. On the cluster,
    REDIS_URL is the cluster's and RQ_REDIS_URL the leased database, as in production."""
    cluster = on_cluster(request)
    return Settings(
        api_keys=(ApiKey("server", SERVER_KEY), ApiKey("admin", ADMIN_KEY)),
        database_url=sqlite_url,
        redis_url=request.getfixturevalue("redis_cluster_url") if cluster else real_redis_url(),
        rq_redis_url=real_redis_url() if cluster else None,
    )


@pytest.fixture
def app(settings, store, clock):
    return create_app(settings, redis_client=store, clock=clock)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def standalone_client(settings, real_redis, clock):
    """The app on the standalone server (the client counts what it sends there)."""
    return create_app(settings, redis_client=real_redis, clock=clock).test_client()


@pytest.fixture
def server_headers():
    return {"Authorization": f"Bearer {SERVER_KEY}"}


@pytest.fixture
def admin_headers():
    return {"Authorization": f"Bearer {ADMIN_KEY}"}


def earned(progress, resource: str) -> int:
    """What an event's progress paid in `resource`: bonus, missions and level rewards.

    Progress is engine.progression.Progress or the dict an HTTP response carries.
    """
    if progress is None:
        return 0
    if not isinstance(progress, dict):
        progress = {
            "daily_bonus": progress.daily_bonus,
            "missions": progress.missions,
            "level_rewards": progress.level_rewards,
        }
    total = 0
    bonus = progress.get("daily_bonus")
    if bonus:
        total += bonus["reward"].get(resource, 0)
    for mission in progress.get("missions") or []:
        if mission.get("completed") and mission.get("transaction_id"):
            total += mission["reward"].get(resource, 0)
    for level in progress.get("level_rewards") or []:
        total += level["reward"].get(resource, 0)
    return total


def error_of(response):
    """The error of a response, after checking it has the one error shape of the API."""
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


EXAM = {
    "exam_id": "e1",
    "category_id": "math",
    "score": 10,
    "total_questions": 10,
    "correct_answers": 5,
}


@pytest.fixture(scope="module")
def server_port(tmp_path_factory):
    """The Procfile's web server on a port of its own, serving this run's Redis database."""
    from tests.granian_server import server_env, start_server, stop_server

    redis_client = _connect_real_redis()  # skips (or fails in CI) without a server
    redis_client.flushdb()  # the run's own leased database
    server, port = start_server(server_env(tmp_path_factory.mktemp("server")))
    try:
        yield port
    finally:
        stop_server(server)
        redis_client.flushdb()
        redis_client.close()
