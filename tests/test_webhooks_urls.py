"""Webhooks and the URLs they go to: private addresses refused, redirects never
followed, a URL httpx cannot read failing its own delivery only, an attempt's deadline
held against a trickling receiver, and each delivery pinned to the address its name
resolved to. End to end as tests/test_webhooks.py: engine → persist → the job → a
real receiver.

The receiver is an http.server on a loopback port (tests/webhook_receiver.py); the
engine runs on the real Redis and SQLite, with WEBHOOK_ALLOW_PRIVATE on. Time is the
fixed clock: a retry is due when the test moves the clock past its backoff.
"""

from __future__ import annotations

import pytest

from engine import db
from engine.economy import grants
from engine.errors import InvalidInputError
from engine.ops import persistence
from engine.webhooks import delivery, guard, subscriptions
from tests.webhook_fixtures import deliveries
from tests.webhook_fixtures import engine as engine  # a fixture: its own name
from tests.webhook_fixtures import receiver as receiver  # a fixture: its own name
from tests.webhook_receiver import Trickler, run_jobs


def test_private_urls_are_refused_unless_allowed(engine):
    engine.webhook_allow_private = False
    for url in (
        "http://127.0.0.1:8080/hooks",
        "http://localhost/hooks",
        "http://169.254.169.254/latest/meta-data",
        "https://10.1.2.3/x",
        "http://[::1]/x",
        "http://[::ffff:192.168.0.1]/x",
        "ftp://example.com/x",
    ):
        with pytest.raises(InvalidInputError):
            subscriptions.create(engine, url, ["grant.applied"])
    assert guard.check_url("https://93.184.215.14/hooks", allow_private=False, resolve=False)
    engine.webhook_allow_private = True
    assert subscriptions.create(engine, "http://127.0.0.1:9/hooks", ["grant.applied"])


def test_a_url_that_turns_private_after_it_was_saved_is_not_called(engine, receiver, clock):
    _subscription, _ = subscriptions.create(engine, receiver.url, ["grant.applied"])
    engine.webhook_allow_private = False  # as if the name now resolved to loopback
    grants.grant(engine, "alice", {"coins": 5}, "welcome", "g1")
    report = run_jobs(engine)
    [row] = deliveries(engine)
    assert report.retrying == 1 and receiver.seen == 0
    assert "non-public address" in row.last_error


def test_a_redirect_is_not_followed(engine, clock):
    import http.server
    import threading

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(307)
            self.send_header("Location", "http://169.254.169.254/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        subscriptions.create(engine, f"http://127.0.0.1:{server.server_port}/", ["grant.applied"])
        grants.grant(engine, "alice", {"coins": 5}, "welcome", "g1")
        run_jobs(engine)
        [row] = deliveries(engine)
        assert (row.status, row.last_status) == ("pending", 307)
    finally:
        server.shutdown()
        server.server_close()


def test_a_redirect_is_not_followed_even_by_a_client_that_follows_them(engine, receiver, clock):
    """The attempt itself says follow_redirects=False: no client passed to the job can
    bounce it to where the Location points (here a receiver that would answer 200)."""
    import http.server
    import threading

    import httpx

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(307)
            self.send_header("Location", receiver.url)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        subscriptions.create(engine, f"http://127.0.0.1:{server.server_port}/", ["grant.applied"])
        grants.grant(engine, "alice", {"coins": 5}, "welcome", "g1")
        persistence.persist(engine)
        with httpx.Client(follow_redirects=True, trust_env=False) as client:
            delivery.run(engine, client=client)
        [row] = deliveries(engine)
        assert (row.status, row.last_status) == ("pending", 307)
        assert receiver.seen == 0
    finally:
        server.shutdown()
        server.server_close()


def test_a_url_httpx_cannot_read_fails_its_own_delivery_only(engine, receiver, clock):
    """With private receivers allowed the URL goes to httpx as saved; one it refuses
    (IDNA 2008 has no snowman) is that delivery's failure, and the others still go."""
    subscriptions.create(engine, "http://\u2603.example/hooks", ["grant.applied"])
    subscriptions.create(engine, receiver.url, ["grant.applied"])
    grants.grant(engine, "alice", {"coins": 5}, "welcome", "g1")
    report = run_jobs(engine)
    assert (report.delivered, report.retrying) == (1, 1)
    assert receiver.seen == 1
    [failed] = [row for row in deliveries(engine) if row.status == "pending"]
    assert failed.last_error.startswith("InvalidURL: Invalid IDNA hostname")


def test_a_url_saved_before_its_form_was_checked_fails_its_own_delivery_only(
    engine, receiver, clock
):
    """A URL of a form refused today but stored before (an unclosed bracket, a NUL)
    fails its delivery as refused; the job goes on with the others."""
    stored = ("http://[::1/hooks", "http://example.com/\x00")
    for url in stored:
        subscription, _ = subscriptions.create(engine, receiver.url, ["grant.applied"])
        with engine.sql.begin() as conn:
            conn.execute(
                db.webhook_subscriptions.update()
                .where(db.webhook_subscriptions.c.id == subscription.id)
                .values(url=url)
            )
    subscriptions.create(engine, receiver.url, ["grant.applied"])
    grants.grant(engine, "alice", {"coins": 5}, "welcome", "g1")
    report = run_jobs(engine)
    assert (report.delivered, report.retrying, receiver.seen) == (1, 2, 1)
    errors = sorted(row.last_error for row in deliveries(engine) if row.status == "pending")
    assert errors[0].startswith("The webhook URL is malformed")
    assert errors[1].startswith("The webhook URL may not hold a space, a control character")


def test_a_receiver_trickling_its_answer_cannot_stretch_an_attempt_past_its_deadline(
    engine, receiver, clock, monkeypatch
):
    """Each byte of the answer comes well within httpx's read timeout, the whole of it
    in 4 s: the attempt fails as timed out at its deadline (0.5 s here), and the other
    subscription's delivery in the same pass goes as usual."""
    monkeypatch.setattr(delivery, "ATTEMPT_SECONDS", 0.5)
    trickler = Trickler(interval=0.1)
    try:
        slow, _ = subscriptions.create(engine, trickler.url, ["grant.applied"])
        subscriptions.create(engine, receiver.url, ["grant.applied"])
        grants.grant(engine, "alice", {"coins": 5}, "welcome", "g1")
        report = run_jobs(engine)
        assert (report.delivered, report.retrying, report.passes) == (1, 1, 1)
        assert receiver.seen == 1 and trickler.seen == 1
        [cut] = [row for row in deliveries(engine) if row.subscription_id == slow.id]
        assert cut.status == "pending" and cut.last_status is None
        assert cut.last_error == (
            "AttemptTimeout: timed out after 0.5 s (the limit for a whole attempt)"
        )
        assert 500 <= cut.latency_ms < 1_500  # the answer would have taken 4 s
        assert trickler.cut.wait(2) and not trickler.finished.is_set()
    finally:
        trickler.stop()


def test_a_delivery_is_pinned_to_the_public_address_its_name_resolved_to(monkeypatch):
    """DNS rebinding: the request goes to the address checked, by address, with the
    name kept in Host and SNI; a name resolving to a private address is refused."""
    answers = {"hooks.example.com": "93.184.215.14", "inside.example.com": "10.0.0.7"}

    def resolve(host, port, *args, **kwargs):
        if host not in answers:
            raise guard.socket.gaierror("no such name")
        return [(guard.socket.AF_INET, guard.socket.SOCK_STREAM, 6, "", (answers[host], port))]

    monkeypatch.setattr(guard.socket, "getaddrinfo", resolve)
    pinned = guard.target("https://hooks.example.com:8443/q?x=1", allow_private=False)
    assert pinned == guard.Target(
        "https://93.184.215.14:8443/q?x=1",
        {"Host": "hooks.example.com:8443"},
        {"sni_hostname": "hooks.example.com"},
    )
    assert guard.target("http://hooks.example.com/q", allow_private=False).extensions == {}
    for url in ("https://inside.example.com/q", "https://nowhere.example.com/q"):
        with pytest.raises(InvalidInputError):
            guard.target(url, allow_private=False)
    assert guard.target("https://inside.example.com/q", allow_private=True).url == (
        "https://inside.example.com/q"
    )
