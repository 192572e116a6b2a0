"""Runs the `questboard` command in-process for its tests (tests/test_cli.py and
tests/test_cli_rebuild.py): `Cli`, the `questboard` fixture on the test's Redis, clock
and a tmp SQLite, and `engine_of`, an engine on the same stores."""

from __future__ import annotations

import io

import pytest

from cli.main import main
from engine import Engine


class Cli:
    """Runs `questboard` in-process against one Redis client, clock and environment."""

    def __init__(self, redis_client, clock, env: dict[str, str]) -> None:
        self.redis_client = redis_client
        self.clock = clock
        self.env = env

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(
            list(argv),
            env=self.env,
            redis_client=self.redis_client,
            clock=self.clock,
            out=out,
            err=err,
        )
        return code, out.getvalue(), err.getvalue()


@pytest.fixture
def questboard(any_redis, clock, sqlite_url, tmp_path):
    env = {"DATABASE_URL": sqlite_url, "QUESTBOARD_VAR": str(tmp_path / "var")}
    return Cli(any_redis, clock, env)


@pytest.fixture
def engine_of(questboard, rules):
    """An engine on the same stores as the command, to set up and check state."""
    return Engine(
        redis=questboard.redis_client,
        rules=rules,
        clock=questboard.clock,
        database_url=questboard.env["DATABASE_URL"],
    )
