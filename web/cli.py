"""`flask --app web questboard <command>`: the `questboard` command's actions on the
app's own engine (tests use it through Flask's CLI runner on their fakeredis app).

The command for people is `questboard` (cli/main.py), which finds the settings of
`make run` by itself; these only pass the app's engine to the same functions.
"""

from __future__ import annotations

import argparse
import sys

import click
from flask import Flask
from flask.cli import AppGroup

from cli import commands
from engine.ops.job_catalog import SPECS
from web.extensions import get_engine

questboard = AppGroup("questboard", help="Questboard operations (see also `questboard`).")


def _run(command: commands.Command, **arguments: object) -> None:
    code = command(get_engine(), argparse.Namespace(**arguments), sys.stdout)
    if code:
        raise SystemExit(code)


@questboard.command("leaderboard-snapshot")
def leaderboard_snapshot() -> None:
    """Snapshot the top of every current leaderboard and record everyone's rank."""
    _run(commands.leaderboard_snapshot)


@questboard.command("daily-reset")
def daily_reset() -> None:
    """Publish today's missions and fix today's tool of the day (idempotent)."""
    _run(commands.daily_reset)


@questboard.command("run-job")
@click.argument("name", type=click.Choice(sorted(SPECS)))
def run_job(name: str) -> None:
    """Run one job now, in this process, recorded like a scheduled run."""
    _run(commands.jobs_run, name=name)


@questboard.command("migrate")
def migrate_database() -> None:
    """Bring the SQL database (DATABASE_URL) to the current schema."""
    _run(commands.migrate_database)


@questboard.command("rebuild")
def rebuild_redis() -> None:
    """Restore Redis from SQL after Redis was lost (wallets, ledger, boards, ...)."""
    _run(commands.rebuild_redis)


def init_app(app: Flask) -> None:
    app.cli.add_command(questboard)
