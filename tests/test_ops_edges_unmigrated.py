"""The `web` process refuses a database whose schema is not this version's in one line
naming the fix (`questboard migrate`), before any worker starts, instead of answering
500 on every route that reads or writes SQL (README, A production install)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.server import free_port
from engine import db, migrate
from tests.conftest import ADMIN_KEY, SERVER_KEY, real_redis_url
from tests.granian_server import procfile_web_command
from tests.test_ops_edges import healthz
from tests.test_run_command import wait_for

ROOT = Path(__file__).resolve().parent.parent


def procfile_web(database_url: str) -> tuple[subprocess.Popen, str]:
    """The Procfile's web command, one worker, on the database; returns once it has
    ended or serves /healthz."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "RQ_REDIS_URL"}
    env |= {
        "REDIS_URL": real_redis_url(),
        "DATABASE_URL": database_url,
        "API_KEYS": f"server:{SERVER_KEY},admin:{ADMIN_KEY}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    web = subprocess.Popen(
        ["sh", "-c", f"{procfile_web_command()} --no-access-log"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: web.poll() is not None or healthz(base), timeout=60)
    return web, base


def ended(web: subprocess.Popen) -> tuple[int | None, str]:
    """Its exit code (None: it was still serving, now stopped) and its stderr."""
    code = web.poll()
    if code is None:
        web.terminate()
    _, err = web.communicate(timeout=60)
    return code, err


@pytest.mark.parametrize(
    ("revision", "state"),
    [(None, "has no tables of Questboard (never migrated)"), ("0001", "is at revision 0001")],
)
def test_the_web_process_refuses_a_database_not_migrated_to_its_schema(
    real_redis, tmp_path, revision, state
):
    url = f"sqlite:///{tmp_path / 'questboard.db'}"
    if revision is not None:
        sql = db.connect(url)
        migrate.upgrade(sql, revision)
        sql.dispose()
    head = migrate.head_revision()

    code, err = ended(procfile_web(url)[0])

    assert (code, err) == (
        1,
        f"Cannot start: the database at {url} {state}, this version needs {head}: "
        "run `questboard migrate` first (README: A production install)\n",
    )


def test_the_web_process_serves_a_database_at_its_schema(real_redis, tmp_path):
    url = f"sqlite:///{tmp_path / 'questboard.db'}"
    sql = db.connect(url)
    migrate.upgrade(sql)
    sql.dispose()

    web, base = procfile_web(url)

    try:
        assert healthz(base)
    finally:
        code, err = ended(web)
    assert code is None, err  # it served until stopped


def test_a_database_a_newer_version_migrated_or_one_that_does_not_answer_is_let_be(tmp_path):
    """A revision this code does not know is a newer version's (a rolling deployment
    restarts an old process): no refusal. A database away: the web answers 503."""
    from scripts.shared_socket_granian import database_behind

    url = f"sqlite:///{tmp_path / 'questboard.db'}"
    sql = db.connect(url)
    migrate.upgrade(sql)
    with sql.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    sql.dispose()

    assert database_behind(url) is None
    assert database_behind("mysql+pymysql://root@127.0.0.1:1/qb") is None  # nothing on 1
    assert database_behind(f"sqlite:///{tmp_path / 'new.db'}").startswith(
        f"the database at sqlite:///{tmp_path / 'new.db'} has no tables"
    )
