"""One function per `questboard` command: read the parsed arguments, call the engine,
print the outcome. Each returns the exit code; errors are raised and mapped in cli.main.
"""

from __future__ import annotations

import argparse
import code
import re
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from cli import local
from engine import alerts, keys, migrate, text
from engine.boards import moderation, snapshots
from engine.errors import InvalidInputError, NotFoundError
from engine.ops import jobruns, rebuild, reshard
from engine.ops.job_catalog import SPECS, task_for
from engine.progression import rotation
from engine.runtime import Engine
from engine.security import bans
from engine.webhooks import subscriptions

PLAYER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")  # the API's player id (web.schemas)
BAN_ID = re.compile(r"^ban_[0-9a-f]{16}$")
MAX_BAN_SECONDS = 10 * 365 * 86_400

Command = Callable[[Engine, argparse.Namespace, TextIO], int]


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z") if moment else "-"


def _first_line(error: str | None) -> str:
    """A run's error as the command's one line: SQLAlchemy's end in a second line naming
    its documentation page, and job_runs keeps the whole text."""
    lines = (error or "").strip().splitlines()
    return lines[0] if lines else ""


def _table(out: TextIO, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        out.write("  ".join(cells).rstrip() + "\n")


def jobs_list(engine: Engine, args: argparse.Namespace, out: TextIO) -> int:
    """Each job's schedule, last run, last success and next due time (GET /v1/admin/jobs)."""
    rows = [
        [
            state.spec.name,
            state.spec.schedule,
            state.last_run.status if state.last_run else "never_run",
            _when(state.last_success.finished_at if state.last_success else None),
            _when(state.next_due),
            "OVERDUE" if state.overdue else "",
        ]
        for state in jobruns.status(engine, SPECS)
    ]
    _table(out, ["job", "schedule", "last run", "last success", "next due", ""], rows)
    return 0


def jobs_run(engine: Engine, args: argparse.Namespace, out: TextIO) -> int:
    """Run one job now, in this process, recorded like a scheduled run.

    Jobs the watchdog dispatches run inline too, so `jobs run watchdog` does its whole
    work here without a worker.
    """

    def run_now(other: str, due: datetime | None) -> None:
        jobruns.run(engine, SPECS[other], task_for(other, run_now), due)

    record = jobruns.run(engine, SPECS[args.name], task_for(args.name, run_now))
    alerts.wait_for_webhooks()  # the process ends with the command, its POST threads too
    if record.status == "skipped":
        out.write(f"{args.name} did not run: {record.error}.\n")
        return 1
    out.write(
        f"{args.name} {record.status} in {record.duration_ms} ms, {record.rows_affected} rows"
        + (f": {_first_line(record.error)}" if record.error else "")
        + "\n"
    )
    return 1 if record.status == "failed" else 0


def leaderboard_snapshot(engine: Engine, args: argparse.Namespace, out: TextIO) -> int:
    """Snapshot the top of every current leaderboard and record everyone's rank: a run
    of the leaderboard_snapshot job, under its lock (two snapshots at once share each
    board's frozen copy, and one would publish the ranks of what the other left)."""
    reports: list[snapshots.SnapshotReport] = []

    def task(engine: Engine, lease: object) -> int:
        reports.append(snapshots.take_snapshots(engine))
        return reports[-1].players

    record = jobruns.run(engine, SPECS["leaderboard_snapshot"], task)
    alerts.wait_for_webhooks()  # a failure's alert is POSTed before the process ends
    if record.status == "skipped":
        out.write(f"leaderboard-snapshot did not run: {record.error}.\n")
        return 1
    if record.status == "failed":
        out.write(f"leaderboard-snapshot failed: {_first_line(record.error)}\n")
        return 1
    report = reports[0]
    out.write(f"Snapshot {report.boards} boards, {report.players} board entries copied.\n")
    return 0


def daily_reset(engine: Engine, args: argparse.Namespace, out: TextIO) -> int:
    """Publish today's missions and fix today's tool of the day (idempotent)."""
    done = rotation.rotate(engine)
    out.write(f"Game day {done.game_day}: tool {done.tool}, missions {', '.join(done.missions)}.\n")
    return 0


def migrate_database(engine: Engine, args: argparse.Namespace, out: TextIO) -> int:
    """Bring the SQL database to the current schema (Alembic upgrade head), saying
    which revision it was at and which it is at now."""
    before = migrate.current_revision(engine.sql)
    migrate.upgrade(engine.sql)
    after = migrate.current_revision(engine.sql)
    if before is None:
        out.write(f"Created the database schema at revision {after}.\n")
    elif before == after:
        out.write(f"The database schema is current (revision {after}): nothing to do.\n")
    else:
        out.write(f"Upgraded the database schema from revision {before} to {after}.\n")
    return 0


def rebuild_redis(engine: Engine, args: argparse.Namespace, out: TextIO) -> int:
    """Restore Redis from SQL after Redis was lost, showing progress.

    Refused on a Redis that holds a wallet, unless `--keep-live-wallets` (a partial
    loss: only the wallets Redis lacks are written) or `--over-live-data` (SQL's
    balances, a persist interval behind, over the live ones).
    """
    live = args.over_live_data or args.keep_live_wallets
    found = None if live else rebuild.live_wallet(engine)
    if found is not None:
        where = local.without_password(args.settings.redis_url)
        raise rebuild.RebuildRefusedError(
            f"Redis already holds player data ({found}, at {where}):"
            " a rebuild would set its balances back to SQL's, losing the changes not persisted"
            " yet. Rebuild only after FLUSHDB on every primary, with the web and worker"
            " processes stopped. If Redis lost only part of its data (a cluster that lost some"
            " masters'), pass --keep-live-wallets: the wallets it holds are kept and the missing"
            " ones come back; if it came back older than SQL (an older snapshot, a rebuild that"
            " was interrupted), pass --over-live-data"
        )
    last: dict[str, int] = {}

    def progress(step: str, done: int, total: int) -> None:
        if done == total or done - last.get(step, 0) >= 50_000:
            last[step] = done
            out.write(f"  {step}: {done:,} / {total:,}\n")

    counts = rebuild.rebuild(engine, progress, keep_live_wallets=args.keep_live_wallets)
    out.write("Rebuilt: " + ", ".join(f"{name} {count:,}" for name, count in counts.items()))
    out.write("\n")
    return 0


def shards_check(engine: Engine, args: argparse.Namespace, out: TextIO) -> int:
    """The player shard count Redis holds, this process's PLAYER_SHARDS, what waits."""
    state = reshard.check(engine)
    out.write(f"player shards recorded in Redis: {state.recorded or 'none (an empty Redis)'}\n")
    out.write(f"PLAYER_SHARDS of this process: {state.configured}\n")
    out.write(f"waiting in the outboxes: {state.waiting:,} entries\n")
    return 0


def shards_migrate(engine: Engine, args: argparse.Namespace, out: TextIO) -> int:
    """Persist every outbox, then move every player key to `--to` shards."""
    if not 1 <= args.to <= keys.MAX_PLAYER_SHARDS:
        raise InvalidInputError(f"--to must be from 1 to {keys.MAX_PLAYER_SHARDS} player shards.")

    def progress(moved: int) -> None:
        if moved % 100_000 < reshard.CHUNK:
            out.write(f"  moved {moved:,} keys\n")

    report = reshard.migrate(engine, args.to, progress)
    out.write(
        f"Persisted {report.persisted:,} outbox entries; moved {report.moved:,} player keys "
        f"from {report.source} to {report.target} shards.\n"
        f"Redis now holds PLAYER_SHARDS={report.target}: start the service with "
        f"PLAYER_SHARDS={report.target}.\n"
    )
    return 0


def _player_id(raw: str) -> str:
    if not PLAYER_ID.fullmatch(raw):  # the whole id: $ would let a final \n by
        raise InvalidInputError(f"{raw!r} is not a player id ({PLAYER_ID.pattern}).")
    return raw


def leaderboards_remove(engine: Engine, args: argparse.Namespace, out: TextIO) -> int:
    """Take a player off every kept board, aggregates included (a cheater; ban first)."""
    player_id = _player_id(args.player_id)
    removed = moderation.remove_from_leaderboards(engine, player_id)
    if not removed:
        out.write(f"{player_id} is on no leaderboard.\n")
        return 0
    names = [" ".join(filter(None, [b.period_type, b.period.name, b.category])) for b in removed]
    out.write(f"Removed {player_id} from {len(removed)} boards: {', '.join(names)}.\n")
    return 0


def bans_list(engine: Engine, args: argparse.Namespace, out: TextIO) -> int:
    """The bans in force, newest first, of one kind or both."""
    kinds = [args.kind] if args.kind else ["ip", "player"]
    found = [ban for kind in kinds for ban in bans.listing(engine, kind)]
    if not found:
        out.write("No bans in force.\n")
        return 0
    rows = [
        [b.ban_id, b.kind, b.target, _when(b.expires_at), b.created_by, b.reason] for b in found
    ]
    _table(out, ["id", "kind", "target", "expires", "by", "reason"], rows)
    return 0


def bans_create(engine: Engine, args: argparse.Namespace, out: TextIO) -> int:
    """Ban an address, a network or a player (POST /v1/admin/bans, /player-bans)."""
    kind, target = ("ip", args.ip) if args.ip is not None else ("player", args.player)
    if kind == "player":
        _player_id(target)
    text.check_reason(args.reason)
    if args.expires_in is not None and not 1 <= args.expires_in <= MAX_BAN_SECONDS:
        raise InvalidInputError(f"--expires-in must be from 1 to {MAX_BAN_SECONDS} seconds.")
    ban = bans.create(engine, kind, target, args.reason, args.expires_in)
    until = f"until {_when(ban.expires_at)}" if ban.expires_at else "with no expiry"
    out.write(f"Banned {ban.kind} {ban.target} {until}: {ban.ban_id}.\n")
    return 0


def bans_lift(engine: Engine, args: argparse.Namespace, out: TextIO) -> int:
    """Lift a ban by its id, whichever its kind."""
    if not BAN_ID.fullmatch(args.ban_id):
        raise InvalidInputError(f"{args.ban_id!r} is not a ban id (ban_ and 16 hex digits).")
    for kind in ("ip", "player"):
        try:
            bans.delete(engine, kind, args.ban_id)
        except NotFoundError:
            continue
        out.write(f"Lifted {kind} ban {args.ban_id}.\n")
        return 0
    raise NotFoundError(f"There is no ban {args.ban_id}.", {"ban_id": args.ban_id})


def webhooks_encrypt_secrets(engine: Engine, args: argparse.Namespace, out: TextIO) -> int:
    """Encrypt the plain signing secrets, re-encrypt the others with the first key."""
    report = subscriptions.encrypt_secrets(engine)
    out.write(
        f"Webhook secrets: {report.encrypted} encrypted, {report.reencrypted} re-encrypted "
        f"with the first key, {report.current} already current.\n"
    )
    if report.unreadable:
        out.write(
            f"Not readable with any key of WEBHOOK_SECRETS_KEY (left as they are): "
            f"{', '.join(report.unreadable)}.\n"
        )
        return 1
    return 0


def shell(engine: Engine, args: argparse.Namespace, out: TextIO) -> int:
    """A Python prompt with `engine` (and its `redis`, `sql`, `rules`, `clock`) at hand."""
    engine.redis.ping()  # say now, not at the first command, that Redis is unreachable
    code.interact(
        banner=(
            f"Questboard shell: engine, redis ({local.without_password(args.settings.redis_url)}),"
            " settings."
        ),
        local={"engine": engine, "redis": engine.redis, "settings": args.settings},
        exitmsg="",
    )
    return 0
