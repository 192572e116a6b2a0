"""Admin keys: the idempotency records of the admin writes that change SQL rather than a
player's Redis state (a webhook subscription created, its secret rotated), under the
{admin} hash tag.
"""

from __future__ import annotations

from engine.keys_shards import PREFIX

ADMIN = f"{PREFIX}:{{admin}}"


def admin_idempotency(route: str, key: str) -> str:
    """String (JSON): the recorded outcome of one admin request with an Idempotency-Key,
    or the claim of the copy carrying it out (engine.webhooks.retries); expires."""
    return f"{ADMIN}:idem:{route}/{key}"


def admin_idempotency_lease(route: str, key: str) -> str:
    """String: held (a few seconds) by the copy carrying out a claimed request; a copy
    that finds the claim without its lease takes the request over."""
    return f"{ADMIN}:idem-lease:{route}/{key}"
