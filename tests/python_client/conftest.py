"""Fixtures of the Python client's tests: the app served on a loopback port behind a Gate."""

from __future__ import annotations

import threading

import pytest
from questboard_client import (
    Questboard,
    RetryPolicy,
)
from werkzeug.serving import make_server

from tests.conftest import ADMIN_KEY, SERVER_KEY
from tests.python_client.gate import Gate, cap_jitter


@pytest.fixture
def gate(app):
    return Gate(app)


@pytest.fixture
def base_url(gate):
    server = make_server("127.0.0.1", 0, gate, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def qb(base_url, sleeps):
    with Questboard(
        base_url, SERVER_KEY, retry=RetryPolicy(jitter=cap_jitter), sleep=sleeps.append
    ) as client:
        yield client


@pytest.fixture
def admin(base_url):
    with Questboard(base_url, ADMIN_KEY) as client:
        yield client
