"""Times and logged alerts, as the scheduled-job tests read them.

tests/test_jobs.py and tests/test_jobs_watchdog.py state due times in UTC and check
the alerts a run logs, each one (a duplicate is seen, not hidden by any()).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def alerts_logged(caplog, kind: str) -> list[dict]:
    """Every alert of `kind` logged, in order: a duplicate is seen, not hidden by any()."""
    logged = [
        json.loads(record.getMessage())
        for record in caplog.records
        if record.name == "questboard.alerts"
    ]
    return [payload for payload in logged if payload.get("alert") == kind]
