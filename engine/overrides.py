"""Settings kept durably in SQL (`settings`): admin overrides and job markers.

Redis holds the live value; this copy lets `rebuild` restore it. Without a database
(an engine built without DATABASE_URL) only Redis is written.
"""

from __future__ import annotations

from engine import db
from engine.clock import to_ms
from engine.runtime import Engine


def put(engine: Engine, name: str, value: str) -> None:
    if not engine.database_url:
        return
    with engine.sql.begin() as conn:
        db.upsert(
            conn,
            db.settings,
            [{"name": name, "value": value, "updated_ms": to_ms(engine.clock.now())}],
            update=["value", "updated_ms"],
        )
