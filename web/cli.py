"""Flask CLI commands: `flask --app web questboard <command>`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from engine import jobruns, migrate, rebuild, rotation, snapshots
from engine.job_catalog import SPECS, task_for
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


@questboard.command("run-job")
@click.argument("name", type=click.Choice(sorted(SPECS)))
def run_job(name: str) -> None:
    """Run one job now, in this process, recorded like a scheduled run."""
    engine = get_engine()

    def run_now(other: str, due) -> None:
        jobruns.run(engine, SPECS[other], task_for(other, run_now), due)

    record = jobruns.run(engine, SPECS[name], task_for(name, run_now))
    click.echo(
        f"{name} {record.status} in {record.duration_ms} ms, {record.rows_affected} rows"
        + (f": {record.error}" if record.error else "")
    )
    if record.status == "failed":
        raise SystemExit(1)


@questboard.command("migrate")
def migrate_database() -> None:
    """Bring the SQL database (DATABASE_URL) to the current schema."""
    migrate.upgrade(get_engine().sql)
    click.echo("The database schema is current.")


@questboard.command("rebuild")
def rebuild_redis() -> None:
    """Restore Redis from SQL after Redis was lost (wallets, ledger, boards, ...)."""
    last = {}

    def progress(step: str, done: int, total: int) -> None:
        if done == total or done - last.get(step, 0) >= 50_000:
            last[step] = done
            click.echo(f"  {step}: {done:,} / {total:,}")

    counts = rebuild.rebuild(get_engine(), progress)
    click.echo("Rebuilt: " + ", ".join(f"{name} {count:,}" for name, count in counts.items()))


def init_app(app: Flask) -> None:
    app.cli.add_command(questboard)
