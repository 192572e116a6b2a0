"""Alerts: a structured log line, and a POST to ALERT_WEBHOOK_URL when one is set.

The webhook is called from a background thread with a timeout, so a slow or failing
receiver never slows or breaks the request or job that raised the alert. A process about
to end waits for the POSTs still on their way (`wait_for_webhooks`): RQ's work horse ends
with os._exit as soon as its job returns, and the `questboard` command with its command,
either taking the daemon threads, and the alerts, with it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from datetime import datetime
from typing import Any

log = logging.getLogger("questboard.alerts")

WEBHOOK_TIMEOUT_SECONDS = 3.0

_sending: set[threading.Thread] = set()  # the POSTs on their way
_sending_lock = threading.Lock()


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
        thread = threading.Thread(target=_send, args=(webhook_url, payload), daemon=True)
        with _sending_lock:
            _sending.add(thread)
        thread.start()
    return payload


def wait_for_webhooks(timeout: float = WEBHOOK_TIMEOUT_SECONDS + 1) -> None:
    """Wait, `timeout` seconds at most in all, for the alert POSTs still on their way."""
    deadline = time.monotonic() + timeout
    with _sending_lock:
        sending = list(_sending)
    for thread in sending:
        thread.join(max(0.0, deadline - time.monotonic()))


def _send(url: str, payload: dict[str, Any]) -> None:
    try:
        _post(url, payload)
    finally:
        with _sending_lock:
            _sending.discard(threading.current_thread())


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
