"""/metrics and the job dashboard."""

from __future__ import annotations

import base64

from engine.economy import grants


def test_metrics_expose_requests_leaderboards_jobs_security_and_lag(
    app, client, server_headers, clock
):
    client.get("/v1/catalog", headers=server_headers)
    client.get("/v1/leaderboards/weekly", headers=server_headers)
    client.post(
        "/v1/players/p/exams",
        headers=server_headers,
        json={
            "exam_id": "x",
            "category_id": "m",
            "score": 1,
            "total_questions": 1,
            "correct_answers": 2,
        },
    )
    engine = app.extensions["questboard.engine"]
    grants.grant(engine, "alice", {"coins": 1}, "x", "g")
    clock.advance(seconds=30)

    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert 'questboard_http_requests_total{route="/v1/catalog",status="200"}' in text
    assert "questboard_http_request_seconds_bucket" in text
    assert "questboard_leaderboard_read_seconds" in text
    assert 'questboard_leaderboard_snapshot_reads_total{result="miss"}' in text
    assert 'questboard_security_violations_total{rule="impossible_amount"}' in text
    assert "questboard_persist_lag_seconds 30.0" in text
    assert "questboard_job_seconds" in text


def test_the_dashboard_needs_the_admin_key(settings, real_redis, clock):
    import dataclasses

    from tests.conftest import real_redis_url
    from web import create_app

    app = create_app(
        dataclasses.replace(settings, rq_redis_url=real_redis_url()),
        redis_client=real_redis,
        clock=clock,
    )
    client = app.test_client()
    anonymous = client.get("/admin/rq/")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
    server = client.get("/admin/rq/", headers={"Authorization": "Bearer server-test-key"})
    assert server.status_code == 403
    basic = base64.b64encode(b"admin:admin-test-key").decode()
    page = client.get("/admin/rq/", headers={"Authorization": f"Basic {basic}"})
    assert page.status_code == 200
    assert b"RQ" in page.get_data()
    bearer = client.get("/admin/rq/", headers={"Authorization": "Bearer admin-test-key"})
    assert bearer.status_code == 200


def test_metrics_send_one_content_type_with_one_charset(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers.getlist("Content-Type") == ["text/plain; version=0.0.4; charset=utf-8"]


def test_metrics_speak_openmetrics_to_a_scraper_that_asks_for_it(client):
    response = client.get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert response.status_code == 200
    assert response.headers.getlist("Content-Type") == [
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
    ]
    assert response.headers["Vary"] == "Accept"
    assert response.get_data(as_text=True).endswith("# EOF\n")


def _sample(client, name: str) -> float:
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def test_a_crashed_job_run_is_listed_failed_and_counted_as_a_failure(
    app, client, clock, admin_headers
):
    import pytest

    from engine.ops import jobruns
    from engine.ops.job_catalog import SPECS

    class Crash(BaseException):
        pass

    def crash(engine, lease=None):
        raise Crash

    failures = 'questboard_job_failures_total{job="reconcile"}'
    before = _sample(client, failures)
    with pytest.raises(Crash):
        jobruns.run(app.extensions["questboard.engine"], SPECS["reconcile"], crash)
    clock.advance(seconds=10)  # no heartbeat since: its lock expired
    jobs = client.get("/v1/admin/jobs", headers=admin_headers).get_json()["jobs"]
    [reconcile] = [job for job in jobs if job["name"] == "reconcile"]
    assert (reconcile["status"], reconcile["last_run"]["error"]) == ("failed", jobruns.CRASHED)
    assert _sample(client, failures) == before + 1
