"""bench/connection_spread.py measures what it says: each trial's connections are
counted by the worker that answered them, over the Procfile's launcher by default."""

from __future__ import annotations

import re

from bench import connection_spread


def test_a_trial_counts_each_connection_once_by_the_worker_that_answered(capsys):
    connection_spread.main(["--trials", "3", "--connections", "16"])

    printed = capsys.readouterr().out
    found = re.fullmatch(
        r"the launcher: all 16 connections on one of 2 workers in (\d+) of 3 trials; "
        r"splits (.+)\n",
        printed,
    )
    assert found, printed
    splits = re.findall(r"(\d+)\+(\d+) x(\d+)", found.group(2))
    assert sum(int(count) for *_, count in splits) == 3
    assert all(int(first) + int(second) == 16 for first, second, _ in splits)
    # a socket a worker slot: all 16 on one of 2 has probability 2/65536 a trial
    assert found.group(1) == "0"
