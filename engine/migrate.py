"""Bring a SQL database to the current schema with Alembic (migrations/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

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
