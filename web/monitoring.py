"""`GET /metrics` → the Prometheus samples of every process (engine.metrics, and the
request metrics recorded here) and the persist lag, measured at scrape time by
engine.ops.persistence.lag_ms; rq-dashboard is mounted at /admin/rq/ behind the admin key.

Metrics are multi-process safe under the Procfile's granian: with
PROMETHEUS_MULTIPROC_DIR set (`make run` sets it), every process writes its samples
there and /metrics merges them. granian has no hook in its main process for a worker
that exits, and the RQ worker forks a process for every job, so the files of processes
gone are folded into one archive per metric type (engine.metrics_folder) when an app
starts and at each scrape, under the folder's lock, before the scrape reads it: the
totals keep what those processes counted, and a scrape reads a few files, not one per
process that ever ran. The persist lag is measured at scrape time.

rq-dashboard has no authentication of its own; it is mounted behind the admin key,
as a Bearer token or as the password of HTTP Basic (so a browser can open it).
"""

from __future__ import annotations

import base64
import glob
import hashlib
import os
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import redis
import rq_dashboard
from flask import Flask, Request, Response, current_app, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

from engine import metrics_folder
from engine.ops import persistence
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
    """Age of the oldest ledger entry not yet in SQL, measured when scraped; left out of
    a scrape while Redis cannot be reached (`absent()` of it tells), not failing it."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self):
        gauge = GaugeMetricFamily(
            "questboard_persist_lag_seconds",
            "Age of the oldest ledger entry not yet persisted to SQL (0: none waiting).",
        )
        try:
            with self.app.app_context():
                lag = persistence.lag_ms(get_engine())
        except redis.exceptions.RedisError:
            return  # Redis away: the scrape still serves every other sample, the 503s too
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


STARTED = "questboard.started"  # the environ's entry: when the request started


def start_timer(req: Request) -> None:
    req.environ[STARTED] = time.perf_counter()


_children: dict[tuple[str, int], tuple[Counter, Histogram]] = {}  # looked up once each


def record_request(response: Response, req: Request) -> None:
    """Count the request by route and status, and time it (not /metrics itself)."""
    rule = req.url_rule.rule if req.url_rule else "unmatched"
    if rule == "/metrics":
        return
    record(rule, response.status_code, req.environ.get(STARTED))


def record(rule: str, status: int, started: float | None) -> None:
    """Count a request of `rule` answered `status`, timed from `started` (perf_counter)
    when given: what `record_request` records, also for web.hot_routes' answers."""
    children = _children.get((rule, status))
    if children is None:
        children = _children[(rule, status)] = (
            REQUESTS.labels(rule, str(status)),
            LATENCY.labels(rule),
        )
    children[0].inc()
    if started is not None:
        children[1].observe(time.perf_counter() - started)


def after_each_request(response: Response) -> Response:
    """The one hook after every view: the dashboard's headers, then the request's metrics."""
    req = request._get_current_object()
    if req.path.startswith(DASHBOARD_PREFIX):
        secure_dashboard_response(response)
    record_request(response, req)
    return response


def protect_dashboard(req: Request) -> None:
    """Admin key for every dashboard request; a same-site origin for every change.

    A browser that once opened the dashboard with Basic auth attaches those credentials
    to any request to this host, including a form or an image on another site. So a
    request that changes state (any method but GET, HEAD and OPTIONS, and the
    dashboard's requeue-all, which it also serves on GET) with Basic credentials must
    show, in `Origin` or else `Referer`, that it comes from this host's own pages.
    A Bearer header proves a deliberate client: browsers never add one by themselves.
    """
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
    if scheme.lower() != "bearer" and _changes_state(req) and not _from_this_host(req):
        raise ApiError(
            403,
            "forbidden",
            "A change through the job dashboard must come from the dashboard's own pages "
            "(Origin or Referer of this host) or carry the admin key as a Bearer token.",
            {
                "origin": req.headers.get("Origin"),
                "referer_host": urlsplit(req.headers.get("Referer", "")).netloc or None,
            },
        )


def check_dashboard_redis(req: Request) -> None:
    """A dashboard page with its Redis unreachable is the service's 503, not a page.

    rq-dashboard's queues page catches the connection error itself and answers 200 with
    an HTML "Connection Error"; a PING first makes every dashboard page (its static
    files aside) fail the same way, through web.errors: 503 service_unavailable.
    """
    if req.path.startswith(DASHBOARD_PREFIX) and req.endpoint != "rq_dashboard.static":
        current_app.redis_conn.ping()


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# rq-dashboard endpoints that change state even on GET.
STATE_CHANGING_READS = frozenset({"rq_dashboard.requeue_all"})


def _changes_state(req: Request) -> bool:
    return req.method not in SAFE_METHODS or req.endpoint in STATE_CHANGING_READS


def _from_this_host(req: Request) -> bool:
    """Whether `Origin` (or, without it, `Referer`) names the host this request went to.

    The host is compared with the request's own `Host` (host and port); the scheme is
    not, so a TLS-terminating proxy in front does not refuse the dashboard's own pages.
    An opaque origin (`null`, from sandboxed frames and some redirects) is never ours.
    """
    source = req.headers.get("Origin") or req.headers.get("Referer")
    if not source:
        return False
    return urlsplit(source).netloc.lower() == req.host.lower()


# The dashboard's pages are rendered by rq-dashboard: its scripts and styles come from
# its own static route, plus one inline script per page whose text varies with the page
# (queue names, job ids), so that script is allowed by a hash computed on each response.
# underscore's templates compile with `new Function`, hence 'unsafe-eval'; inline
# `style` attributes in its templates need 'unsafe-inline' for styles (never for scripts).
DASHBOARD_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-eval'{hashes}; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_INLINE_SCRIPT = re.compile(
    r"<script\b(?P<attributes>[^>]*)>(?P<text>.*?)</script\s*>", re.IGNORECASE | re.DOTALL
)
_SCRIPT_TYPE = re.compile(r"""\btype\s*=\s*["']?([^"'\s>]*)""", re.IGNORECASE)
_SCRIPT_SOURCE = re.compile(r"\bsrc\s*=", re.IGNORECASE)
_JAVASCRIPT_TYPES = frozenset({"", "text/javascript", "application/javascript", "module"})


def _inline_script_hashes(html: str) -> str:
    """The CSP hash source of each inline script the page runs (not of its templates)."""
    hashes = []
    for match in _INLINE_SCRIPT.finditer(html):
        attributes = match["attributes"]
        script_type = _SCRIPT_TYPE.search(attributes)
        if _SCRIPT_SOURCE.search(attributes) or (
            script_type is not None and script_type[1].lower() not in _JAVASCRIPT_TYPES
        ):
            continue  # a file ('self' covers it) or a template the browser never runs
        digest = hashlib.sha256(match["text"].encode()).digest()
        hashes.append(f" 'sha256-{base64.b64encode(digest).decode()}'")
    return "".join(hashes)


def secure_dashboard_response(response: Response) -> Response:
    """No framing (clickjacking), no sniffing, and a CSP on every dashboard response."""
    hashes = ""
    if response.mimetype == "text/html" and not response.direct_passthrough:
        hashes = _inline_script_hashes(response.get_data(as_text=True))
    response.headers["Content-Security-Policy"] = DASHBOARD_CSP.format(hashes=hashes)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


class FoldingCollector(multiprocess.MultiProcessCollector):
    """prometheus_client's multi-process collector, folding the processes gone first.

    The fold and the read hold the folder's lock together, so a scrape never sees a
    dead process's counts twice (in its file and in an archive) or not at all.
    """

    def collect(self):
        with metrics_folder.folder_lock(self._path):
            metrics_folder.fold_locked(Path(self._path))
            return self.merge(glob.glob(os.path.join(self._path, "*.db")), accumulate=True)


def init_app(app: Flask, queue_redis_url: str) -> None:
    registry = CollectorRegistry()
    if directory := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_folder.fold_dead_processes(directory)
        FoldingCollector(registry)
    else:
        registry.register(_Default())
    registry.register(PersistLag(app))
    app.extensions["questboard.metrics_registry"] = registry
    app.add_url_rule("/metrics", "metrics", metrics)
    app.after_request(after_each_request)

    app.config["RQ_DASHBOARD_REDIS_URL"] = queue_redis_url
    rq_dashboard.web.setup_rq_connection(app)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=DASHBOARD_PREFIX)


class _Default:
    """The process's default registry, re-exported beside the per-app lag collector."""

    def collect(self):
        yield from REGISTRY.collect()
