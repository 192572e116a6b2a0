"""Signing secrets encrypted at rest: what SQL holds in place of a `whsec_` secret.

A read of the database (a backup, a replica, an export) must not be enough to sign
webhooks as Questboard. With WEBHOOK_SECRETS_KEY set, a secret is stored as
`enc:v1:<Fernet token>`: AES-128-CBC and HMAC-SHA256 (cryptography's Fernet), so a
changed or truncated value is refused, never decrypted to something else. The first
key encrypts, every listed key decrypts (MultiFernet): to rotate, put the new key
first, keep the old one second, run `questboard webhooks encrypt-secrets`, then drop
the old key.

A value without the prefix is a plain secret (written before a key was set, or in
development, where no key is needed): it is used as it is, and the command encrypts it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from engine import db
from engine.errors import InvalidInputError
from engine.runtime import Engine

if TYPE_CHECKING:  # cryptography is imported where it is used: only with a key set
    from cryptography.fernet import Fernet, MultiFernet

PREFIX = "enc:v1:"


class SecretUnreadableError(Exception):
    """A stored secret is encrypted with a key that is not in WEBHOOK_SECRETS_KEY."""


def is_encrypted(stored: str) -> bool:
    return stored.startswith(PREFIX)


class SecretBox:
    """Seals secrets with the first key and opens them with any of `keys`."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys
        self._first: Fernet | None = None
        self._all: MultiFernet | None = None
        if keys:
            from cryptography.fernet import Fernet, MultiFernet

            fernets = [Fernet(key.encode()) for key in keys]
            self._first, self._all = fernets[0], MultiFernet(fernets)

    @property
    def encrypting(self) -> bool:
        return self._all is not None

    def seal(self, secret: str) -> str:
        """What to store for `secret`: encrypted with the first key, or plain without one."""
        if self._first is None:
            return secret
        return PREFIX + self._first.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        """The secret a stored value holds.

        Raises:
            SecretUnreadableError: it is encrypted, and no configured key opens it.
        """
        if not is_encrypted(stored):
            return stored
        if self._all is None:
            raise SecretUnreadableError(
                "the signing secret is encrypted and WEBHOOK_SECRETS_KEY is not set"
            )
        from cryptography.fernet import InvalidToken

        try:
            return self._all.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SecretUnreadableError(
                "the signing secret is encrypted with a key that is not in WEBHOOK_SECRETS_KEY"
            ) from None

    def is_current(self, stored: str) -> bool:
        """True when `stored` is encrypted with the first key (nothing to re-encrypt)."""
        if self._first is None or not is_encrypted(stored):
            return False
        from cryptography.fernet import InvalidToken

        try:
            self._first.decrypt(stored[len(PREFIX) :].encode())
        except InvalidToken:
            return False
        return True


def box_of(engine: Engine) -> SecretBox:
    """The engine's box, built once per engine and set of keys."""
    box = engine.memo.get("webhook_secret_box")
    if box is None or box.keys != engine.webhook_secrets_keys:
        box = engine.memo["webhook_secret_box"] = SecretBox(engine.webhook_secrets_keys)
    return box


@dataclass
class EncryptReport:
    """Secrets (current and previous ones) by what `encrypt_secrets` did with them."""

    encrypted: int = 0  # plain, now encrypted
    reencrypted: int = 0  # encrypted with another configured key, now with the first
    current: int = 0  # already encrypted with the first key: unchanged
    unreadable: list[str] = field(default_factory=list)  # subscriptions: key not configured


def encrypt_secrets(engine: Engine) -> EncryptReport:
    """Encrypt every stored secret with the first key of WEBHOOK_SECRETS_KEY.

    Plain secrets are encrypted; secrets encrypted with another configured key are
    re-encrypted (after a key rotation); those already on the first key are left as
    they are, so a second run changes nothing. A row changed meanwhile (a rotation)
    keeps its new values: each update names the values it read.

    Raises:
        InvalidInputError: WEBHOOK_SECRETS_KEY is not set.
    """
    box, table = box_of(engine), db.webhook_subscriptions
    if not box.encrypting:
        raise InvalidInputError("WEBHOOK_SECRETS_KEY is not set: there is no key to encrypt with.")
    report = EncryptReport()
    with engine.sql.connect() as conn:
        rows = conn.execute(
            select(table.c.id, table.c.secret, table.c.previous_secret).order_by(table.c.id)
        ).all()
    for row in rows:
        stored = [value for value in (row.secret, row.previous_secret) if value is not None]
        stale = [value for value in stored if not box.is_current(value)]
        try:
            sealed = {value: box.seal(box.open(value)) for value in stale}
        except SecretUnreadableError:
            report.unreadable.append(row.id)
            continue
        report.current += len(stored) - len(stale)
        if not stale:
            continue
        same_previous = (
            table.c.previous_secret.is_(None)
            if row.previous_secret is None
            else table.c.previous_secret == row.previous_secret
        )
        with engine.sql.begin() as conn:
            changed = conn.execute(
                update(table)
                .where(table.c.id == row.id, table.c.secret == row.secret, same_previous)
                .values(
                    secret=sealed.get(row.secret, row.secret),
                    previous_secret=sealed.get(row.previous_secret, row.previous_secret),
                )
            ).rowcount
        if changed:
            again = sum(is_encrypted(value) for value in stale)
            report.reencrypted += again
            report.encrypted += len(stale) - again
    return report
