"""The webhook tests' fixtures (tests/test_webhooks.py, tests/test_webhooks_urls.py): an
engine on the real Redis and SQLite (or each SQL backend) with private receivers
allowed, a receiver on a loopback port, and the deliveries SQL holds."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import db
from tests.webhook_receiver import Receiver, webhook_engine


@pytest.fixture
def engine(real_redis, unlimited_rules, clock, sqlite_url):
    yield from webhook_engine(real_redis, unlimited_rules, clock, sqlite_url)


@pytest.fixture
def both_sql_engine(real_redis, unlimited_rules, clock, sql_url):
    """The same on SQLite and on the MariaDB server."""
    yield from webhook_engine(real_redis, unlimited_rules, clock, sql_url)


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


def deliveries(engine):
    with engine.sql.connect() as conn:
        return conn.execute(
            select(db.webhook_deliveries).order_by(db.webhook_deliveries.c.id)
        ).all()
