"""A board's final top is announced (`leaderboard.period_closed`) for every period that
ended in the last 30 days, also when the webhooks job next runs more than one period
after an end: over the year end on a QA clock, or after a worker outage
(engine.webhooks.sources.close_periods)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from engine.boards import exams
from engine.boards.exams import Exam
from engine.webhooks import subscriptions
from tests.webhook_fixtures import engine as engine  # a fixture: its own name
from tests.webhook_fixtures import receiver as receiver  # a fixture: its own name
from tests.webhook_receiver import run_jobs


def closed_periods(receiver) -> Counter:
    return Counter(
        (event["data"]["board"], event["data"]["period"], event["data"]["category"])
        for event in receiver.events()
        if event["type"] == "leaderboard.period_closed"
    )


def test_weeks_ended_while_the_job_did_not_run_are_announced_too(engine, receiver, clock):
    """The subscription is made on 1 December; alice plays in 2026-W53 (the year's last,
    53rd ISO week), bob in 2027-W01; the job next runs on Tuesday 12 January, when both
    weeks have ended. Every week that ended in the last 30 days is announced once,
    alice's W53 and bob's W01 with their tops; W49 (ended 7 December) is past the 30
    days. Before, only the week before the current one (W01) was looked at: W53's top,
    and W50-W52, were never sent."""
    clock.set(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    subscriptions.create(engine, receiver.url, ["leaderboard.period_closed"], "tops")
    clock.set(datetime(2026, 12, 30, 12, 0, tzinfo=UTC))
    exams.record_exam(engine, "alice", Exam("a1", "math", 80, 10, 8))
    clock.set(datetime(2027, 1, 6, 12, 0, tzinfo=UTC))
    exams.record_exam(engine, "bob", Exam("b1", "math", 60, 10, 6))

    clock.set(datetime(2027, 1, 12, 12, 0, tzinfo=UTC))
    run_jobs(engine)
    run_jobs(engine)  # nothing is announced twice
    weeks = {"2026-W50", "2026-W51", "2026-W52", "2026-W53", "2027-W01"}
    assert closed_periods(receiver) == Counter(
        {
            **{("weekly", week, None): 1 for week in weeks},
            ("weekly", "2026-W53", "math"): 1,
            ("weekly", "2027-W01", "math"): 1,
            ("monthly", "2026-12", None): 1,
            ("monthly", "2026-12", "math"): 1,
            ("yearly", "2026", None): 1,
            ("yearly", "2026", "math"): 1,
        }
    )
    tops = {
        event["data"]["period"]: [entry["player_id"] for entry in event["data"]["top"]]
        for event in receiver.events()
        if event["type"] == "leaderboard.period_closed"
        and event["data"]["board"] == "weekly"
        and event["data"]["category"] is None
    }
    assert (tops["2026-W52"], tops["2026-W53"], tops["2027-W01"]) == ([], ["alice"], ["bob"])
