"""bench/leagues.py runs end to end at a tiny size (the figures are the benchmark's)."""

from __future__ import annotations

from bench import leagues


def test_the_leagues_benchmark_runs(capsys):
    leagues.main(["--small", "40", "--large", "120", "--calls", "5", "--rounds", "1"])
    out = capsys.readouterr().out
    assert out.startswith(
        ".venv/bin/python -m bench.leagues --small 40 --large 120 --calls 5 --rounds 1\n"
    )  # the command that repeats it
    assert "join, wall time a call" in out and "read, Redis µs an EVALSHA" in out
    assert "join, Redis µs, median" in out and "read, Redis µs, median" in out
    assert "league_close of 125 players in 5 cohorts, 15 prizes" in out
    assert "CPU: this process" in out and "load average" in out
