"""The `questboard` command's edges: counts in ASCII digits only, --version, and an
output whose reader went away (`| head -1`)."""

from __future__ import annotations

import importlib.metadata
import io

import pytest

from cli.main import build_parser, main
from engine.security import bans
from tests.cli_harness import engine_of as engine_of  # a fixture: its own name
from tests.cli_harness import questboard as questboard  # a fixture: its own name


@pytest.mark.parametrize("seconds", [" 3600", "3600 ", "+3600", "3_600", "٣٦٠٠", "3600.0"])
def test_bans_create_takes_expires_in_in_ascii_digits_only(questboard, engine_of, capsys, seconds):
    """`int()` reads padded, signed, underscored and non-ASCII digits as a number: the
    CLI takes the digits the HTTP API takes (web.schemas.QueryInteger), nothing else."""
    code, out, _ = questboard(
        "bans", "create", "--player", "eve", "--reason", "x", "--expires-in", seconds
    )
    assert (code, out) == (2, "")
    err = capsys.readouterr().err
    assert f"--expires-in: {seconds!r} is not a whole number of ASCII digits" in err
    assert bans.listing(engine_of, "player") == []


@pytest.mark.parametrize("count", [" 4", "+4", "1_6", "١٦"])
def test_shards_migrate_takes_to_in_ascii_digits_only(questboard, capsys, count):
    code, out, _ = questboard("shards", "migrate", "--to", count)
    assert (code, out) == (2, "")
    err = capsys.readouterr().err
    assert f"--to: {count!r} is not a whole number of ASCII digits" in err


def test_version_prints_the_installed_version(capsys):
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out == f"questboard {importlib.metadata.version('questboard')}\n"


class ClosedPipe(io.StringIO):
    """Standard output read by `head -1`, which has exited: every write fails."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_output_to_a_reader_that_went_away_ends_quietly(questboard, capsys):
    """`questboard jobs list | head -1`: the reader closes the pipe, and the command
    ends with exit code 1 and no traceback, as a pipeline's other tools do."""
    code = main(
        ["jobs", "list"],
        env=questboard.env,
        redis_client=questboard.redis_client,
        clock=questboard.clock,
        out=ClosedPipe(),
        err=io.StringIO(),
    )
    assert code == 1
