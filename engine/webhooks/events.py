"""Events: what each one says, derived from the record that made it, and `record`.

An event's id is derived from its source (the ledger entry's transaction, the exam,
the security event's stream id), so persisting the same batch twice records it once.
`record` runs inside the caller's SQL transaction (the persist job's, which commits
before its outbox entries are acknowledged): the event rows and one delivery row per
subscription that asked for the event are committed with the state they describe,
or not at all. Events no enabled subscription asked for are not stored.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from engine import db
from engine.clock import from_ms

# Ledger kind -> the event its entry is (other kinds, e.g. ad rewards, are no event).
# Missions completed and levels reached have entries of their own (`from_outbox`):
# they happen whether or not they pay, and a reward cut to nothing writes no ledger.
LEDGER_EVENTS = {
    "purchase": "purchase.completed",
    "grant": "grant.applied",
    "login_bonus": "login.bonus_claimed",
    "streak_repair": "streak.repaired",
}
STREAK = re.compile(r"streak day (\d+)")
# lua/repair_streak.lua's reason: the length lost and the streak restored.
REPAIRED = re.compile(r"streak repair: (\d+) days, streak (\d+)")


@dataclass(frozen=True)
class Event:
    event_id: str
    type: str
    player_id: str | None
    created_ms: int
    data: dict[str, Any]

    def document(self) -> dict[str, Any]:
        """The JSON body a receiver gets."""
        return {
            "id": self.event_id,
            "type": self.type,
            "created_at": from_ms(self.created_ms).isoformat().replace("+00:00", "Z"),
            "player_id": self.player_id,
            "data": self.data,
        }

    def body(self) -> bytes:
        return json.dumps(self.document(), separators=(",", ":"), sort_keys=True).encode()


def event_id(*source: str) -> str:
    """A stable id from the event's source: the same source is the same event."""
    return "evt_" + hashlib.sha256("\x1f".join(source).encode()).hexdigest()[:32]


def from_ledger(rows: Iterable[dict]) -> list[Event]:
    """The events of persisted ledger rows (engine.ops.persistence's row shape)."""
    found = []
    for row in rows:
        kind = LEDGER_EVENTS.get(row["kind"])
        if kind is None:
            continue
        player, tx = row["player_id"], row["transaction_id"]
        data: dict[str, Any] = {
            "transaction_id": tx,
            "changes": json.loads(row["deltas"]),
            "balances": json.loads(row["balances_after"]),
            "reason": row["reason"],
        }
        ref = row["ref"].split("/")
        if kind == "purchase.completed" or kind == "grant.applied":
            data["reference"] = row["ref"]
        elif kind == "login.bonus_claimed":
            streak = STREAK.search(row["reason"])
            data["streak"] = int(streak.group(1)) if streak else None
            data["day"] = ref[-1]
            data["rewards_paid"] = data["changes"]
        elif kind == "streak.repaired":
            repaired = REPAIRED.search(row["reason"])
            data["lost"], data["streak"] = (
                (int(repaired.group(1)), int(repaired.group(2))) if repaired else (None, None)
            )
            data["price"] = {name: -delta for name, delta in data.pop("changes").items()}
            data["reference"] = row["ref"]
        found.append(Event(event_id(kind, player, tx), kind, player, row["at_ms"], data))
    return found


def from_outbox(entries: Iterable[dict]) -> list[Event]:
    """mission.completed and battle_pass.level_reached from their outbox entries
    (lua/include/progress.lua's record_event, engine.ops.persistence's row shape): the
    rewards actually paid, `{}` and no transaction when a cap cut them or none exists.
    The id is the mission's day or the level's season: each happens once a player."""
    found = []
    for entry in entries:
        kind, player, ref = entry["event"], entry["player_id"], entry["ref"]
        paid = json.loads(entry["paid"])
        data: dict[str, Any] = {
            "transaction_id": entry["tx"] or None,
            "changes": paid,
            "rewards_paid": paid,
            "balances": json.loads(entry["balances"]),
            "reason": entry["reason"],
        }
        parts = ref.split("/")
        if kind == "mission.completed":
            data["day"], data["mission_id"] = parts[1], "/".join(parts[2:])
        else:
            data["season_id"], data["level"] = "/".join(parts[1:-1]), int(parts[-1])
        found.append(Event(event_id(kind, player, ref), kind, player, entry["at_ms"], data))
    return found


def from_exams(attempts: Iterable[dict]) -> list[Event]:
    """exam.recorded for persisted exam attempts (their summary: boards and ranks)."""
    found = []
    for attempt in attempts:
        summary = json.loads(attempt["summary"]) if attempt.get("summary") else {}
        player, exam = attempt["player_id"], attempt["exam_id"]
        data = {"exam_id": exam, **{k: v for k, v in summary.items() if k != "player_id"}}
        found.append(
            Event(event_id("exam", player, exam), "exam.recorded", player, attempt["at_ms"], data)
        )
    return found


def from_security_events(rows: Iterable[dict]) -> list[Event]:
    """security.violation for persisted security events."""
    return [
        Event(
            event_id("violation", row["event_id"]),
            "security.violation",
            row["player_id"],
            row["at_ms"],
            {
                "security_event_id": row["event_id"],
                "rule": row["rule"],
                "details": json.loads(row["details"]),
                "action": row["action"],
                "address": row["address"],
            },
        )
        for row in rows
    ]


def entry_position(entry_id: bytes) -> tuple[int, int]:
    """A stream entry id ("<ms>-<seq>", the Redis server's clock) as a sortable pair."""
    ms, _, seq = entry_id.partition(b"-")
    return int(ms), int(seq or 0)


def in_entry_order(found: list[tuple[bytes, list[Event]]]) -> list[Event]:
    """The events of (outbox entry id, its events) pairs, in the entries' order."""
    found.sort(key=lambda pair: entry_position(pair[0]))
    return [event for _, made in found for event in made]


def wants(types: Sequence[str], event_type: str) -> bool:
    return event_type in types or "*" in types


def record(conn: Connection, events: Sequence[Event], now_ms: int) -> int:
    """Store `events` and their deliveries in `conn`'s transaction; returns deliveries.

    One SELECT of the enabled subscriptions when there are events: with none, nothing
    else is written.
    """
    if not events:
        return 0
    table = db.webhook_subscriptions
    subscriptions = [
        (sid, json.loads(types))
        for sid, types in conn.execute(
            select(table.c.id, table.c.events).where(table.c.enabled == 1).order_by(table.c.id)
        ).all()
    ]
    return record_for(conn, events, subscriptions, now_ms)


def record_for(
    conn: Connection,
    events: Sequence[Event],
    subscriptions: Sequence[tuple[str, Sequence[str]]],
    now_ms: int,
) -> int:
    """Store `events` with a delivery to each of `subscriptions` that wants them."""
    stored, deliveries = {}, []
    for event in events:
        for subscription_id, types in subscriptions:
            if wants(types, event.type):
                stored[event.event_id] = event
                deliveries.append(
                    {
                        "subscription_id": subscription_id,
                        "event_id": event.event_id,
                        "sequence": event.player_id or event.event_id,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_ms": now_ms,
                        "created_ms": now_ms,
                    }
                )
    if not deliveries:
        return 0
    db.insert_ignore(
        conn,
        db.webhook_events,
        [
            {
                "event_id": event.event_id,
                "type": event.type,
                "player_id": event.player_id,
                "created_ms": event.created_ms,
                "data": json.dumps(event.data, separators=(",", ":"), sort_keys=True),
            }
            for event in stored.values()
        ],
    )
    return db.insert_ignore(conn, db.webhook_deliveries, deliveries)


def load(row: Any) -> Event:
    """An Event from a webhook_events row."""
    return Event(row.event_id, row.type, row.player_id, row.created_ms, json.loads(row.data))
