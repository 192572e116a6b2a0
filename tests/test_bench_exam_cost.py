"""The exam cost benchmark (`make bench-exams`) runs and prints what it claims."""

from __future__ import annotations

import re

from bench import exam_cost


def test_the_benchmark_prints_the_floor_ratio_the_record_size_and_the_rates(capsys):
    exam_cost.main(
        ["--exams", "40", "--rounds", "2", "--players", "500", "--seconds", "0.5", "--scripts"]
    )

    out = capsys.readouterr().out
    assert re.search(r"one exam a call \(record_exam\): commandstats [\d.]+ us \([\d.]+x", out)
    assert re.search(r"500 exams a call \(record_exams\): .* 0\.15 round trips", out)
    assert re.search(r"floor: the bare writes: .*\(1\.00x the floor\).* 1 round trips", out)
    ran = re.search(
        r"one exam a call \(record_exam\): .* Redis ran ([\d.]+) commands \((.*?)\)", out
    )
    commands = {name: float(n) for name, n in re.findall(r"(\w+) ([\d.]+)", ran.group(2))}
    assert abs(float(ran.group(1)) - sum(commands.values())) < 0.5  # each rounded to 0.1
    assert commands["evalsha"] >= 8 and commands["zadd"] > 0  # calls and what runs inside
    assert "info" not in commands and "config" not in commands  # the benchmark's own reads
    assert re.search(r"floor: the bare writes: .* Redis ran 9 commands \(zadd 6, hset 3\)", out)
    for label in (r"one exam a call \(record_exam\)", r"500 exams a call \(record_exams\)"):
        by_round = rf"{label} / the floor, main-thread CPU by round: [\d.]+, [\d.]+ \(median"
        assert re.search(by_round, out)
    assert re.search(r"an exam's replay record: [\d,]+ bytes", out)
    for size in ("one exam a call", "500 exams a call"):
        line = re.search(rf"scripts per exam, {size} \(SLOWLOG\): (.*)", out).group(1)
        for script in ("record_exams", "update_board", "keep_exam_summaries"):
            assert re.search(rf"{script} [\d.]+ us \([\d.]+ calls\) median [\d.]+ us a call", line)
    assert re.search(r"HTTP batch / engine: [\d.]+; HTTP batch / HTTP single: [\d.]+", out)
