"""Checking Questboard's signed webhooks (Stripe's scheme).

A webhook carries `Questboard-Signature: t=<unix seconds>,v1=<hex>`, where each v1
is HMAC-SHA256, keyed with the endpoint's secret, of `"<t>.<raw body>"`. While a
secret is being rotated the header holds one v1 per secret; any of them may match.
The timestamp bounds how long a captured request can be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from questboard_client.errors import QuestboardError

HEADER = "Questboard-Signature"
DEFAULT_TOLERANCE = 300


class InvalidSignature(QuestboardError):
    """The webhook is not signed with the secret, is malformed, or is too old."""

    code = "invalid_signature"


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


def signature(body: bytes | str, secret: bytes | str, timestamp: int) -> str:
    """The hex v1 signature of `body` sent at `timestamp` (what the server computes)."""
    signed = str(timestamp).encode() + b"." + _as_bytes(body)
    return hmac.new(_as_bytes(secret), signed, hashlib.sha256).hexdigest()


def sign(body: bytes | str, secret: bytes | str, timestamp: int) -> str:
    """A whole header value, `t=<timestamp>,v1=<signature>`."""
    return f"t={timestamp},v1={signature(body, secret, timestamp)}"


def verify(
    body: bytes | str,
    header: str | None,
    secret: bytes | str,
    tolerance: int = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> None:
    """Raise `InvalidSignature` unless `header` signs `body` with `secret`, recently.

    Args:
        body: the request body exactly as received (not re-serialised JSON).
        header: the Questboard-Signature header's value.
        secret: the endpoint's webhook secret.
        tolerance: the most seconds between the signature's time and `now`, either way.
        now: unix seconds (default: the system clock).
    """
    timestamp, candidates = _parse(header or "")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise InvalidSignature(
            f"The signature's timestamp is more than {tolerance} seconds from now.",
            details={"timestamp": timestamp, "tolerance": tolerance},
        )
    expected = signature(body, secret, timestamp).encode()
    matched = False
    for candidate in candidates:  # compare all of them, each in constant time
        # As bytes: compare_digest refuses a str of other characters than ASCII
        # (TypeError), which a forged header may carry.
        matched |= hmac.compare_digest(expected, candidate.encode("utf-8", "backslashreplace"))
    if not matched:
        raise InvalidSignature("No v1 signature matches the body and the secret.")


def _parse(header: str) -> tuple[int, list[str]]:
    timestamps, candidates = [], []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            timestamps.append(value)
        elif name == "v1":
            candidates.append(value)
    if len(timestamps) != 1 or not re.fullmatch(r"[0-9]{1,12}", timestamps[0]):
        raise InvalidSignature(f"The {HEADER} header needs exactly one t=<unix seconds>.")
    if not candidates:
        raise InvalidSignature(f"The {HEADER} header has no v1 signature.")
    return int(timestamps[0]), candidates
