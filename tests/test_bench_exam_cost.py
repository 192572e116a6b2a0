"""The exam cost benchmark (`make bench-exams`) runs and prints what it claims."""

from __future__ import annotations

import re

from bench import exam_cost


def test_the_benchmark_prints_the_floor_ratio_the_record_size_and_the_rates(capsys):
    exam_cost.main(["--exams", "20", "--players", "500", "--seconds", "0.5", "--scripts"])

    out = capsys.readouterr().out
    assert re.search(r"one exam a call \(record_exam\): commandstats [\d.]+ us \([\d.]+x", out)
    assert re.search(r"500 exams a call \(record_exams\): .* 0\.15 round trips", out)
    assert re.search(r"floor: the bare writes: .*\(1\.00x the floor\).* 1 round trips", out)
    assert re.search(r"an exam's replay record: [\d,]+ bytes", out)
    for size in ("one exam a call", "500 exams a call"):
        line = re.search(rf"scripts per exam, {size} \(SLOWLOG\): (.*)", out).group(1)
        for script in ("record_exams", "update_board", "keep_exam_summaries"):
            assert re.search(rf"{script} [\d.]+ us \([\d.]+ calls\) median [\d.]+ us a call", line)
    assert re.search(r"HTTP batch / engine: [\d.]+; HTTP batch / HTTP single: [\d.]+", out)
