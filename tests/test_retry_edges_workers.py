"""A web worker killed twice in a row, as a request that kills its worker and is
retried at once onto the same slot would do: granian starts the first one's successor
(--respawn-failed-workers) but takes a second death within 5.5 s of that start for a
crash loop, and the whole web process exits, 1, its healthy worker with it. The README
(the Procfile's processes, a production install) says so, and that whatever runs the
web process must start it again. Over the Procfile's launcher (tests/granian_server.py)."""

from __future__ import annotations

import os
import signal

from tests.granian_server import log_until_started
from tests.test_http_server_workers import start_pid_app, worker_pids


def test_a_worker_slot_dying_again_right_after_its_respawn_stops_the_web_process():
    server, _, log = start_pid_app()
    try:
        os.kill(worker_pids(log)[2], signal.SIGKILL)
        respawned = worker_pids(log_until_started(server, 2))[2]
        os.kill(respawned, signal.SIGKILL)

        rest = server.stdout.read()
        assert server.wait(timeout=30) == 1
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stdout.close()
    assert b"Worker crash loop detected, exiting" in rest
    assert b"Stopped worker-1" in rest
