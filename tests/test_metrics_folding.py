"""The multi-process metrics folder stays bounded, and its totals exact, as processes come
and go (engine.metrics_folder, web.monitoring's scrape, jobs.tasks' runs).

Each process here is a real fork that counts and exits, as RQ's work horse does for every
job; the totals before folding are read with prometheus_client's own collector, and
must read the same after it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from engine import metrics_folder
from engine.metrics_folder import fold_dead_processes, folder_files
from jobs.tasks import fold_metrics_of_runs_gone
from web import create_app
from web.monitoring import FoldingCollector

BUCKETS = (0.1, 1.0, 10.0)
KIND = (("kind", "x"),)  # the gauges' labels


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    """A PROMETHEUS_MULTIPROC_DIR of the test's own, and metrics created from now on
    written there, one file per process and type, as in production."""
    directory = tmp_path / "metrics"
    directory.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue())
    return directory


def in_processes(works: list[Callable[[], None]]) -> list[int]:
    """Each of `works` in a forked process of its own that exits after it, all forked
    before any is waited for (a fork of this large process costs as much as its exit,
    and the exits then overlap the next forks); their pids, once all are gone. For
    works whose order does not matter: the processes run side by side."""
    pids = []
    for work in works:
        pid = os.fork()
        if pid == 0:  # the child: never back into pytest
            code = 1
            try:
                work()
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
    assert codes == [0] * len(pids)
    return pids


def in_process(work: Callable[[], None]) -> int:
    """Run `work` in a forked process that exits after it; its pid, once it is gone."""
    return in_processes([work])[0]


def scrape(directory: Path) -> dict[tuple[str, tuple], float]:
    """Every sample prometheus_client's collector reads in `directory`."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for metric in registry.collect()
        for sample in metric.samples
    }


class JobMetrics:
    """A counter and a histogram labelled by job, as engine.metrics declares them."""

    def __init__(self) -> None:
        self.runs = Counter("t_runs", "Runs.", ["job"], registry=None)
        self.seconds = Histogram("t_seconds", "Durations.", ["job"], buckets=BUCKETS, registry=None)

    def run(self, job: str, count: int, seconds: float) -> Callable[[], None]:
        def work() -> None:
            self.runs.labels(job).inc(count)
            self.seconds.labels(job).observe(seconds)

        return work


def same_totals(read: dict, expected: dict) -> bool:
    """The same samples and counts, exactly; sums of durations up to the last digits
    (floats added in another order)."""
    return read.keys() == expected.keys() and all(
        read[key] == pytest.approx(value) if key[0].endswith("_sum") else read[key] == value
        for key, value in expected.items()
    )


def runs_of(n: int) -> tuple[str, int, float]:
    """The n-th process's job, its count, and the duration it observes."""
    return ("persist", "webhooks", "cleanup")[n % 3], n % 4 + 1, (0.05, 0.5, 5.0, 50.0)[n % 4]


def expected_totals(runs: list[tuple[str, int, float]]) -> dict[tuple[str, tuple], float]:
    """What those runs add up to, computed from them: counts, and each histogram's
    cumulative buckets, sum and count."""
    totals: dict[tuple[str, tuple], float] = {}

    def add(name: str, labels: dict, amount: float) -> None:
        key = (name, tuple(sorted(labels.items())))
        totals[key] = totals.get(key, 0.0) + amount

    for job, count, seconds in runs:
        add("t_runs_total", {"job": job}, count)
        for bound in [*BUCKETS, float("inf")]:
            le = "+Inf" if bound == float("inf") else str(bound)
            add("t_seconds_bucket", {"job": job, "le": le}, 1 if seconds <= bound else 0)
        add("t_seconds_sum", {"job": job}, seconds)
        add("t_seconds_count", {"job": job}, 1)
    return totals


def test_many_processes_that_counted_and_exited_fold_into_one_file_per_type(folder):
    metrics = JobMetrics()
    runs = [runs_of(n) for n in range(60)]
    in_processes([metrics.run(*run) for run in runs])
    assert len(folder_files(folder)) == 120  # a counter and a histogram file a process
    before = scrape(folder)
    assert same_totals(before, expected_totals(runs))

    assert fold_dead_processes(folder) == 120
    assert folder_files(folder) == ["counter_archive.db", "histogram_archive.db"]
    assert same_totals(scrape(folder), before)

    more = [runs_of(n) for n in range(60, 90)]
    in_processes([metrics.run(*run) for run in more])
    assert fold_dead_processes(folder) == 60
    assert folder_files(folder) == ["counter_archive.db", "histogram_archive.db"]
    assert same_totals(scrape(folder), expected_totals(runs + more))
    assert fold_dead_processes(folder) == 0


def test_a_histograms_buckets_sum_and_count_survive_folding(folder):
    seconds = Histogram("t_latency", "Latency.", ["route"], buckets=BUCKETS, registry=None)
    observed = [0.05, 0.1, 0.7, 1.0, 3.0, 10.0, 12.0]
    in_processes([lambda value=value: seconds.labels("/v1/x").observe(value) for value in observed])
    fold_dead_processes(folder)

    samples = scrape(folder)
    route = (("route", "/v1/x"),)
    for bound, le in [(0.1, "0.1"), (1.0, "1.0"), (10.0, "10.0"), (float("inf"), "+Inf")]:
        within = sum(1 for value in observed if value <= bound)
        assert samples[("t_latency_bucket", (("le", le), *route))] == within
    assert samples[("t_latency_sum", route)] == pytest.approx(sum(observed))
    assert samples[("t_latency_count", route)] == len(observed)


def test_the_processes_still_running_are_not_folded(folder):
    metrics = JobMetrics()
    in_process(metrics.run("persist", 2, 0.5))
    metrics.runs.labels("persist").inc(5)  # this process, alive, counts too
    fold_dead_processes(folder)

    assert folder_files(folder) == [
        f"counter_{os.getpid()}.db",
        "counter_archive.db",
        "histogram_archive.db",
    ]
    assert scrape(folder)[("t_runs_total", (("job", "persist"),))] == 7
    metrics.runs.labels("persist").inc(1)  # still written where the scrape reads it
    assert scrape(folder)[("t_runs_total", (("job", "persist"),))] == 8


def test_gauges_keep_what_their_multiprocess_mode_documents(folder):
    """min, max, sum and mostrecent fold to what a scrape picked from the files; a
    live mode's values of processes gone are dropped; `all` keeps one series per pid."""
    modes = ["min", "max", "sum", "mostrecent", "livesum", "liveall", "all"]
    gauges = {
        mode: Gauge(f"t_{mode}", mode, ["kind"], multiprocess_mode=mode, registry=None)
        for mode in modes
    }
    set_values = [4.0, -2.0, 9.5, 1.0]
    pids = []
    for value in set_values:  # one after the other: the last one set is the most recent
        pids.append(
            in_process(lambda value=value: [g.labels("x").set(value) for g in gauges.values()])
        )
    before = scrape(folder)
    for pid in pids:
        mark_process_dead(pid, str(folder))  # what prometheus_client does for the dead
    reference = scrape(folder)

    fold_dead_processes(folder)
    after = scrape(folder)

    assert after == reference
    assert after[("t_min", KIND)] == min(set_values)
    assert after[("t_max", KIND)] == max(set_values)
    assert after[("t_sum", KIND)] == sum(set_values)
    assert after[("t_mostrecent", KIND)] == set_values[-1]
    assert ("t_livesum", KIND) in before and ("t_livesum", KIND) not in after
    assert not [key for key in after if key[0] == "t_liveall"]
    assert {key: value for key, value in after.items() if key[0] == "t_all"} == {
        ("t_all", (("kind", "x"), ("pid", str(pid)))): value
        for pid, value in zip(pids, set_values, strict=True)
    }
    assert sorted(name for name in folder_files(folder) if "archive" in name) == [
        "gauge_max_archive.db",
        "gauge_min_archive.db",
        "gauge_mostrecent_archive.db",
        "gauge_sum_archive.db",
    ]


def test_processes_folding_at_once_neither_lose_nor_double_a_count(folder):
    """Four processes fold the same folder at once while threads scrape it: every
    scrape reads the exact totals, and so does the folder after them."""
    metrics = JobMetrics()
    runs = [runs_of(n) for n in range(150)]
    in_processes([metrics.run(*run) for run in runs])
    expected = expected_totals(runs)
    release_read, release_write = os.pipe()
    folders = []
    for _ in range(4):
        pid = os.fork()
        if pid == 0:  # a folding process, started when the pipe closes
            code = 1
            try:
                os.close(release_write)
                os.read(release_read, 1)
                fold_dead_processes(folder)
                code = 0
            finally:
                os._exit(code)
        folders.append(pid)
    os.close(release_read)

    collector = FoldingCollector(None, path=str(folder))
    seen: list[dict] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.append(
                {
                    (s.name, tuple(sorted(s.labels.items()))): s.value
                    for metric in collector.collect()
                    for s in metric.samples
                }
            )

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    os.close(release_write)
    statuses = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in folders]
    done.set()
    for reader in readers:
        reader.join()

    assert statuses == [0, 0, 0, 0]
    assert seen
    assert all(same_totals(totals, expected) for totals in seen)
    assert folder_files(folder) == ["counter_archive.db", "histogram_archive.db"]
    assert same_totals(scrape(folder), expected)


def test_a_pid_alive_again_after_its_file_was_moved_gets_it_back_unfolded(folder):
    """A new process given a dead one's pid opens the dead one's file and counts on in
    it: a file whose pid is alive once moved aside goes back, and is not folded."""
    metrics = JobMetrics()
    reused = in_process(metrics.run("persist", 3, 0.5))
    other = in_process(metrics.run("persist", 1, 0.5))
    checks: dict[int, int] = {}

    def alive(pid: int) -> bool:  # each file: dead when looked at, alive once moved
        checks[pid] = checks.get(pid, 0) + 1
        return pid == reused and checks[pid] % 2 == 0

    before = scrape(folder)
    fold_dead_processes(folder, alive=alive)

    assert folder_files(folder) == sorted(
        [
            f"counter_{reused}.db",
            "counter_archive.db",
            f"histogram_{reused}.db",
            "histogram_archive.db",
        ]
    )
    assert f"counter_{other}.db" not in folder_files(folder)
    assert same_totals(scrape(folder), before)


def test_a_pid_whose_new_process_made_a_fresh_file_has_the_old_one_folded(folder):
    """The new process opened its name after the old file was moved: it counts in a
    fresh file of its own, and the old one is the dead process's alone, folded."""
    metrics = JobMetrics()
    reused = in_process(metrics.run("persist", 3, 0.5))
    checks: dict[int, int] = {}
    fresh = folder / f"counter_{reused}.db"

    def alive(pid: int) -> bool:
        checks[pid] = checks.get(pid, 0) + 1
        if checks[pid] == 2:  # after the counter file was moved: the new process starts
            MmapedDict(str(fresh)).close()  # as the new process opens it: empty
            return True
        return False

    fold_dead_processes(folder, alive=alive)

    assert folder_files(folder) == [fresh.name, "counter_archive.db", "histogram_archive.db"]
    assert scrape(folder)[("t_runs_total", (("job", "persist"),))] == 3


def kill_at(monkeypatch, name: str, call: int) -> Callable:
    """Make the `call`-th call of metrics_folder.`name` stop the fold, as a kill would;
    returns the original function."""
    original = getattr(metrics_folder, name)
    calls = 0

    def killed(*args):
        nonlocal calls
        calls += 1
        if calls == call:
            raise SystemExit("killed")
        return original(*args)

    monkeypatch.setattr(metrics_folder, name, killed)
    return original


@pytest.mark.parametrize(("killed_in", "call"), [("_write_archive", 2), ("_commit", 1)])
def test_a_fold_killed_midway_is_finished_or_undone_by_the_next(
    folder, monkeypatch, killed_in, call
):
    """Killed while writing the new archives, the next fold starts again from the old
    ones; killed once they are committed, the next fold puts them in place."""
    metrics = JobMetrics()
    runs = [runs_of(n) for n in range(6)]
    in_processes([metrics.run(*run) for run in runs[:3]])
    fold_dead_processes(folder)  # archives exist: the next fold rewrites them
    in_processes([metrics.run(*run) for run in runs[3:]])
    original = kill_at(monkeypatch, killed_in, call)
    with pytest.raises(SystemExit):
        fold_dead_processes(folder)
    monkeypatch.setattr(metrics_folder, killed_in, original)

    fold_dead_processes(folder)

    assert folder_files(folder) == ["counter_archive.db", "histogram_archive.db"]
    assert same_totals(scrape(folder), expected_totals(runs))
    assert not list(folder.glob("*.new")) and not list((folder / "folding").iterdir())


def test_each_job_run_folds_the_runs_gone_before_it(folder):
    metrics = JobMetrics()
    runs = [runs_of(n) for n in range(10)]
    in_processes([metrics.run(*run) for run in runs])

    fold_metrics_of_runs_gone()

    assert folder_files(folder) == ["counter_archive.db", "histogram_archive.db"]
    assert same_totals(scrape(folder), expected_totals(runs))


def test_a_scrape_of_metrics_folds_the_processes_gone_and_shows_their_totals(
    folder, settings, store, clock
):
    metrics = JobMetrics()
    client = create_app(settings, redis_client=store, clock=clock).test_client()
    runs = [runs_of(n) for n in range(30)]
    in_processes([metrics.run(*run) for run in runs])
    assert len(folder_files(folder)) == 60

    text = client.get("/metrics").get_data(as_text=True)

    assert folder_files(folder) == ["counter_archive.db", "histogram_archive.db"]
    for job in ("persist", "webhooks", "cleanup"):
        total = sum(count for name, count, _ in runs if name == job)
        assert f't_runs_total{{job="{job}"}} {float(total)}' in text
        assert f't_seconds_count{{job="{job}"}} {float(len(runs) // 3)}' in text


def test_the_service_declares_no_gauge_whose_dead_processes_would_stay():
    """A gauge in `all` mode keeps a series (and a file) per process that ever set it,
    which folding must keep: a job's process setting one would grow the folder again."""
    from prometheus_client import REGISTRY

    import engine.metrics  # noqa: F401  (the service's metrics, registered on import)
    import web.monitoring  # noqa: F401

    gauges = [c for c in REGISTRY._collector_to_names if isinstance(c, Gauge)]
    assert [g._name for g in gauges if g._multiprocess_mode == "all"] == []
