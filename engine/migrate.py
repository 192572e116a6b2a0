"""Bring a SQL database to the current schema with Alembic (migrations/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(connection: Any) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["connection"] = connection
    return config


def upgrade(sql_engine: Any, revision: str = "head") -> None:
    with sql_engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(sql_engine: Any, revision: str) -> None:
    with sql_engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def head_revision() -> str:
    """The schema revision this version of the code needs (the newest migration)."""
    return ScriptDirectory.from_config(alembic_config(None)).get_current_head()


def current_revision(sql_engine: Any) -> str | None:
    """The schema revision the database is at; None when it was never migrated."""
    with sql_engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def behind(sql_engine: Any) -> str | None:
    """What keeps the database from this version's schema, as the end of a sentence
    ("has no tables ... (never migrated)", "is at revision 0001"); None when it is at
    the head, or at a revision this code does not know (a newer version migrated it)."""
    scripts = ScriptDirectory.from_config(alembic_config(None))
    current = current_revision(sql_engine)
    if current == scripts.get_current_head():
        return None
    if current is None:
        return "has no tables of Questboard (never migrated)"
    known = {script.revision for script in scripts.walk_revisions()}
    return f"is at revision {current}" if current in known else None
