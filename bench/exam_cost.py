"""What an exam costs Redis beside its floor, and batch ingestion over HTTP beside the engine.

    .venv/bin/python -m bench.exam_cost                 # about a minute
    .venv/bin/python -m bench.exam_cost --exams 2000 --seconds 10

Runs on a Redis server of its own (bench.private_redis), so `INFO commandstats` and the
server's CPU counters see this run's commands only, for players who already played
today (their day's bonus and first missions behind them: the steady state of a game).

1. Redis CPU per exam. `--exams` exams, one `record_exam` each (what
   `POST /v1/players/{id}/exams` calls, without `X-Player-IP`), between `CONFIG
   RESETSTAT` and a read of the stats; then as many exams' *floor*: the bare commands an
   exam needs, sent in one pipeline per exam (a ZADD on each of its six boards, the
   HSET of each of its three periods' stats), for players of the floor's own whose keys
   were written once before (each write updates a member and a hash, as an exam's
   mostly do; the exams' players' boards and sums stay as the exams left them). Per
   exam: the commandstats time of what the client sent (EVALSHA's usec includes the
   scripts' own commands; a command both sent and run by scripts is shared by its
   calls), the server's main-thread CPU (which also counts reading and writing the
   socket), and the commands the server ran (commandstats' calls: a script's own ones
   too). Printed with the ratio to the floor. `--rounds N` splits the runs into N rounds,
   the three kinds in turn in each, and prints each round's CPU ratio to its own floor:
   on a shared machine the load changes between runs a minute apart.
2. Ingestion rates in this process: the engine's `record_exams` (500 a call), then the
   same through the app with the Flask test client, `POST /v1/exams:batch` with 500 a
   request and `POST /v1/players/{id}/exams` one a request, each for `--seconds` in
   five interleaved rounds (a shared machine's load falls on all three alike). Each
   counts the time of its calls alone: the request is built before, the answer read
   after. The app's rates include the web layer (parsing, validation, the JSON answer)
   but no socket or WSGI server (see bench.http_ratio for those).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import redis

from bench import redis_count
from bench.private_redis import private_redis
from bench.server import DATABASE_URL, SERVER_KEY, load_test_rules
from config import ApiKey, Settings
from engine import keys, scripts
from engine.boards import exams
from engine.boards.exam_finish import boards_of
from engine.boards.exam_frame import Frame
from engine.clock import FixedClock

CATEGORIES = ("math", "history", "science", "art")
HEADERS = {"Authorization": f"Bearer {SERVER_KEY}"}
JSON_HEADERS = {**HEADERS, "Content-Type": "application/json"}


@dataclass(frozen=True)
class Cost:
    """What a run cost the server, per exam, in microseconds."""

    commandstats_us: float  # the commands the client sent, as commandstats times them
    cpu_us: float  # the server's main-thread CPU
    round_trips: float
    sent: dict[str, float]
    ran: dict[str, float]  # the commands the server ran (a script's own ones too), per exam


def mean_cost(rounds: list[Cost]) -> Cost:
    """The rounds' costs per exam, each round the same number of exams."""
    names = sorted({name for cost in rounds for name in cost.ran})
    sent = sorted({name for cost in rounds for name in cost.sent})
    ran = {name: statistics.fmean(cost.ran.get(name, 0.0) for cost in rounds) for name in names}
    return Cost(
        commandstats_us=statistics.fmean(cost.commandstats_us for cost in rounds),
        cpu_us=statistics.fmean(cost.cpu_us for cost in rounds),
        round_trips=statistics.fmean(cost.round_trips for cost in rounds),
        sent={name: statistics.fmean(cost.sent.get(name, 0.0) for cost in rounds) for name in sent},
        ran=dict(sorted(ran.items(), key=lambda item: (-item[1], item[0]))),
    )


def main_thread_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user_main_thread"]) + float(info["used_cpu_sys_main_thread"])


def measure(client: redis.Redis, run: Callable[[], None], exams_run: int) -> Cost:
    """Run between a stats reset and a read of the stats; the cost per exam."""
    client.config_resetstat()
    before = main_thread_cpu(client)
    with redis_count.sent_commands() as sent:
        run()
    cpu = main_thread_cpu(client) - before
    stats = {
        name.removeprefix("cmdstat_"): value
        for name, value in client.info("commandstats").items()
        if not name.startswith(("cmdstat_info", "cmdstat_config"))
    }
    ran = {name: stat["calls"] / exams_run for name, stat in stats.items()}
    usec = 0.0
    for name, count in sent.commands.items():  # a sent command's share of its calls' time
        stat = stats.get(name.split()[0])
        if stat:
            usec += stat["usec"] * min(1.0, count / stat["calls"])
    return Cost(
        commandstats_us=usec / exams_run,
        cpu_us=cpu * 1e6 / exams_run,
        round_trips=sent.round_trips / exams_run,
        sent={name: n / exams_run for name, n in sorted(sent.commands.items())},
        ran=dict(sorted(ran.items(), key=lambda item: (-item[1], item[0]))),
    )


def commands_ran(cost: Cost) -> str:
    """`Redis ran 93.1 commands (evalsha 9, expire 20.8, ...)`: INFO commandstats' calls,
    which count the commands scripts run as well as those the client sent."""

    def tenths(n: float) -> str:
        return f"{n:.1f}".removesuffix(".0")

    shown = ", ".join(f"{name} {tenths(n)}" for name, n in cost.ran.items())
    return f"Redis ran {tenths(sum(cost.ran.values()))} commands ({shown})"


def script_times(client: redis.Redis, run: Callable[[], None], exams_run: int) -> dict:
    """Each script's time per exam (its EVALSHA calls in SLOWLOG, which logs every command
    at a threshold of 0: a script's time includes its own commands), calls per exam, and
    the median µs of one call (a shared machine's preempted calls stretch the mean, not
    the median)."""
    names = {
        hashlib.sha1(scripts.registered_source(name).encode()).hexdigest(): name
        for name in scripts.SCRIPTS
    }
    client.config_set("slowlog-log-slower-than", 0)
    client.config_set("slowlog-max-len", 1_000_000)
    client.slowlog_reset()
    run()
    entries = client.slowlog_get(1_000_000)
    client.config_set("slowlog-log-slower-than", 10_000)
    found: dict[str, list[float]] = {}
    calls: dict[str, list[int]] = {}
    for entry in entries:
        command = entry["command"].split()
        if command[0].upper() in (b"EVALSHA", "EVALSHA"):
            sha = command[1].decode() if isinstance(command[1], bytes) else command[1]
            name = names.get(sha, sha[:12])
            times = found.setdefault(name, [0.0, 0.0])
            times[0] += entry["duration"] / exams_run
            times[1] += 1 / exams_run
            calls.setdefault(name, []).append(entry["duration"])
    for name, durations in calls.items():
        found[name].append(statistics.median(durations))
    return dict(sorted(found.items(), key=lambda item: -item[1][0]))


class Bench:
    """The app and its engine on a private Redis, with players who played today."""

    def __init__(self, url: str, players: int) -> None:
        from web import create_app

        self.client = redis.Redis.from_url(url)
        settings = Settings(
            redis_url=url,
            api_keys=(ApiKey("server", SERVER_KEY),),
            database_url=DATABASE_URL,
            rules_file=load_test_rules(),
        )
        self.app = create_app(
            settings, redis_client=self.client, clock=FixedClock(datetime.now(UTC))
        )
        self.engine = self.app.extensions["questboard.engine"]
        self.http = self.app.test_client()
        self.players = players
        self.rng = random.Random(7)
        self.serial = iter(range(10**9))
        for start in range(0, players, 500):
            done = exams.record_exams(
                self.engine, [self.submission(n) for n in range(start, start + 500)]
            )
            assert all(not isinstance(outcome, Exception) for outcome in done)

    def submission(self, player: int | None = None) -> tuple[str, exams.Exam]:
        questions = self.rng.randrange(5, 30)
        correct = self.rng.randrange(questions + 1)
        number = self.rng.randrange(self.players) if player is None else player
        exam = exams.Exam(
            f"e{next(self.serial)}", self.rng.choice(CATEGORIES), 10 * correct, questions, correct
        )
        return f"x{number}", exam

    def floor_submission(self) -> tuple[str, exams.Exam]:
        """An exam of the floor's own players (`f<n>`): its raw writes leave the exams'
        players' boards and sums as the exams left them."""
        player_id, exam = self.submission()
        return f"f{player_id[1:]}", exam

    def floor(self, submissions: list[tuple[str, exams.Exam]]) -> Callable[[], None]:
        """The bare writes of each exam, one pipeline an exam: six ZADDs, three HSETs."""
        frame = Frame.at(self.engine, self.engine.clock.now())

        def run() -> None:
            for player_id, exam in submissions:
                pipe = self.client.pipeline(transaction=False)
                for board in boards_of(frame.periods, exam.category):
                    pipe.zadd(board.scores_key, {player_id: exam.score})
                for period in frame.periods:
                    stats = keys.player_board_stats(player_id, period.period_type, period.name)
                    sums = f"{exam.score}:1:{exam.total_questions}:{exam.correct_answers}:0"
                    pipe.hset(stats, mapping={"global": sums, exam.category: sums})
                pipe.execute()

        return run


def body(submission: tuple[str, exams.Exam], with_player: bool) -> dict:
    player_id, exam = submission
    item = {
        "exam_id": exam.exam_id,
        "category_id": exam.category,
        "score": exam.score,
        "total_questions": exam.total_questions,
        "correct_answers": exam.correct_answers,
    }
    return {"player_id": player_id, **item} if with_player else item


def rate(seconds: float, step: Callable[[], tuple[int, float]]) -> tuple[int, float]:
    """Exams counted and seconds spent while `step` repeats for about `seconds`; a step
    answers its exams and the time of its call alone (the request built beforehand, the
    answer checked after, both outside it)."""
    done, spent = 0, 0.0
    while done == 0 or spent < seconds:
        count, elapsed = step()
        done, spent = done + count, spent + elapsed
    return done, spent


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    answer = call()
    return answer, time.perf_counter() - started


def rates(bench: Bench, seconds: float, rounds: int = 5, batch: int = 500) -> dict[str, float]:
    def engine_batch() -> tuple[int, float]:
        submissions = [bench.submission() for _ in range(batch)]
        outcomes, elapsed = timed(lambda: exams.record_exams(bench.engine, submissions))
        assert all(isinstance(outcome, exams.ExamOutcome) for outcome in outcomes)
        return batch, elapsed

    def http_batch() -> tuple[int, float]:
        items = [body(bench.submission(), with_player=True) for _ in range(batch)]
        data = orjson.dumps({"exams": items})
        response, elapsed = timed(
            lambda: bench.http.post("/v1/exams:batch", headers=JSON_HEADERS, data=data)
        )
        assert response.status_code == 200
        results = orjson.loads(response.data)["results"]
        assert all(result["status"] == 201 for result in results)
        return batch, elapsed

    def http_single() -> tuple[int, float]:
        submission = bench.submission()
        data = orjson.dumps(body(submission, with_player=False))
        path = f"/v1/players/{submission[0]}/exams"
        response, elapsed = timed(lambda: bench.http.post(path, headers=JSON_HEADERS, data=data))
        assert response.status_code == 201
        return 1, elapsed

    kinds = (
        (f"engine record_exams, {batch} a call", engine_batch),
        (f"HTTP POST /v1/exams:batch, {batch} a request", http_batch),
        ("HTTP POST /v1/players/{id}/exams, one a request", http_single),
    )
    done = dict.fromkeys((label for label, _ in kinds), 0.0)
    spent = dict.fromkeys(done, 0.0)
    for _ in range(rounds):  # interleaved: a shared machine's load falls on every kind
        for label, step in kinds:
            count, elapsed = rate(seconds / rounds, step)
            done[label] += count
            spent[label] += elapsed
    found = {label: done[label] / spent[label] for label in done}
    for label, value in found.items():
        print(f"  {label}: {value:,.0f} exams/s", flush=True)
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exams", type=int, default=1000, help="exams in the cost runs")
    parser.add_argument("--players", type=int, default=5000, help="players who played today")
    parser.add_argument("--seconds", type=float, default=10.0, help="each rate's run")
    parser.add_argument(
        "--scripts", action="store_true", help="also each script's time per exam (SLOWLOG)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="split the cost runs into rounds, each its own ratio to the floor",
    )
    args = parser.parse_args(argv)
    with private_redis() as url:
        bench = Bench(url, args.players)
        exams.record_exam(bench.engine, *bench.submission())  # scripts loaded
        print(f"Redis per exam, {args.exams} exams ({args.players:,} players who played today)")
        singles = [bench.submission() for _ in range(args.exams)]
        batched = [bench.submission() for _ in range(args.exams)]
        floor_exams = [bench.floor_submission() for _ in range(args.exams)]
        bench.floor(floor_exams)()  # its players' keys exist: each write updates, as an exam's
        by_round: dict[str, list[Cost]] = {}
        size = args.exams // args.rounds
        for start in range(0, size * args.rounds, size):  # each kind in turn, round by round
            rows = (
                ("one exam a call (record_exam)", run_each(bench, singles[start:][:size], 1)),
                ("500 exams a call (record_exams)", run_each(bench, batched[start:][:size], 500)),
                ("floor: the bare writes", bench.floor(floor_exams[start:][:size])),
            )
            for label, run in rows:
                by_round.setdefault(label, []).append(measure(bench.client, run, size))
        costs = {label: mean_cost(rounds) for label, rounds in by_round.items()}
        floor = costs["floor: the bare writes"]
        for label, cost in costs.items():
            print(
                f"  {label}: commandstats {cost.commandstats_us:.1f} us"
                f" ({cost.commandstats_us / floor.commandstats_us:.2f}x the floor), main-thread"
                f" CPU {cost.cpu_us:.1f} us ({cost.cpu_us / floor.cpu_us:.2f}x),"
                f" {cost.round_trips:g} round trips, sent {cost.sent}; {commands_ran(cost)}"
            )
        if args.rounds > 1:
            for label in list(by_round)[:2]:
                ratios = [
                    cost.cpu_us / floor_cost.cpu_us
                    for cost, floor_cost in zip(
                        by_round[label], by_round["floor: the bare writes"], strict=True
                    )
                ]
                shown = ", ".join(f"{ratio:.2f}" for ratio in ratios)
                print(
                    f"  {label} / the floor, main-thread CPU by round: {shown}"
                    f" (median {statistics.median(ratios):.2f}x)"
                )
        sizes = [
            bench.client.memory_usage(keys.exam(player_id, exam.exam_id)) or 0
            for player_id, exam in singles[:100]
        ]
        print(f"  an exam's replay record: {sum(sizes) / len(sizes):,.0f} bytes (MEMORY USAGE)")
        if args.scripts:
            for label, size in (("one exam a call", 1), ("500 exams a call", 500)):
                more = [bench.submission() for _ in range(args.exams)]
                times = script_times(bench.client, run_each(bench, more, size), args.exams)
                shown = ", ".join(
                    f"{n} {us:.1f} us ({c:.2f} calls) median {median:g} us a call"
                    for n, (us, c, median) in times.items()
                )
                print(f"  scripts per exam, {label} (SLOWLOG): {shown}")
        print(f"Ingestion rates in this process, {args.seconds:g} s each in 5 interleaved rounds")
        found = rates(bench, args.seconds)
        engine_rate, batch_rate, single_rate = found.values()
        print(
            f"  HTTP batch / engine: {batch_rate / engine_rate:.2f}; "
            f"HTTP batch / HTTP single: {batch_rate / single_rate:.1f}"
        )


def run_each(
    bench: Bench, submissions: list[tuple[str, exams.Exam]], size: int
) -> Callable[[], None]:
    def run() -> None:
        for start in range(0, len(submissions), size):
            exams.record_exams(bench.engine, submissions[start : start + size])

    return run


if __name__ == "__main__":
    main()
