"""Exam ingestion throughput from one process: single calls, batches, threads."""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Sequence

from engine.boards import exams
from engine.runtime import Engine

INGEST_PLAYERS = 20_000


def ingest(
    engine: Engine, seconds: float, categories: Sequence[str]
) -> list[tuple[str, int, float]]:
    """Exams/s from this one process: one per call, in batches, and batches from threads.

    A pool of 20,000 players who have already played today (their day's bonus and
    first missions are behind them): the steady state of a running game. The last row
    sends every exam for a player new today, the costliest case (bonus, missions).
    """
    engine.rules = dataclasses.replace(  # the load is one server, not a player's clicks
        engine.rules,
        security=dataclasses.replace(engine.rules.security, max_changes_per_second=10**9),
    )
    lock = threading.Lock()
    serial = iter(range(10**9))

    def submission(rng: random.Random, fresh: bool = False) -> tuple[str, exams.Exam]:
        with lock:
            n = next(serial)
        questions = rng.randrange(5, 30)
        correct = rng.randrange(questions + 1)
        exam = exams.Exam(f"e{n}", rng.choice(categories), 10 * correct, questions, correct)
        player = f"new{n}" if fresh else f"x{rng.randrange(INGEST_PLAYERS)}"
        return player, exam

    warm = random.Random(1)
    for start in range(0, INGEST_PLAYERS, 500):
        exams.record_exams(
            engine, [(f"x{n}", submission(warm)[1]) for n in range(start, start + 500)]
        )

    def run(batch: int, threads: int = 1, fresh: bool = False) -> tuple[int, float]:
        counts = [0] * threads
        deadline = time.perf_counter() + seconds

        def work(slot: int) -> None:
            rng = random.Random(slot)
            while counts[slot] == 0 or time.perf_counter() < deadline:
                if batch == 1:
                    exams.record_exam(engine, *submission(rng, fresh))
                else:
                    outcomes = exams.record_exams(
                        engine, [submission(rng, fresh) for _ in range(batch)]
                    )
                    assert all(o.created for o in outcomes)  # every exam counted, none twice
                counts[slot] += batch

        started = time.perf_counter()
        pool = [threading.Thread(target=work, args=(slot,)) for slot in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        return sum(counts), time.perf_counter() - started

    rows = []
    for label, batch, threads, fresh in (
        ("`record_exam`, one at a time", 1, 1, False),
        ("`record_exams`, 100 a call", 100, 1, False),
        ("`record_exams`, 500 a call", 500, 1, False),
        ("`record_exams`, 500 a call, 3 threads", 500, 3, False),
        ("`record_exams`, 500 a call, 3 threads, every player new today", 500, 3, True),
    ):
        done, elapsed = run(batch, threads, fresh)
        rate = done / elapsed
        print(f"ingest {label}: {rate:,.0f}/s", flush=True)
        rows.append((label, done, rate))
    return rows
