"""GET /metrics (Prometheus), request metrics, and rq-dashboard at /admin/rq.

Metrics are multi-process safe under gunicorn: with PROMETHEUS_MULTIPROC_DIR set
(`make run` sets it), every process writes its samples there and /metrics merges
them; gunicorn.conf.py marks dead workers. The persist lag is measured at scrape time.

rq-dashboard has no authentication of its own; it is mounted behind the admin key,
as a Bearer token or as the password of HTTP Basic (so a browser can open it).
"""

from __future__ import annotations

import base64
import os
import time

import rq_dashboard
from flask import Flask, Request, Response, current_app, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

from engine import persistence
from web.errors import ApiError
from web.extensions import get_engine

REQUESTS = Counter(
    "questboard_http_requests_total", "HTTP requests by route and status.", ["route", "status"]
)
LATENCY = Histogram(
    "questboard_http_request_seconds",
    "HTTP request latency by route.",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
DASHBOARD_PREFIX = "/admin/rq"


class PersistLag:
    """Age of the oldest ledger entry not yet in SQL, measured when scraped."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self):
        gauge = GaugeMetricFamily(
            "questboard_persist_lag_seconds",
            "Age of the oldest ledger entry not yet persisted to SQL (0: none waiting).",
        )
        with self.app.app_context():
            lag = persistence.lag_ms(get_engine())
        gauge.add_metric([], (lag or 0) / 1000)
        yield gauge


def metrics() -> Response:
    """The registry in the format the scraper asks for in `Accept`.

    prometheus_client's own negotiation picks the encoder and its full Content-Type
    (text 0.0.4 when nothing is asked for, OpenMetrics when it is). The header is sent as
    `content_type`, not `mimetype`: it already carries its charset, and Werkzeug appends
    one to a mimetype, which would send it twice.
    """
    registry = current_app.extensions["questboard.metrics_registry"]
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(registry), content_type=content_type, headers={"Vary": "Accept"})


def start_timer(req: Request) -> None:
    req.environ["questboard.started"] = time.perf_counter()


_counters: dict[tuple[str, int], Counter] = {}  # labelled children, looked up once each
_timers: dict[str, Histogram] = {}


def record_request(response):
    req = request._get_current_object()
    rule = req.url_rule.rule if req.url_rule else "unmatched"
    if rule != "/metrics":
        status = response.status_code
        counter = _counters.get((rule, status))
        if counter is None:
            counter = _counters[(rule, status)] = REQUESTS.labels(rule, str(status))
        counter.inc()
        started = req.environ.get("questboard.started")
        if started is not None:
            timer = _timers.get(rule)
            if timer is None:
                timer = _timers[rule] = LATENCY.labels(rule)
            timer.observe(time.perf_counter() - started)
    return response


def protect_dashboard(req: Request) -> None:
    if not req.path.startswith(DASHBOARD_PREFIX):
        return
    header = req.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    secret = credentials.strip()
    if scheme.lower() == "basic":
        try:
            secret = base64.b64decode(secret).decode().partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            secret = ""
    role = current_app.extensions["questboard.keyring"].role_for(secret) if secret else None
    if role != "admin":
        raise ApiError(
            401 if role is None else 403,
            "unauthorized" if role is None else "forbidden",
            "The job dashboard needs the admin key (Bearer, or the Basic password).",
            headers={"WWW-Authenticate": 'Basic realm="questboard admin"'},
        )


def init_app(app: Flask, queue_redis_url: str) -> None:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Default())
    registry.register(PersistLag(app))
    app.extensions["questboard.metrics_registry"] = registry
    app.add_url_rule("/metrics", "metrics", metrics)
    app.after_request(record_request)

    app.config["RQ_DASHBOARD_REDIS_URL"] = queue_redis_url
    rq_dashboard.web.setup_rq_connection(app)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=DASHBOARD_PREFIX)


class _Default:
    """The process's default registry, re-exported beside the per-app lag collector."""

    def collect(self):
        yield from REGISTRY.collect()
