"""SIGHUP (a terminal closing, `kill -HUP` from a process manager) does not end the
`worker` or the `scheduler`: each says it ignores it and keeps working; SIGTERM then
stops it with exit code 0. To `make run`'s launcher it is a stop, as SIGTERM is
(README, The processes)."""

from __future__ import annotations

import signal

import pytest
from rq import Queue

from bench.server import free_port
from jobs import QUEUE
from jobs import scheduler as scheduler_module
from jobs.scheduler import PREFIX
from tests.conftest import real_redis_url
from tests.long_running import Running
from tests.test_ops_edges import make_run_serving
from tests.test_run_command import pid_alive, wait_for


def test_the_worker_ignores_sighup_and_keeps_running_jobs(real_redis, tmp_path):
    worker = Running("jobs.worker", {"REDIS_URL": real_redis_url()})
    try:
        worker.wait_for_line("Listening on questboard")

        worker.process.send_signal(signal.SIGHUP)
        worker.wait_for_line("SIGHUP ignored")

        ran = tmp_path / "ran"
        Queue(QUEUE, connection=real_redis).enqueue("tests.long_running.touch", str(ran))
        assert wait_for(lambda: ran.exists() or worker.process.poll() is not None)
        assert worker.process.poll() is None
    finally:
        code = worker.stop()
    assert code == 0, worker.log()
    assert ran.exists()


def test_the_scheduler_ignores_sighup_and_keeps_ticking(real_redis):
    scheduler = Running("jobs.scheduler", {"REDIS_URL": real_redis_url()})
    try:
        scheduler.wait_for_line("registered questboard-persist")

        scheduler.process.send_signal(signal.SIGHUP)
        scheduler.wait_for_line("SIGHUP ignored")

        # A tick after the signal: it finds a registration gone and makes it again.
        real_redis.zrem("rq:scheduler:scheduled_jobs", f"{PREFIX}persist")
        scheduler.wait_for_line("registrations missing")
        assert scheduler.process.poll() is None
    finally:
        code = scheduler.stop()
    assert code == 0, scheduler.log()


def test_a_hangup_stops_make_run_in_order_as_sigterm_does(tmp_path):
    """A closing terminal sends SIGHUP to the launcher: the services are stopped, then
    the embedded Redis, and the run ends with exit code 0 (killed by the signal before,
    129, its services and Redis stopped at once by their parent-death signal)."""
    port = free_port()
    with make_run_serving(tmp_path, f"http://127.0.0.1:{port}", PORT=str(port)) as run:
        redis_pid = int((tmp_path / "var" / "redis.pid").read_text())
        run.launcher.send_signal(signal.SIGHUP)
        run.launcher.wait(timeout=60)
    assert not pid_alive(redis_pid)


def test_a_hangup_before_the_schedulers_loop_is_logged_as_ignored_too(monkeypatch):
    """The scheduler logs `registered ...` before its loop installs its handlers: a
    SIGHUP in between was ignored without the line that says so. Its handler is the
    logging one from the start of main()."""
    seen = []

    def build_checking_the_handler(connection):
        seen.append(signal.getsignal(signal.SIGHUP))
        raise RuntimeError("stop here")

    monkeypatch.setenv("REDIS_URL", real_redis_url())
    monkeypatch.setattr(scheduler_module, "build", build_checking_the_handler)
    before = signal.getsignal(signal.SIGHUP)
    try:
        with pytest.raises(RuntimeError, match="stop here"):
            scheduler_module.main()
    finally:
        signal.signal(signal.SIGHUP, before)
    assert seen == [scheduler_module.hangup_ignored]
