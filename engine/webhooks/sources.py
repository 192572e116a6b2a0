"""Events whose record is not an outbox entry: player bans and closed periods.

Bans: `engine.security.bans` appends each player ban placed or lifted to
`keys.ban_events()` in the same MULTI that changes the ban, so the stream holds
exactly the bans that happened. The webhooks job drains it through the consumer group
"webhooks" like the persist job drains the outboxes: events and deliveries committed
in one SQL transaction, the entries acknowledged after, ids derived from the entry,
so a run killed in between records nothing twice. A ban is recorded only once its
player's outbox holds no entry older than it (the stream IDs of both are the Redis
server's clock): every change the player made before the ban is persisted and its
events recorded, so a player's events are delivered in the order they happened
across both sources. Until then it waits, and the bans after it with it.

Closed periods: once a board's period has ended its scores no longer change (an exam
counts into the current periods only), so its top is final; the event's id is the
board's, so it is announced once, to the subscriptions that existed when it ended.
A period closes board_index.SETTLE_S after its end, when SQL holds its last writes:
its boards are those its board index lists and those SQL's aggregates hold
(board_index.listed, one query, run once: the global board's event, recorded with the
others in one transaction, says the period is closed), so a board whose index entry
was lost is announced too. Later runs read the index alone. A run that finds the last
ended period not closed yet also looks at the ones before it, back to one closed
before: the job may not have run since several ended (a worker down for a week, a QA
clock moved on). A period that ended retention.KEEP ago or more is not announced: the
cleanup may have removed its events (a year's stays the previous period for a year),
which would send them again.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from redis.exceptions import ResponseError
from sqlalchemy import select

from engine import boards, db, keys
from engine.boards import Board, board_index, leaderboards
from engine.calendar import PERIOD_TYPES, Period, add_periods
from engine.clock import from_ms, to_ms
from engine.runtime import Engine
from engine.webhooks import events, retention

GROUP = "webhooks"
CONSUMER = "webhooks-job"  # one live run of the job at a time holds it
BATCH = 1_000
TOP = 100


def drain_ban_events(engine: Engine) -> int:
    """Move the ban stream's entries into events; returns the deliveries recorded."""
    stream = keys.ban_events()
    try:
        engine.redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise
    recorded = 0
    while True:
        pipe = engine.redis.pipeline(transaction=False)
        pipe.xautoclaim(stream, GROUP, CONSUMER, 0, "0-0", count=BATCH)
        pipe.xreadgroup(GROUP, CONSUMER, {stream: ">"}, count=BATCH)
        claimed, fresh = pipe.execute()
        entries = list(claimed[1])
        for _, rows in fresh or []:
            entries.extend(rows)
        if not entries:
            return recorded
        ready = _persisted_before(engine, entries)
        if ready:
            found = [_ban_event(entry_id, fields) for entry_id, fields in ready if fields]
            with engine.sql.begin() as conn:
                recorded += events.record(conn, found, to_ms(engine.clock.now()))
            ids = [entry_id for entry_id, _ in ready]
            pipe = engine.redis.pipeline(transaction=False)
            pipe.xack(stream, GROUP, *ids)
            pipe.xdel(stream, *ids)
            pipe.execute()
        if len(ready) < len(entries):  # the rest stay pending for the next run
            return recorded


def _persisted_before(engine: Engine, entries: list) -> list:
    """The leading `entries` (in stream order) whose player's outbox holds nothing from
    their millisecond or before: every change the player made before the ban is
    persisted, its events recorded (so delivered first). Both streams' ids are the
    Redis server's clock; their sequence numbers are each stream's own, so an outbox
    entry of the ban's millisecond waits too. The first ban that must wait stops the
    rest, so bans keep their own order too."""
    players = sorted({fields[b"player"].decode() for _, fields in entries if fields})
    pipe = engine.redis.pipeline(transaction=False)
    for player in players:
        pipe.xrange(keys.player_outbox(player), count=1)
    oldest = {
        player: events.entry_position(reply[0][0])
        for player, reply in zip(players, pipe.execute(), strict=True)
        if reply
    }
    for n, (entry_id, fields) in enumerate(entries):
        waiting = oldest.get(fields[b"player"].decode()) if fields else None
        if waiting is not None and waiting[0] <= events.entry_position(entry_id)[0]:
            return entries[:n]
    return entries


def _ban_event(entry_id: bytes, fields: dict[bytes, bytes]) -> events.Event:
    text = {name.decode(): value.decode() for name, value in fields.items()}
    kind = text.pop("type")
    player = text.pop("player")
    at_ms = int(text.pop("at"))
    data: dict = {"ban_id": text["ban"], "reason": text.get("reason", "")}
    # A ban placed, or (player.unbanned) the one lifted: the same fields either way.
    expires = int(text.get("expires_at") or 0)
    data["expires_at"] = from_ms(expires).isoformat().replace("+00:00", "Z") if expires else None
    data["created_by"] = text.get("created_by", "admin")
    data["extended"] = text.get("extended") == "1"
    return events.Event(events.event_id("ban", entry_id.decode()), kind, player, at_ms, data)


def close_periods(engine: Engine) -> int:
    """Announce the final top of every board whose period ended (the previous period of
    each type, and those before it that ended since the job last ran, within
    retention.KEEP), to subscriptions that asked and existed at its end. Returns
    deliveries."""
    now = engine.clock.now()
    table = db.webhook_subscriptions
    with engine.sql.connect() as conn:
        subscriptions = [
            (sid, json.loads(types), created)
            for sid, types, created in conn.execute(
                select(table.c.id, table.c.events, table.c.created_ms).where(table.c.enabled == 1)
            ).all()
            if events.wants(json.loads(types), "leaderboard.period_closed")
        ]
    if not subscriptions:
        return 0
    recorded = 0
    for period_type in PERIOD_TYPES:
        period = add_periods(boards.current_period(engine, period_type, now), -1)
        while True:  # the last ended period, and those before it the job has not closed
            count, closed_before = _close_period(engine, period, subscriptions, now)
            recorded += count
            if closed_before is not False:
                break
            period = add_periods(period, -1)
    return recorded


def _close_period(
    engine: Engine, period: Period, subscriptions: list, now: datetime
) -> tuple[int, bool | None]:
    """Announce the period's boards not announced yet. Returns the deliveries recorded,
    and whether the period was closed before this call: None when it is not to be
    announced at all (none asked, out of retention.KEEP, or not settled), and then
    neither is any period before it. A period's boards are announced together, so a
    period closed before (the job ran since its end) had those before it closed too."""
    ended = engine.calendar.end(period)
    ended_ms = to_ms(ended)
    wanting = [(sid, types) for sid, types, created in subscriptions if created <= ended_ms]
    if not wanting or now >= ended + retention.KEEP:
        return 0, None  # none asked, or its deliveries may be purged: it would be sent again
    ids = _event_ids(period, board_index.indexed(engine, period))
    known = _known(engine, ids)
    closed_before = ids[Board(period.period_type, period, None)] in known
    if not closed_before:
        if now < ended + timedelta(seconds=board_index.SETTLE_S):
            return 0, None  # SQL may not hold the period's last writes yet
        ids = _event_ids(period, board_index.listed(engine, period))
        known = _known(engine, ids)
    found = [
        _closed(engine, board, ids[board], ended_ms) for board in ids if ids[board] not in known
    ]
    if not found:
        return 0, closed_before
    with engine.sql.begin() as conn:
        return events.record_for(conn, found, wanting, to_ms(now)), closed_before


def _event_ids(period: Period, categories: list[str]) -> dict[Board, str]:
    """Each board of the period, the global first, and its period_closed event's id."""
    boards_ = [Board(period.period_type, period, c) for c in [None, *categories]]
    return {board: events.event_id("period_closed", *board.key_args()) for board in boards_}


def _known(engine: Engine, ids: dict[Board, str]) -> set[str]:
    """The ids among `ids` whose deliveries are recorded: the boards announced."""
    table = db.webhook_deliveries
    with engine.sql.connect() as conn:
        query = select(table.c.event_id).where(table.c.event_id.in_(list(ids.values())))
        return set(conn.execute(query).scalars())


def _closed(engine: Engine, board: Board, event_id: str, ended_ms: int) -> events.Event:
    page = leaderboards.top(engine, board, limit=TOP)
    data = {
        "board": board.period_type,
        "period": board.period.name,
        "category": board.category,
        "ended_at": from_ms(ended_ms).isoformat().replace("+00:00", "Z"),
        "total_players": page.total_players,
        "top": [
            {
                "rank": entry.rank,
                "player_id": entry.player_id,
                "score": entry.score,
                "exams": entry.exams,
                "accuracy": entry.accuracy,
            }
            for entry in page.entries
        ],
    }
    return events.Event(event_id, "leaderboard.period_closed", None, ended_ms, data)
