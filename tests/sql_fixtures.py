"""SQL fixtures, registered by tests/conftest.py: a migrated database of the run's own on
the MariaDB server, `sql_url` (each test on SQLite and on MariaDB), and `durable_engine`
(the real Redis and that database)."""

from __future__ import annotations

import os

import pytest

from engine import Engine, db, migrate

IN_CI = os.environ.get("CI", "").lower() == "true"

MARIADB_URL = os.environ.get("TEST_MARIADB_URL") or "mysql+pymysql://root@127.0.0.1:3306"


@pytest.fixture(scope="session")
def mariadb_database():
    """A database of our own on the MariaDB server, migrated once, dropped at the end."""
    import secrets

    import sqlalchemy

    name = f"questboard_test_{secrets.token_hex(4)}"
    server = sqlalchemy.create_engine(MARIADB_URL + "/")
    try:
        with server.connect() as conn:
            conn.execute(sqlalchemy.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    except sqlalchemy.exc.OperationalError as error:
        message = f"MariaDB at {MARIADB_URL} is not reachable: {error}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    url = f"{MARIADB_URL}/{name}"
    sql = db.connect(url)
    migrate.upgrade(sql)
    sql.dispose()
    yield url
    with server.connect() as conn:
        conn.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name}"))
    server.dispose()


def empty_tables(url: str) -> None:
    sql = db.connect(url)
    with sql.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
    sql.dispose()


@pytest.fixture(params=["sqlite", "mariadb"])
def sql_url(request, tmp_path):
    """The same test on SQLite and on the MariaDB server."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    url = request.getfixturevalue("mariadb_database")
    empty_tables(url)
    return url


@pytest.fixture
def durable_engine(real_redis, rules, clock, sql_url):
    """An engine on the real Redis and a SQL database (SQLite and MariaDB)."""
    engine = Engine(redis=real_redis, rules=rules, clock=clock, database_url=sql_url)
    yield engine
    engine.sql.dispose()
