"""Bearer-key authentication for every /v1 route.

`API_KEYS` holds `role:secret` pairs; `server` keys are for game servers, `admin`
keys also open /v1/admin. Presented keys are hashed and compared with every
configured key's hash in constant time, so timing reveals nothing about the keys.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, Request, current_app, g

from config import ApiKey
from web.errors import ApiError

PROTECTED_PREFIX = "/v1/"
ADMIN_PREFIX = "/v1/admin/"


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class KeyRing:
    def __init__(self, keys: tuple[ApiKey, ...]) -> None:
        self._keys = [(_digest(key.secret), key.role) for key in keys]

    def role_for(self, secret: str) -> str | None:
        presented = _digest(secret)
        role = None
        for digest, key_role in self._keys:  # no early exit: same work for every key
            if hmac.compare_digest(presented, digest) and role != "admin":
                role = key_role
        return role


def role_of(keyring: KeyRing, path: str, authorization: str) -> str:
    """The role of the key in `authorization` (the header's value) for a /v1 `path`.

    Raises:
        ApiError: 401 without a valid Bearer key, 403 for an admin path without the
            admin role.
    """
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    role = None
    if secret and scheme.lower() == "bearer":
        role = keyring.role_for(secret)
    if role is None:
        raise ApiError(401, "unauthorized", "A valid API key is required (Authorization: Bearer).")
    if path.startswith(ADMIN_PREFIX) and role != "admin":
        raise ApiError(403, "forbidden", "This route needs an admin key.")
    return role


def keyring_of(app: Flask) -> KeyRing:
    return app.extensions["questboard.keyring"]


def authenticate(req: Request) -> None:
    path = req.path
    if not path.startswith(PROTECTED_PREFIX):
        return
    # The environ's own entry: what req.headers.get("Authorization") reads, in one step.
    authorization = req.environ.get("HTTP_AUTHORIZATION", "")
    g.api_role = role_of(keyring_of(current_app), path, authorization)


def init_app(app: Flask, keys: tuple[ApiKey, ...]) -> None:
    app.extensions["questboard.keyring"] = KeyRing(keys)
