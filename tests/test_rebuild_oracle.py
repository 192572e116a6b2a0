"""Nothing a player can read is lost with Redis: a seeded random session of players
(logins, exams, purchases, ads, grants, streak freezes and repairs, time zones, a ban and
its lift, a cheater taken off the boards) across the daily reset, a week's end and a
month's, then the persist job, then Redis lost (FLUSHDB) and `questboard rebuild`'s
engine function run as the README's recovery says (web processes stopped first: the app
after the rebuild is a new one). Every read route answers for every player what it
answered before; every write of the session sent again is answered as a replay and
changes nothing, but those whose records the README says a rebuild does not restore
(NOT_RESTORED). The persist job runs before the loss, as the recovery assumes: the
data-loss window (changes not yet persisted) is not what this proves.

The tests after it each prove a difference the session found, on its own."""

from __future__ import annotations

import pytest

from engine import boards, errors
from engine.boards import exams, leaderboards, moderation, snapshots
from engine.ops import persistence, rebuild
from tests.rebuild_oracle_play import CATEGORIES, PLAYERS, Session, make_app

BOARDS = ("weekly", "monthly", "yearly")
PAST = {"weekly": "2026-W48", "monthly": "2026-11", "yearly": None}


def board_queries() -> list[tuple[str, str]]:
    """Each board type, global and by category, its current period and a past one."""
    queries = []
    for board in BOARDS:
        for category in (None, *CATEGORIES):
            for period in {None, PAST[board]}:
                query = [f"category={category}"] if category else []
                query += [f"period={period}"] if period else []
                queries.append((board, "&".join(query)))
    return queries


def read_everything(client, headers) -> dict[str, tuple[int, object]]:
    """Every player-facing read, for every player: the route and query, its status and body."""
    seen: dict[str, tuple[int, object]] = {}

    def get(path: str):
        response = client.get(path, headers=headers)
        assert response.status_code < 500, (path, response.get_json())
        seen[path] = (response.status_code, response.get_json())
        return response.get_json()

    cohorts = {("2026-W48", "bronze-1"), ("2026-W49", "bronze-1")}
    for player in PLAYERS:
        base = f"/v1/players/{player}"
        for route in ("wallet", "daily", "missions", "battle-pass", "ranks", "settings"):
            get(f"{base}/{route}")
        get(f"{base}/battle-pass?season=2026-autumn")  # ended with November
        league = get(f"{base}/league")
        if league.get("cohort"):
            cohorts.add((league["period"], league["cohort"]["cohort_id"]))
        page = get(f"{base}/ledger?limit=5")
        while page.get("entries"):
            page = get(f"{base}/ledger?limit=5&before={page['entries'][-1]['transaction_id']}")
        for board, query in board_queries():
            get(f"/v1/leaderboards/{board}/players/{player}?around=2&{query}")
    for board, query in board_queries():
        for source in ("live", "snapshot"):
            get(f"/v1/leaderboards/{board}?source={source}&{query}")
    for period, cohort in sorted(cohorts):
        get(f"/v1/leagues/{period}/cohorts/{cohort}")
    get("/v1/tool-of-the-day")
    return seen


def lose_redis_and_rebuild(app, settings, real_redis, clock):
    """The README's recovery: the persist job has run; Redis is lost (FLUSHDB); the web
    process is stopped; `questboard rebuild`; a new web process."""
    engine = app.extensions["questboard.engine"]
    persistence.persist(engine)
    real_redis.flushdb()
    engine.sql.dispose()
    after = make_app(settings, real_redis, clock)
    assert rebuild.live_wallet(after.extensions["questboard.engine"]) is None
    rebuild.rebuild(after.extensions["questboard.engine"])
    return after


def changed(before, after, where: str = "") -> list[str]:
    """Where two answers differ, as `path: before -> after`, down to the leaves."""
    if isinstance(before, dict) and isinstance(after, dict):
        names = list(before) + [name for name in after if name not in before]
        return [
            line
            for name in names
            for line in changed(before.get(name), after.get(name), f"{where}.{name}")
        ]
    same_length = isinstance(after, list | tuple) and len(after) == len(before or ())
    if isinstance(before, list | tuple) and same_length:
        return [
            line
            for n, (old, new) in enumerate(zip(before, after, strict=True))
            for line in changed(old, new, f"{where}[{n}]")
        ]
    return [] if before == after else [f"{where}: {before!r} -> {after!r}"]


def differences(before: dict, after: dict) -> list[str]:
    return [f"{path} {line}" for path in before for line in changed(before[path], after.get(path))]


# Documented as not restored, so not sent again after the rebuild. engine/ops/rebuild.py
# (which the README's recovery section names for the list): "What SQL does not hold, so a
# rebuild does not restore: rate-limit windows". A refusal no record keeps (rate limited,
# rapid fire, invalid input) is tried again; so is a login without a key that claimed
# nothing, which keeps no record at all.
NOT_RESTORED = ("rate-limit windows",)
# The refusals a record keeps (README, Idempotency), answered again after a rebuild.
RECORDED_REFUSALS = (
    "insufficient_funds",
    "balance_limit_exceeded",
    "daily_limit_reached",
    "streak_not_repairable",
)


def restored(write) -> bool:
    """Whether the write's record is one the rebuild restores (see NOT_RESTORED)."""
    if write.status >= 400:
        return write.answer.get("error", {}).get("code") in RECORDED_REFUSALS
    claimed_nothing = write.path.endswith("/login") and not write.answer["claimed"]
    unkeyed = "Idempotency-Key" not in write.headers
    return not (claimed_nothing and unkeyed)


def replay_of(write) -> tuple[int, str | None]:
    """An exam sent again is 200 (README, Exams), any other write its first status; each
    with Idempotent-Replayed, but a batch, which says it of each item (README, Batches)."""
    if write.path.endswith(":batch"):
        return 200, None
    return (200 if write.path.endswith("/exams") else write.status), "true"


def same_answer(write, answer: dict) -> bool:
    """An exam's replay is its first summary (README, Exams). Another write's, from the
    record the rebuild wrote from its ledger entry, is "not the first body byte for byte"
    (README, recovery: the balances right after its own entry, the progress of an event
    that earned nothing beyond itself) but names the same transaction; a login's the same
    bonus."""
    if write.path.endswith(":batch"):  # each item counted is answered as a replay
        first, again = write.answer["results"], answer["results"]
        return [(r["status"] == 201, r["result"]) for r in first] == [
            (r["replayed"], r["result"]) if r["status"] == 200 else (False, r["result"])
            for r in again
        ]
    if write.path.endswith("/exams") or write.status >= 400:
        return answer == write.answer
    if write.path.endswith("/login"):  # the bonus claimed, or (none) the first answer
        bonus = write.answer["progress"].get("daily_bonus")
        return answer["progress"].get("daily_bonus") == bonus and (bonus or answer == write.answer)
    return answer["transaction_id"] == write.answer["transaction_id"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_rebuilt_redis_answers_every_read_as_before_and_every_retry_as_a_replay(
    seed, settings, real_redis, clock, server_headers, admin_headers
):
    app = make_app(settings, real_redis, clock)
    session = Session(app, clock, server_headers, admin_headers, seed)
    session.play()
    persistence.persist(session.engine)
    before = read_everything(app.test_client(), server_headers)

    after_app = lose_redis_and_rebuild(app, settings, real_redis, clock)
    client = after_app.test_client()

    lost = differences(before, read_everything(client, server_headers))
    assert not lost, "\n".join(lost)
    for write in [write for write in session.writes if restored(write)]:
        again = client.open(write.path, method=write.method, headers=write.headers, json=write.body)
        replayed = (again.status_code, again.headers.get("Idempotent-Replayed"))
        assert replayed == replay_of(write), (write, again.get_json())
        assert same_answer(write, again.get_json()), (write, again.get_json())
    changed_by_retries = differences(before, read_everything(client, server_headers))
    assert not changed_by_retries, "\n".join(changed_by_retries)


def test_a_past_periods_movement_outlives_a_removal_then_a_rebuild(durable_engine, clock):
    """Taking a cheater off the boards drops the snapshot tops that showed them (in Redis
    and SQL) but keeps the others' ranks at the last snapshot: a past period, never
    snapshotted again, keeps showing their movement, and after a rebuild as well."""
    for player, score in (("ann", 30), ("ben", 20), ("cheat", 90)):
        exams.record_exam(durable_engine, player, exams.Exam("q1", "math", score, 10, 5))
    snapshots.take_snapshots(durable_engine)
    clock.advance(minutes=30)
    exams.record_exam(durable_engine, "ben", exams.Exam("q2", "math", 15, 10, 5))  # passes ann
    clock.advance(days=7)  # 2026-W48 is a past period
    moderation.remove_from_leaderboards(durable_engine, "cheat")
    week = boards.resolve(durable_engine, "weekly", None, "2026-W48")
    shown = leaderboards.top(durable_engine, week).entries
    before = [(e.player_id, e.rank, e.rank_previous, e.movement) for e in shown]
    assert before == [("ben", 1, 3, "up"), ("ann", 2, 2, "same")]

    persistence.persist(durable_engine)
    durable_engine.redis.flushdb()
    rebuild.rebuild(durable_engine)

    shown = leaderboards.top(durable_engine, week).entries
    assert [(e.player_id, e.rank, e.rank_previous, e.movement) for e in shown] == before


def test_a_snapshot_a_removal_dropped_stays_dropped_through_a_rebuild(durable_engine, clock):
    """A removal drops the snapshot of every board the cheater is on, also one taken before
    their first exam there (which does not show them): that board is read live, and a
    past period's `?source=snapshot` stays 404, after a rebuild as before it."""
    exams.record_exam(durable_engine, "ann", exams.Exam("q1", "math", 30, 10, 5))
    snapshots.take_snapshots(durable_engine)
    clock.advance(minutes=30)
    exams.record_exam(durable_engine, "cheat", exams.Exam("q1", "math", 90, 10, 5))
    clock.advance(days=7)  # 2026-W48 is a past period
    moderation.remove_from_leaderboards(durable_engine, "cheat")
    week = boards.resolve(durable_engine, "weekly", "math", "2026-W48")
    with pytest.raises(errors.NotFoundError):
        leaderboards.top(durable_engine, week, source="snapshot")

    persistence.persist(durable_engine)
    durable_engine.redis.flushdb()
    rebuild.rebuild(durable_engine)

    with pytest.raises(errors.NotFoundError):
        leaderboards.top(durable_engine, week, source="snapshot")


def test_a_keyed_login_retried_after_a_rebuild_answers_the_bonus_it_claimed(
    standalone_client, server_headers
):
    """A login's Idempotency-Key makes a retry, on any day, answer the first answer, the
    day's bonus it claimed included (README, Idempotency); after a rebuild as before it:
    the bonus's ledger entry carries the key."""
    keyed = server_headers | {"Idempotency-Key": "session-1"}
    first = standalone_client.post("/v1/players/alice/login", headers=keyed).get_json()
    engine = standalone_client.application.extensions["questboard.engine"]
    persistence.persist(engine)
    engine.redis.flushdb()
    rebuild.rebuild(engine)

    again = standalone_client.post("/v1/players/alice/login", headers=keyed)

    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (200, "true")
    body = again.get_json()
    assert (body["claimed"], body["streak"], body["reward"]) == (True, 1, {"logs": 1})
    assert body["progress"]["daily_bonus"] == first["progress"]["daily_bonus"]
    assert (body["balances"], body["next_claim_at"]) == (first["balances"], first["next_claim_at"])
    wallet = standalone_client.get("/v1/players/alice/wallet", headers=server_headers)
    assert wallet.get_json()["balances"]["logs"] == 1  # paid once
