"""gunicorn settings the Procfile's `web` uses: the threaded worker, recycled after a
number of requests, metrics of dead workers dropped, and gunicorn's own error answers
(a malformed request, a URI or headers over the limits) in the API's JSON error body
(web/worker.py).

Why threads (`make bench-http`, docs/benchmarks.md): the sync worker serves one
connection at a time and closes it after each request, so every request pays a TCP
handshake and waits behind the one before it while that one waits for Redis; gthread
keeps connections alive and lets a worker's threads overlap their Redis round trips
(2-3x the sync worker's rate on the service's routes). granian's WSGI server measured
faster still (2-3x gthread on the service's routes in the two runs of 2026-11-28, with
p99 at half rate from 2 to 16 ms; an earlier run had 26-30 ms p50 on the Redis routes),
but it is not shipped yet: it has no recycling after a number of requests (only by age
or memory), no worker hook to drop a dead worker's metrics, and it answers malformed
requests itself rather than with web/worker.py's JSON error body.

Graceful restarts are gunicorn's own: SIGHUP starts new workers with the new code and
lets the old ones finish their requests; SIGTERM finishes the requests in flight
within `graceful_timeout`, then stops.
"""

import os

from prometheus_client import multiprocess

worker_class = "web.worker.JsonErrorThreadWorker"
threads = int(os.environ.get("WEB_THREADS", "4"))
keepalive = 30  # seconds a client's idle connection is kept (game servers reuse theirs)
# Recycle a worker after this many requests (plus up to the jitter, so workers do not
# all restart at once): whatever a long-lived process accumulates is given back.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10
graceful_timeout = 30


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
