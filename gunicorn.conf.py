"""gunicorn settings the Procfile's `web` uses: metrics of dead workers are dropped, and
gunicorn's own error answers (a malformed request, a URI or headers over the limits) are
the API's JSON error body (web/worker.py)."""

import os

from prometheus_client import multiprocess

worker_class = "web.worker.JsonErrorSyncWorker"


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
