"""The job dashboard (/admin/rq): no cross-site state changes, no framing, a strict CSP
under which its own pages still load every script and style they use."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from html.parser import HTMLParser

import pytest
from rq import Queue

from jobs import QUEUE
from tests.conftest import error_of, real_redis_url
from web import create_app

BASIC = {"Authorization": "Basic " + base64.b64encode(b"admin:admin-test-key").decode()}
BEARER = {"Authorization": "Bearer admin-test-key"}
EMPTY_QUEUED = f"/admin/rq/queue/{QUEUE}/queued/empty"


@pytest.fixture
def dashboard(settings, real_redis, clock):
    app = create_app(
        dataclasses.replace(settings, rq_redis_url=real_redis_url()),
        redis_client=real_redis,
        clock=clock,
    )
    return app.test_client()


@pytest.fixture
def queue(real_redis):
    """The job queue holding one waiting job, which an emptying request would remove."""
    queue = Queue(QUEUE, connection=real_redis)
    queue.enqueue("builtins.len", "x")
    assert queue.count == 1
    return queue


@pytest.mark.parametrize(
    ("browser_headers", "details"),
    [
        ({"Origin": "https://evil.example"}, {"origin": "https://evil.example"}),
        ({"Origin": "null"}, {"origin": "null"}),
        (
            {"Origin": "http://localhost.evil.example"},
            {"origin": "http://localhost.evil.example"},
        ),
        ({"Referer": "https://evil.example/page"}, {"referer_host": "evil.example"}),
        ({}, {}),  # neither: a browser always sends one of them on a same-site POST
    ],
)
def test_a_state_change_with_basic_auth_from_another_site_is_refused(
    dashboard, queue, browser_headers, details
):
    response = dashboard.post(EMPTY_QUEUED, headers=BASIC | browser_headers)
    assert response.status_code == 403
    assert error_of(response) == {
        "code": "forbidden",
        "message": (
            "A change through the job dashboard must come from the dashboard's own pages "
            "(Origin or Referer of this host) or carry the admin key as a Bearer token."
        ),
        "details": {"origin": None, "referer_host": None} | details,
    }
    assert queue.count == 1


def test_a_requeue_by_get_from_another_site_is_refused(dashboard, queue):
    """rq-dashboard also requeues a queue's failed jobs on GET, so a link or an image
    on another site could trigger it; it is a state change like any POST."""
    response = dashboard.get(
        f"/admin/rq/requeue/{QUEUE}", headers=BASIC | {"Referer": "https://evil.example/"}
    )
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


@pytest.mark.parametrize(
    "browser_headers",
    [
        {"Origin": "http://localhost"},
        {"Origin": "https://LOCALHOST"},
        {"Referer": "http://localhost/admin/rq/0/view/jobs"},
    ],
)
def test_a_state_change_from_the_dashboards_own_pages_is_done(dashboard, queue, browser_headers):
    response = dashboard.post(EMPTY_QUEUED, headers=BASIC | browser_headers)
    assert response.status_code == 200
    assert response.get_json() == {"status": "OK"}
    assert queue.count == 0


def test_a_state_change_with_the_bearer_key_needs_no_origin(dashboard, queue):
    """A browser never adds a Bearer header by itself, so it proves a deliberate client."""
    response = dashboard.post(EMPTY_QUEUED, headers=BEARER)
    assert response.status_code == 200
    assert queue.count == 0


def test_reads_from_anywhere_still_work_with_basic_auth(dashboard):
    page = dashboard.get("/admin/rq/", headers=BASIC | {"Referer": "https://wiki.example/"})
    assert page.status_code == 200


class _Assets(HTMLParser):
    """The scripts and stylesheets a page loads, and the text of its inline scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.sources: list[str] = []
        self.inline: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            if attributes.get("src"):
                self.sources.append(attributes["src"])
            elif attributes.get("type", "text/javascript") == "text/javascript":
                self._in_inline_script = True
                self.inline.append("")
        elif tag == "link" and attributes.get("rel") in ("stylesheet", "shortcut icon"):
            self.sources.append(attributes["href"])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_inline_script = False

    def handle_data(self, data):
        if self._in_inline_script:
            self.inline[-1] += data


def _policy(response) -> dict[str, list[str]]:
    directives = [d.split() for d in response.headers["Content-Security-Policy"].split(";")]
    return {d[0]: d[1:] for d in directives if d}


@pytest.mark.parametrize(
    "page",
    [
        "/admin/rq/",
        "/admin/rq/0/view/workers",
        f"/admin/rq/0/view/jobs/{QUEUE}/failed/8/asc/1",
        "/admin/rq/0/view/job/{job_id}",
    ],
)
def test_dashboard_pages_load_all_their_scripts_and_styles_under_the_csp(dashboard, queue, page):
    page = page.format(job_id=queue.job_ids[0])
    response = dashboard.get(page, headers=BASIC)
    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    policy = _policy(response)
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    # Scripts: files from this host, the page's own inline script by its hash, and the
    # eval that underscore's templates need; never any inline script an attacker adds.
    assets = _Assets()
    assets.feed(response.get_data(as_text=True))
    assert len(assets.inline) == 1
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"
        for text in assets.inline
    ]
    assert policy["script-src"] == ["'self'", "'unsafe-eval'", *hashes]
    assert len(assets.sources) == 7
    for source in assets.sources:
        assert source.startswith("/"), source  # same origin: allowed by 'self'
        if source.startswith("/admin/rq/"):
            asset = dashboard.get(source, headers=BASIC)
            assert asset.status_code == 200, source
            assert asset.headers["X-Frame-Options"] == "DENY"


def test_refusals_are_not_framed_either(dashboard):
    response = dashboard.get("/admin/rq/")
    assert response.status_code == 401
    assert response.headers["X-Frame-Options"] == "DENY"
    assert _policy(response)["frame-ancestors"] == ["'none'"]
