"""`questboard <command>`: the admin actions of the README, from a shell.

It runs on the settings `make run` uses (cli.local): with no REDIS_URL, the embedded
Redis of the `make run` in this checkout; with no DATABASE_URL, its SQLite file.
Installed outside a checkout (`pip install .`) it needs both set (exit code 2 without
them). A store that cannot be reached is one line on stderr, never a traceback.

Exit codes: 0 done; 1 refused or failed (no such ban, a job that failed); 2 a usage or
configuration mistake (a malformed address or player id too); 3 Redis or the SQL
database unreachable.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import redis
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from cli import commands, local
from config import ConfigError, Settings
from engine import keys, shards
from engine.clock import Clock
from engine.connection import connect
from engine.errors import InvalidInputError, QuestboardError
from engine.ops.job_catalog import SPECS
from engine.ops.rebuild import RebuildRefusedError
from engine.rules.fields import RulesError
from engine.runtime import build_engine
from engine.shards import PlayerShardsMismatchError, ShardChangeRefusedError

OK, REFUSED, USAGE, UNREACHABLE = 0, 1, 2, 3


class StoreMissingError(Exception):
    """The store a command needs is not there (no REDIS_URL and no `make run`)."""


def whole_number(text: str) -> int:
    """An argument's count: ASCII digits after an optional minus, as the HTTP API's
    integers (the command's own range check then names the range). `int()` also reads
    " 5", "+5", "1_0" and other scripts' digits ("٣") as numbers."""
    if not re.fullmatch(r"-?[0-9]{1,18}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of ASCII digits")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="questboard",
        description="Questboard admin commands, on the stores of REDIS_URL and DATABASE_URL "
        "(in a checkout, those of its `make run` when unset).",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"questboard {importlib.metadata.version('questboard')}",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    jobs = sub.add_parser("jobs", help="list the jobs or run one now")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True, metavar="action")
    jobs_sub.add_parser("list", help="each job's schedule, last run and next due time")
    run = jobs_sub.add_parser("run", help="run one job now, in this process")
    run.add_argument("name", choices=sorted(SPECS))

    sub.add_parser("leaderboard-snapshot", help="snapshot every current leaderboard")
    sub.add_parser("daily-reset", help="publish today's missions and tool of the day")
    sub.add_parser("migrate", help="bring the SQL database to the current schema")
    rebuild = sub.add_parser("rebuild", help="restore Redis from SQL after Redis was lost")
    over_live = rebuild.add_mutually_exclusive_group()  # two answers to one question
    over_live.add_argument(
        "--over-live-data",
        action="store_true",
        help="DANGEROUS: run even though Redis holds a wallet; its balances go back to "
        "SQL's and the balance changes not persisted yet are lost (the rest is kept where newer)",
    )
    over_live.add_argument(
        "--keep-live-wallets",
        action="store_true",
        help="after a partial loss (a cluster that lost some masters' data): run though Redis "
        "holds wallets, keep every wallet it holds and bring back only the missing ones",
    )
    sub.add_parser("shell", help="a Python prompt with the engine at hand")

    boards = sub.add_parser("leaderboards", help="take a cheater off the leaderboards")
    boards_sub = boards.add_subparsers(dest="leaderboards_command", required=True, metavar="action")
    remove = boards_sub.add_parser("remove", help="off every kept board, aggregates included")
    remove.add_argument("player_id")

    shards = sub.add_parser("shards", help="the player shard count: check it or change it")
    shards_sub = shards.add_subparsers(dest="shards_command", required=True, metavar="action")
    shards_sub.add_parser("check", help="the count Redis holds, this PLAYER_SHARDS, what waits")
    change = shards_sub.add_parser(
        "migrate", help="persist every outbox, then move every player key to N shards"
    )
    change.add_argument("--to", type=whole_number, required=True, metavar="N", dest="to")

    ban = sub.add_parser("bans", help="list, create or lift IP and player bans")
    ban_sub = ban.add_subparsers(dest="bans_command", required=True, metavar="action")
    listing = ban_sub.add_parser("list", help="the bans in force")
    listing.add_argument("--kind", choices=["ip", "player"])
    create = ban_sub.add_parser("create", help="ban an address, a network or a player")
    target = create.add_mutually_exclusive_group(required=True)
    target.add_argument("--ip", help="an address or CIDR range, IPv4 or IPv6")
    target.add_argument("--player", help="a player id")
    create.add_argument("--reason", required=True)
    create.add_argument("--expires-in", type=whole_number, metavar="SECONDS", help="default: never")
    lift = ban_sub.add_parser("lift", help="lift a ban")
    lift.add_argument("ban_id")

    hooks = sub.add_parser("webhooks", help="webhook subscriptions' signing secrets")
    hooks_sub = hooks.add_subparsers(dest="webhooks_command", required=True, metavar="action")
    hooks_sub.add_parser(
        "encrypt-secrets",
        help="encrypt every plain secret and re-encrypt with the first WEBHOOK_SECRETS_KEY",
    )
    return parser


COMMANDS: dict[tuple[str, str | None], commands.Command] = {
    ("jobs", "list"): commands.jobs_list,
    ("jobs", "run"): commands.jobs_run,
    ("leaderboard-snapshot", None): commands.leaderboard_snapshot,
    ("daily-reset", None): commands.daily_reset,
    ("migrate", None): commands.migrate_database,
    ("rebuild", None): commands.rebuild_redis,
    ("shell", None): commands.shell,
    ("leaderboards", "remove"): commands.leaderboards_remove,
    ("shards", "check"): commands.shards_check,
    ("shards", "migrate"): commands.shards_migrate,
    ("bans", "list"): commands.bans_list,
    ("bans", "create"): commands.bans_create,
    ("bans", "lift"): commands.bans_lift,
    ("webhooks", "encrypt-secrets"): commands.webhooks_encrypt_secrets,
}
SQL_ONLY = {("migrate", None), ("webhooks", "encrypt-secrets")}
CHANGES_SHARDS = {("shards", "check"), ("shards", "migrate")}  # start on any recorded count


def _check_store_urls(env: Mapping[str, str], sql_only: bool) -> None:
    """Without a `make run` to default to (an installed package), the command must be
    told its stores: never a SQLite file made up in site-packages and migrated."""
    needed = ["DATABASE_URL"] if sql_only else ["REDIS_URL", "DATABASE_URL"]
    unset = [name for name in needed if not env.get(name)]
    if unset:
        verb, them = ("is", "it") if len(unset) == 1 else ("are", "them")
        raise ConfigError(
            f"{' and '.join(unset)} {verb} not set, and there is no `make run` checkout here "
            f"to take {them} from: set {them} as the service's processes have {them}."
        )


def _make_var(var: Path) -> None:
    """The `make run` folder that holds the SQLite file, made when missing."""
    try:
        var.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"QUESTBOARD_VAR {var} cannot be used: {error.strerror}.") from None


def _redis_client(settings: Settings, env: Mapping[str, str]) -> redis.Redis:
    """A client on the engine's Redis; the embedded one must be running if it is the one."""
    if not env.get("REDIS_URL"):
        var = local.var_dir(env)
        if not local.redis_socket(var).exists():
            raise StoreMissingError(
                f"REDIS_URL is not set and no `make run` is running in {var} "
                f"(no {local.redis_socket(var)}): start `make run`, or set REDIS_URL."
            )
    # A connect timeout of its own (the URL's options win): never hang on a dead host.
    try:
        return connect(settings.redis_url, socket_connect_timeout=5)
    except ValueError as error:  # redis-py's word for a URL it cannot read
        raise ConfigError(f"REDIS_URL is not a Redis URL: {error}") from None


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    redis_client: Any = None,
    clock: Clock | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Parse `argv` (default: sys.argv), run the command, return the exit code.

    The `questboard` console script calls it with no arguments; tests pass the
    environment, a Redis client, a clock and the output streams.
    """
    out, err = out or sys.stdout, err or sys.stderr
    env = dict(os.environ if env is None else env)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse has printed the usage and the mistake
        return int(exit_.code or 0)
    key = (args.command, getattr(args, f"{args.command}_command", None))
    filled = local.local_env(env)
    settings_url = "Redis"
    try:
        _check_store_urls(filled, sql_only=key in SQL_ONLY)
        settings = Settings.from_env(filled)
        args.settings = settings
        settings_url = local.without_password(settings.redis_url)
        client = redis_client
        if client is None and key not in SQL_ONLY:
            client = _redis_client(settings, env)
        engine = build_engine(
            settings, client, clock, verify_shards=False, warn_plain_secrets=False
        )
        if key not in CHANGES_SHARDS and key not in SQL_ONLY:  # an unreachable Redis: exit 3
            shards.verify(engine.redis, keys.player_shards())
        if key in SQL_ONLY and not env.get("DATABASE_URL"):
            _make_var(local.var_dir(env))
        return COMMANDS[key](engine, args, out)
    except (ConfigError, RulesError) as error:
        err.write(f"questboard: {error}\n")
        return USAGE
    except (PlayerShardsMismatchError, ShardChangeRefusedError, RebuildRefusedError) as error:
        err.write(f"questboard: {error}\n")
        return REFUSED
    except StoreMissingError as error:
        err.write(f"questboard: cannot reach Redis: {error}\n")
        return UNREACHABLE
    except redis.exceptions.RedisError as error:
        err.write(f"questboard: cannot reach Redis at {settings_url}: {error}\n")
        return UNREACHABLE
    except ArgumentError as error:
        err.write(f"questboard: DATABASE_URL is not a database URL: {error}\n")
        return USAGE
    except DBAPIError as error:
        database = make_url(filled["DATABASE_URL"]).render_as_string(hide_password=True)
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        err.write(f"questboard: the database at {database} failed: {reason}\n")
        return UNREACHABLE
    except InvalidInputError as error:
        err.write(f"questboard: {error.message}\n")
        return USAGE
    except QuestboardError as error:
        err.write(f"questboard: {error.message}\n")
        return REFUSED
    except BrokenPipeError:  # the reader went away (`| head -1`): end quietly
        if out is sys.stdout:  # nothing more reaches it, the interpreter's flush included
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return REFUSED
    except KeyboardInterrupt:
        err.write("questboard: interrupted\n")
        return 130
