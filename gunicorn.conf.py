"""gunicorn settings, for `make bench-http`'s gunicorn servers and as the fallback to the
Procfile's granian (`gunicorn --config gunicorn.conf.py --bind ... "web:create_app()"`):
the threaded worker, recycled after a number of requests, metrics of dead workers
dropped, and gunicorn's own error answers (a malformed request, a URI or headers over
the limits) in the API's JSON error body (web/worker.py).

Why the Procfile runs granian instead (`make bench-http`, docs/benchmarks.md): its WSGI
server served 2-3x gthread's rate on every service route, with a lower p99 at half
rate. What that costs: granian recycles workers by age (`--workers-lifetime`) and
memory (`--workers-max-rss`), not after a number of requests; it has no hook for a
worker's exit, so each app drops the live metric files of dead workers when it starts
(web.monitoring.drop_dead_workers); what its HTTP layer refuses (a malformed
request, a head over 64 KiB, over 100 headers) gets its own empty-bodied 400/431, not
the JSON error body (tests/test_http_server.py); and it runs through
scripts/shared_socket_granian.py, so that its workers share one listening socket kept
by the main process, as gunicorn's workers share the arbiter's: granian 2.8 on Linux
gives each worker a socket of its own, and a worker replaced takes its socket with it.

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
