"""Alerts: a structured log line, and a POST to ALERT_WEBHOOK_URL when one is set.

The webhook is called from a background thread with a timeout, so a slow or failing
receiver never slows or breaks the request or job that raised the alert.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from datetime import datetime
from typing import Any

log = logging.getLogger("questboard.alerts")

WEBHOOK_TIMEOUT_SECONDS = 3.0


def raise_alert(
    kind: str,
    message: str,
    details: dict[str, Any],
    at: datetime,
    webhook_url: str | None = None,
) -> dict[str, Any]:
    payload = {"alert": kind, "message": message, "details": details, "at": at.isoformat()}
    log.warning(json.dumps(payload, sort_keys=True, default=str))
    if webhook_url:
        threading.Thread(target=_post, args=(webhook_url, payload), daemon=True).start()
    return payload


def _post(url: str, payload: dict[str, Any]) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, default=str).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read()
    except OSError as error:  # includes URLError, HTTPError and timeouts
        log.error(json.dumps({"alert_webhook_failed": url, "error": str(error)}))
