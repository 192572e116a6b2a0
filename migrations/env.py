"""Alembic environment: the schema is engine.db.metadata; the URL is DATABASE_URL.

A caller may pass a connection in `config.attributes["connection"]` (the service's
own migrate step and the tests do), otherwise one is opened from the settings.
"""

from __future__ import annotations

from alembic import context

from config import Settings
from engine import db

target_metadata = db.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=Settings.from_env().database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = db.connect(Settings.from_env().database_url)
    with engine.connect() as connection:
        _run(connection)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
