"""Flask CLI commands: `flask --app web questboard <command>`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from engine import rotation, snapshots
from web.extensions import get_engine

questboard = AppGroup("questboard", help="Questboard operations.")


@questboard.command("leaderboard-snapshot")
def leaderboard_snapshot() -> None:
    """Snapshot the top of every current leaderboard and record everyone's rank."""
    report = snapshots.take_snapshots(get_engine())
    click.echo(f"Snapshot {report.boards} boards, {report.players} board entries copied.")


@questboard.command("daily-reset")
def daily_reset() -> None:
    """Publish today's missions and fix today's tool of the day (idempotent)."""
    rotation_done = rotation.rotate(get_engine())
    click.echo(
        f"Game day {rotation_done.game_day}: tool {rotation_done.tool}, "
        f"missions {', '.join(rotation_done.missions)}."
    )


def init_app(app: Flask) -> None:
    app.cli.add_command(questboard)
