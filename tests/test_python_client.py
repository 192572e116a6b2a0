"""The Python client (clients/python, package questboard_client) against a real server.

The app runs on fakeredis with a fixed clock behind werkzeug on a loopback port, in
a thread. A small WSGI gate in front of it records every request and can answer the
next ones with a canned failure (before the app runs, or after it ran, as when an
answer is lost), so the retry tests see exactly what the client sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
import questboard_client
from questboard_client import (
    AsyncQuestboard,
    Banned,
    DailyLimitReached,
    Forbidden,
    IdempotencyKeyReused,
    InsufficientFunds,
    NotFound,
    NotRanked,
    PriceChanged,
    Questboard,
    QuestboardConnectionError,
    RateLimited,
    RetryPolicy,
    ServiceUnavailable,
    StreakNotRepairable,
    Unauthorized,
    UnexpectedAnswer,
    UnknownItem,
    UnknownTimezone,
    ValidationError,
    webhooks,
)
from questboard_client.errors import ERROR_CLASSES
from questboard_client.models import (
    CatalogItem,
    DailyBonus,
    Entry,
    ExamAttempt,
    GrantOrder,
    LeagueMember,
    LedgerEntry,
    MissionProgress,
    MissionState,
    Progress,
    StreakRepair,
    StreakRepairOffer,
    ToolOfTheDay,
    Wallet,
    Xp,
)
from questboard_client.routes import LEFT_OUT, ROUTES
from werkzeug.serving import make_server

from engine.rules.progression import StreakRepair as RepairRules
from tests.conftest import ADMIN_KEY, SERVER_KEY
from web.errors import CODE_BY_STATUS, STATUS_BY_CODE
from web.worker import ERRORS_BY_STATUS

CLIENT_PACKAGE = Path(__file__).resolve().parent.parent / "clients" / "python"
NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NEXT_RESET = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
EMPTY = {"bricks": 0, "cement": 0, "coins": 0, "logs": 0, "steel": 0}


@dataclass
class Failure:
    status: int
    code: str
    retry_after: str | None
    after_app: bool  # the app ran and its answer was lost
    html: bool = False  # a proxy's page, not the API's error body
    body: object = None  # answered as is, instead of the error body


class Gate:
    """WSGI middleware: records requests; answers the queued failures first."""

    def __init__(self, app) -> None:
        self.app = app
        self.seen: list[tuple[str, str, str, str | None]] = []
        self.failures: list[Failure] = []
        self.sent_bodies: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()

    def fail_next(self, count, status=503, code="service_unavailable", retry_after="0"):
        self.failures += [Failure(status, code, retry_after, after_app=False)] * count

    def fail_next_as_a_proxy(self, status: int):
        self.failures.append(Failure(status, "", None, after_app=False, html=True))

    def answer_next(self, status: int, body: object):
        self.failures.append(Failure(status, "", None, after_app=False, body=body))

    def lose_next_answer(self):
        self.failures.append(Failure(503, "service_unavailable", "0", after_app=True))

    def keys(self) -> list[str | None]:
        return [key for *_, key in self.seen]

    def queries(self, path_end: str) -> list[str]:
        return [query for _, path, query, _ in self.seen if path.endswith(path_end)]

    def bodies(self, path_end: str) -> list[bytes]:
        return [body for path, body in self.sent_bodies if path.endswith(path_end)]

    def __call__(self, environ, start_response):
        with self.lock:
            self.seen.append(
                (
                    environ["REQUEST_METHOD"],
                    environ["PATH_INFO"],
                    environ.get("QUERY_STRING", ""),
                    environ.get("HTTP_IDEMPOTENCY_KEY"),
                )
            )
            failure = self.failures.pop(0) if self.failures else None
            if environ["PATH_INFO"].endswith(":batch"):  # kept for the batch tests
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = environ["wsgi.input"].read(length)
                environ["wsgi.input"] = io.BytesIO(body)
                self.sent_bodies.append((environ["PATH_INFO"], body))
        if failure is None:
            return self.app(environ, start_response)
        if failure.after_app:
            answer = self.app(environ, lambda *args: lambda data: None)
            b"".join(answer)
            getattr(answer, "close", lambda: None)()
        if failure.html:
            start_response(f"{failure.status} Proxy", [("Content-Type", "text/html")])
            return [b"<html><body>Bad Gateway</body></html>"]
        body = failure.body or {"error": {"code": failure.code, "message": "canned", "details": {}}}
        headers = [("Content-Type", "application/json")]
        if failure.retry_after is not None:
            headers.append(("Retry-After", failure.retry_after))
        start_response(f"{failure.status} Canned", headers)
        return [json.dumps(body).encode()]


@pytest.fixture
def gate(app):
    return Gate(app)


@pytest.fixture
def base_url(gate):
    server = make_server("127.0.0.1", 0, gate, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def cap_jitter(low: float, high: float) -> float:
    """Waits the whole backoff cap, so the tests know each wait exactly."""
    return high


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def qb(base_url, sleeps):
    with Questboard(
        base_url, SERVER_KEY, retry=RetryPolicy(jitter=cap_jitter), sleep=sleeps.append
    ) as client:
        yield client


@pytest.fixture
def admin(base_url):
    with Questboard(base_url, ADMIN_KEY) as client:
        yield client


def test_a_game_server_buys_with_a_granted_balance_and_reads_wallet_and_ledger(qb, admin, gate):
    granted = admin.grant("alice", {"coins": 1000}, "welcome", idempotency_key="welcome-alice")
    assert granted.balances == EMPTY | {"coins": 1000}
    assert granted.replayed is False

    bought = qb.purchase("alice", "steel", 2, expected_price={"coins": 50})

    assert (bought.item, bought.quantity, bought.cost) == ("steel", 2, {"coins": 100})
    # The first activity of the day also pays the login bonus and the buy_1 mission.
    assert bought.balances == EMPTY | {"coins": 910, "logs": 1, "steel": 2}
    bonus, mission = bought.progress.daily_bonus, bought.progress.missions[0]
    assert bought.progress == Progress(
        daily_bonus=DailyBonus(1, {"logs": 1}, bonus.transaction_id),
        missions=(
            MissionProgress("buy_1", 1, 1, True, 100, {"coins": 10}, mission.transaction_id),
        ),
        xp=Xp("2026-autumn", 100, 100, 1, ()),
        level_rewards=(),
        streak=1,
    )
    assert bought.replayed is False
    assert qb.wallet("alice") == Wallet("alice", bought.balances)
    steel = CatalogItem("steel", "Steel beam", {"coins": 50}, {"steel": 1}, 100)
    assert steel in qb.catalog().items

    entries = list(qb.ledger("alice", page_size=2))

    assert [(entry.kind, entry.deltas) for entry in entries] == [
        ("mission_reward", {"coins": 10}),
        ("purchase", {"coins": -100, "steel": 2}),
        ("login_bonus", {"logs": 1}),
        ("grant", {"coins": 1000}),
    ]
    assert entries[1] == LedgerEntry(
        bought.transaction_id,
        "purchase",
        {"coins": -100, "steel": 2},
        EMPTY | {"coins": 900, "logs": 1, "steel": 2},
        "2 x steel",
        NOON,
    )
    assert gate.queries("/ledger") == [
        "limit=2",
        f"limit=2&before={entries[1].transaction_id}",
        f"limit=2&before={entries[3].transaction_id}",
    ]


def test_a_replayed_purchase_is_reported_and_changes_nothing(qb, admin):
    admin.grant("alice", {"coins": 1000}, "welcome")
    first = qb.purchase("alice", "logs", 3, idempotency_key="order-1")

    again = qb.purchase("alice", "logs", 3, idempotency_key="order-1")

    assert again.replayed is True
    assert (again.transaction_id, again.balances) == (first.transaction_id, first.balances)
    assert qb.wallet("alice").balances == first.balances


def test_a_players_league_and_its_cohort(qb):
    assert qb.player_league("alice").cohort is None
    qb.record_exam("alice", "attempt-1", "math", 80, 10, 8)
    league = qb.player_league("alice")
    assert (league.tier, league.period, league.ends_at) == (
        "bronze",
        "2026-W48",
        datetime(2026, 11, 30, 3, 0, tzinfo=UTC),
    )
    assert league.cohort is not None
    assert [(m.player_id, m.rank, m.score, m.zone) for m in league.cohort.members] == [
        ("alice", 1, 80, "promotion")
    ]
    assert qb.league_cohort("2026-W48", league.cohort.cohort_id) == league.cohort
    with pytest.raises(NotFound):
        qb.league_cohort("2026-W48", "bronze-2")


def test_a_closed_periods_page_carries_each_entrys_prize(qb, app, clock):
    from engine.boards import prizes
    from tests.test_board_prizes import with_prizes

    engine = with_prizes(app.extensions["questboard.engine"])
    qb.record_exam("alice", "attempt-1", "math", 90, 10, 9)
    qb.record_exam("bob", "attempt-2", "math", 80, 10, 8)
    assert [e.prize for e in qb.leaderboard("weekly").entries] == [None, None]  # not closed
    clock.set(datetime(2026, 11, 30, 3, 10, tzinfo=UTC))  # 2026-W48 ended at 03:00
    prizes.close_ended(engine)

    page = qb.leaderboard("weekly", period="2026-W48")

    assert page.entries[0] == Entry(1, "alice", 90, 1, 10, 9, 0.9, None, "new", {"coins": 1000})
    assert [(e.player_id, e.prize) for e in page.entries] == [
        ("alice", {"coins": 1000}),
        ("bob", {"coins": 100}),
    ]
    math = qb.leaderboard("weekly", category="math", period="2026-W48")
    assert [e.prize for e in math.entries] == [{"bricks": 5}, None]


def test_a_closed_cohort_after_the_close(qb, app, clock):
    from engine.leagues import close

    qb.record_exam("alice", "attempt-1", "math", 90, 10, 9)
    qb.record_exam("bob", "attempt-2", "math", 80, 10, 8)
    clock.set(datetime(2026, 11, 30, 3, 10, tzinfo=UTC))
    close.close(app.extensions["questboard.engine"], "2026-W48")

    cohort = qb.league_cohort("2026-W48", "bronze-1")

    assert cohort.members == (
        LeagueMember("alice", 1, 1, 90, "promotion", {"coins": 100}),  # [leagues.prizes.bronze]
        LeagueMember("bob", 2, 2, 80, "promotion", {"coins": 50}),
    )
    assert (cohort.period, cohort.tier, cohort.promotion_zone) == ("2026-W48", "bronze", 2)
    league = qb.player_league("alice")
    assert (league.period, league.tier, league.cohort) == ("2026-W49", "silver", None)


def test_an_exam_counts_once_and_the_boards_show_it(qb):
    summary = qb.record_exam("alice", "attempt-1", "math", 80, 10, 8)
    qb.record_exam("bob", "attempt-2", "math", 90, 10, 9)

    replay = qb.record_exam("alice", "attempt-1", "math", 80, 10, 8)

    assert (summary.replayed, replay.replayed) == (False, True)
    assert [(b.board, b.category, b.period, b.score, b.rank) for b in summary.boards] == [
        ("weekly", None, "2026-W48", 80, 1),
        ("weekly", "math", "2026-W48", 80, 1),
        ("monthly", None, "2026-11", 80, 1),
        ("monthly", "math", "2026-11", 80, 1),
        ("yearly", None, "2026", 80, 1),
        ("yearly", "math", "2026", 80, 1),
    ]
    alice = Entry(2, "alice", 80, 1, 10, 8, 0.8, None, "new")
    bob = Entry(1, "bob", 90, 1, 10, 9, 0.9, None, "new")
    page = qb.leaderboard("weekly", category="math")
    assert (page.board, page.category, page.period, page.total_players) == (
        "weekly",
        "math",
        "2026-W48",
        2,
    )
    assert (page.next_reset_at, page.ended_at, page.source, page.snapshot_at) == (
        datetime(2026, 11, 30, 3, 0, tzinfo=UTC),
        None,
        "live",
        None,
    )
    assert page.entries == (bob, alice)
    assert qb.leaderboard("monthly", limit=1, offset=1).entries == (alice,)
    standing = qb.around_me("yearly", "alice", category="math", around=1)
    assert (standing.period, standing.entry, standing.above, standing.below) == (
        "2026",
        alice,
        (bob,),
        (),
    )
    ranks = qb.player_ranks("alice")
    assert [(b.board, b.category, b.entry) for b in ranks.boards] == [
        (board, category, alice)
        for board in ("weekly", "monthly", "yearly")
        for category in (None, "math")
    ]


def test_a_players_time_zone_is_set_read_and_followed_by_the_login(qb):
    assert qb.get_settings("carol").timezone is None
    settings = qb.put_settings("carol", "Asia/Tokyo")
    assert (settings.player_id, settings.timezone) == ("carol", "Asia/Tokyo")
    assert qb.get_settings("carol").timezone == "Asia/Tokyo"
    login = qb.login("carol")  # 21:00 on the 25th in Tokyo: their day ends at 18:00 UTC
    assert (login.claimed, login.next_claim_at) == (True, datetime(2026, 11, 25, 18, tzinfo=UTC))
    with pytest.raises(UnknownTimezone) as refused:
        qb.put_settings("carol", "Mars/Olympus")
    assert (refused.value.status, refused.value.details) == (
        422,
        {"timezone": ["Must be an IANA time zone name, e.g. Asia/Tokyo."]},
    )
    assert qb.put_settings("carol", None).timezone is None


def test_the_game_day_login_daily_missions_ad_reward_battle_pass_and_tool(qb, admin):
    login = qb.login("alice")
    assert (login.claimed, login.streak, login.reward) == (True, 1, {"logs": 1})
    assert login.next_claim_at == NEXT_RESET
    assert qb.login("alice").claimed is False

    ad = qb.ad_reward("alice")
    assert (ad.reward, ad.ads_watched, ad.ads_limit, ad.replayed) == ({"coins": 5}, 1, 5, False)

    daily = qb.daily("alice")
    assert (daily.game_day, daily.next_reset_at) == (date(2026, 11, 25), NEXT_RESET)
    assert (daily.login_claimed, daily.streak, daily.ads_watched, daily.ads_limit) == (
        True,
        1,
        1,
        5,
    )
    watch = MissionState("ads_2", "Watch 2 ads", "watch_ad", 1, 2, False, 100, {"cement": 1})
    assert watch in daily.missions
    assert qb.missions("alice").missions == daily.missions

    season = qb.battle_pass("alice")
    assert (season.season, season.season_start, season.season_end) == (
        "2026-autumn",
        date(2026, 9, 1),
        date(2026, 12, 1),
    )
    assert (season.level, season.xp + season.xp_to_next_level) == (1, 1000)
    assert season.rewards_granted == ()

    today = ToolOfTheDay("concrete", date(2026, 11, 25), NEXT_RESET)
    assert qb.tool_of_the_day() == today
    with pytest.raises(ValidationError) as yesterdays:  # brickwork was the day before's
        admin.set_tool_of_the_day("brickwork")
    assert yesterdays.value.status == 400
    assert admin.set_tool_of_the_day("earthwork") == ToolOfTheDay(
        "earthwork", today.game_day, NEXT_RESET
    )
    assert qb.tool_of_the_day().tool == "earthwork"
    assert qb.health().now == NOON


def test_a_broken_streak_is_offered_and_repaired_once_sync_and_async(
    app, base_url, qb, admin, clock
):
    engine = app.extensions["questboard.engine"]
    engine.rules = replace(
        engine.rules, streak_repair=RepairRules("coins", base=50, per_day=10, max_price=500)
    )
    for _ in range(3):
        qb.login("alice")
        clock.advance(days=1)
    clock.advance(days=1)  # a day missed
    assert qb.login("alice").streak == 1
    admin.grant("alice", {"coins": 1000}, "welcome")
    offer = qb.daily("alice").streak_repair
    assert offer == StreakRepairOffer(3, 4, {"coins": 80}, datetime(2026, 11, 30, 3, tzinfo=UTC))

    repaired = qb.repair_streak("alice", idempotency_key="r-1")

    assert (repaired.streak, repaired.lost, repaired.price, repaired.replayed) == (
        4,
        3,
        {"coins": 80},
        False,
    )

    async def again() -> StreakRepair:
        async with AsyncQuestboard(base_url, SERVER_KEY) as client:
            return await client.repair_streak("alice", idempotency_key="r-1")

    replay = asyncio.run(again())
    assert (replay.replayed, replay.transaction_id) == (True, repaired.transaction_id)
    with pytest.raises(StreakNotRepairable) as refused:
        qb.repair_streak("alice")
    assert (refused.value.status, refused.value.details) == (409, {"reason": "repaired"})
    assert qb.daily("alice").streak_repair is None


def test_bans_are_placed_listed_and_lifted_and_a_banned_address_is_refused(qb, admin):
    placed = admin.ban_ip("203.0.113.0/24", "bots")
    assert placed.created is True
    assert (placed.ban.kind, placed.ban.target, placed.ban.created_by) == (
        "ip",
        "203.0.113.0/24",
        "admin",
    )
    assert admin.ip_bans() == (placed.ban,)

    with pytest.raises(Banned) as refused:
        qb.wallet("alice", player_ip="203.0.113.9")
    assert refused.value.status == 403
    assert qb.wallet("alice", player_ip="198.51.100.1").balances == EMPTY

    admin.lift_ip_ban(placed.ban.id)
    assert admin.ip_bans() == ()
    assert qb.wallet("alice", player_ip="203.0.113.9").balances == EMPTY

    player = admin.ban_player("mallory", "cheating", expires_in_seconds=3600)
    assert player.ban.expires_at == datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
    assert admin.player_bans() == (player.ban,)
    with pytest.raises(Banned):
        qb.purchase("mallory", "logs")
    admin.lift_player_ban(player.ban.id)
    assert admin.player_bans() == ()
    with pytest.raises(NotFound):
        admin.lift_player_ban(player.ban.id)


# Retries ---------------------------------------------------------------------------


def test_a_503_is_retried_with_the_same_idempotency_key_and_buys_once(qb, admin, gate, sleeps):
    admin.grant("alice", {"coins": 1000}, "welcome")
    gate.fail_next(2, status=503, retry_after="0")

    bought = qb.purchase("alice", "logs", 3)

    purchases = [key for method, path, _, key in gate.seen if path.endswith("/purchases")]
    assert len(purchases) == 3
    assert len(set(purchases)) == 1
    assert re.fullmatch(r"qb-[0-9a-f]{32}", purchases[0])
    assert sleeps == [0.1, 0.2]  # exponential backoff; Retry-After: 0 asks for no more
    assert bought.replayed is False
    assert qb.wallet("alice").balances["coins"] == 1000 - 30 + 10  # one purchase, one mission
    kinds = [entry.kind for entry in qb.ledger("alice")]
    assert kinds.count("purchase") == 1


def test_a_purchase_whose_answer_was_lost_is_retried_and_reported_as_a_replay(qb, admin, gate):
    admin.grant("alice", {"coins": 1000}, "welcome")
    gate.lose_next_answer()

    bought = qb.purchase("alice", "logs", 3, idempotency_key="order-lost")

    assert gate.keys()[-2:] == ["order-lost", "order-lost"]
    assert bought.replayed is True
    assert bought.balances["logs"] == 3 + 1  # three bought, one from the login bonus
    assert [entry.kind for entry in qb.ledger("alice")].count("purchase") == 1


def test_an_exam_retried_after_a_lost_answer_counts_once(qb, gate):
    gate.lose_next_answer()

    summary = qb.record_exam("alice", "attempt-9", "math", 50, 10, 5)

    assert gate.keys() == ["attempt-9", "attempt-9"]
    assert summary.replayed is True
    assert qb.leaderboard("weekly").entries[0].exams == 1


def test_a_batch_of_exams_answers_each_item_with_its_summary_or_its_error(qb, admin):
    attempts = [
        ExamAttempt("alice", "a-1", "math", 80, 10, 8),
        ExamAttempt("bob", "b-1", "math", 90, 10, 11),  # more correct answers than questions
        ExamAttempt("carol", "c-1", "math", 70, 10, 7),
    ]
    admin.ban_player("carol", "bot")

    first = qb.record_exams(attempts)
    again = qb.record_exams(attempts)

    assert [(item.status, item.ok) for item in first] == [(201, True), (400, False), (403, False)]
    assert first[0].result is not None and first[0].result.replayed is False
    assert [b.rank for b in first[0].result.boards] == [1] * 6
    assert isinstance(first[1].error, ValidationError)
    assert isinstance(first[2].error, Banned)
    assert first[2].error.details["reason"] == "bot"
    assert again[0].status == 200 and again[0].result is not None
    assert again[0].result.replayed is True
    assert again[0].result.boards == first[0].result.boards


def test_a_grant_batch_retried_after_a_lost_answer_grants_each_item_once(admin, gate):
    orders = [GrantOrder("alice", {"coins": 500}, "gift"), GrantOrder("bob", {"coins": -1}, "fix")]
    gate.lose_next_answer()

    items = admin.grant_batch(orders)

    assert [(item.status, item.ok) for item in items] == [(200, True), (409, False)]
    assert items[0].result is not None and items[0].result.replayed is True
    assert items[0].result.balances == EMPTY | {"coins": 500}
    assert isinstance(items[1].error, InsufficientFunds)
    first, retry = (json.loads(body)["grants"] for body in gate.bodies("/grants:batch"))
    assert [g["idempotency_key"] for g in first] == [g["idempotency_key"] for g in retry]
    reused = admin.grant_batch(
        [GrantOrder("alice", {"coins": 5}, "gift", first[0]["idempotency_key"])]
    )
    assert isinstance(reused[0].error, IdempotencyKeyReused)


def test_wallets_of_many_players_in_one_call(qb, admin):
    admin.grant("alice", {"coins": 500}, "gift")

    items = qb.wallets(["alice", "bob"])

    assert [item.result for item in items] == [
        Wallet("alice", EMPTY | {"coins": 500}),
        Wallet("bob", EMPTY),
    ]


def test_a_lifted_ban_whose_answer_was_lost_is_done_on_retry(admin, gate):
    placed = admin.ban_player("mallory", "cheating")
    gate.lose_next_answer()

    admin.lift_player_ban(placed.ban.id)

    deletes = [path for method, path, _, _ in gate.seen if method == "DELETE"]
    assert deletes == [f"/v1/admin/player-bans/{placed.ban.id}"] * 2
    assert admin.player_bans() == ()


class FailingConnections(httpx.BaseTransport):
    """Fails the first `count` requests with `error` (no answer), then sends for real."""

    def __init__(self, count: int, error: type[httpx.RequestError] = httpx.ConnectError) -> None:
        self.count = count
        self.error = error
        self.real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.count:
            self.count -= 1
            raise self.error("no answer", request=request)
        return self.real.handle_request(request)

    def close(self) -> None:
        self.real.close()


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.DecodingError],
)
def test_a_request_without_an_answer_is_retried(base_url, gate, sleeps, error):
    transport = FailingConnections(1, error)
    retry = RetryPolicy(jitter=cap_jitter)
    with Questboard(
        base_url, SERVER_KEY, retry=retry, transport=transport, sleep=sleeps.append
    ) as qb:
        assert qb.wallet("alice").balances == EMPTY
    assert sleeps == [0.1]
    assert len(gate.seen) == 1

    with (
        Questboard(
            base_url, SERVER_KEY, retry=RetryPolicy(max_attempts=2), transport=FailingConnections(2)
        ) as qb,
        pytest.raises(QuestboardConnectionError) as failed,
    ):
        qb.wallet("alice")
    assert (failed.value.code, failed.value.status) == ("connection_error", None)


def test_a_429_waits_its_retry_after_then_succeeds(qb, gate, sleeps):
    gate.fail_next(1, status=429, code="rate_limited", retry_after="2")

    assert qb.wallet("alice").balances == EMPTY

    assert sleeps == [2.0]
    assert len(gate.seen) == 2


def test_a_retry_after_beyond_the_deadline_raises_rate_limited_at_once(base_url, gate, sleeps):
    gate.fail_next(1, status=429, code="rate_limited", retry_after="30")
    retry = RetryPolicy(deadline=10.0)

    qb = Questboard(base_url, SERVER_KEY, retry=retry, sleep=sleeps.append)
    with qb, pytest.raises(RateLimited) as limited:
        qb.wallet("alice")

    assert (limited.value.status, limited.value.retry_after) == (429, 30.0)
    assert (sleeps, len(gate.seen)) == ([], 1)


def test_retries_stop_after_max_attempts(base_url, gate, sleeps):
    gate.fail_next(5, status=503, retry_after="0")
    retry = RetryPolicy(max_attempts=3, jitter=cap_jitter)

    qb = Questboard(base_url, SERVER_KEY, retry=retry, sleep=sleeps.append)
    with qb, pytest.raises(ServiceUnavailable) as unavailable:
        qb.ad_reward("alice")

    assert (unavailable.value.status, unavailable.value.code) == (503, "service_unavailable")
    assert sleeps == [0.1, 0.2]
    assert len(gate.seen) == 3
    assert len(set(gate.keys())) == 1


def test_a_deadline_too_short_for_the_retry_after_gives_up_on_a_503(base_url, gate, sleeps):
    gate.fail_next(2, status=503, retry_after="1")
    qb = Questboard(base_url, SERVER_KEY, retry=RetryPolicy(deadline=0.5), sleep=sleeps.append)

    with qb, pytest.raises(ServiceUnavailable) as unavailable:
        qb.wallet("alice")

    assert (unavailable.value.retry_after, sleeps, len(gate.seen)) == (1.0, [], 1)


def test_a_proxys_502_page_is_retried_and_raised_as_service_unavailable(qb, base_url, gate):
    gate.fail_next_as_a_proxy(502)
    assert qb.wallet("alice").balances == EMPTY
    assert len(gate.seen) == 2

    gate.fail_next_as_a_proxy(502)
    once = Questboard(base_url, SERVER_KEY, retry=RetryPolicy(max_attempts=1))
    with once, pytest.raises(ServiceUnavailable) as unavailable:
        once.wallet("alice")
    assert (unavailable.value.status, unavailable.value.message) == (
        502,
        "HTTP 502 without an API error body.",
    )


def test_the_servers_rapid_fire_refusal_is_waited_out_and_the_exam_counted_once(
    base_url, gate, clock
):
    """The server's own 429 (rapid_fire, Retry-After: 1): the client's wait moves the
    fixed clock on by what it waits, and the retry with the same exam_id is counted."""
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds=seconds)

    with Questboard(base_url, SERVER_KEY, sleep=wait) as qb:
        for attempt in range(8):  # the rules allow 8 state changes a second
            qb.record_exam("alice", f"attempt-{attempt}", "math", 10, 10, 1)

        ninth = qb.record_exam("alice", "attempt-8", "math", 10, 10, 1)

        assert waits == [1.0]
        assert gate.keys()[-2:] == ["attempt-8", "attempt-8"]
        assert ninth.replayed is False
        assert qb.leaderboard("weekly").entries[0].exams == 9


# Errors ----------------------------------------------------------------------------


def test_a_409_raises_insufficient_funds_with_details(qb):
    with pytest.raises(InsufficientFunds) as refused:
        qb.purchase("alice", "steel", 2)

    error = refused.value
    assert (error.status, error.code) == (409, "insufficient_funds")
    assert error.details == {"resource": "coins", "required": 100, "available": 0}
    assert isinstance(error, questboard_client.QuestboardError)
    assert qb.wallet("alice").balances == EMPTY


def test_each_refusal_raises_its_class(base_url, qb, admin):
    admin.grant("alice", {"coins": 1000}, "welcome")
    with pytest.raises(PriceChanged) as changed:
        qb.purchase("alice", "steel", expected_price={"coins": 40})
    assert changed.value.status == 409
    with pytest.raises(UnknownItem) as unknown:
        qb.purchase("alice", "gold")
    assert (unknown.value.status, isinstance(unknown.value, NotFound)) == (404, True)
    with pytest.raises(ValidationError) as invalid:
        qb.purchase("alice", "steel", 0)
    assert invalid.value.details == {"quantity": ["Must be between 1 and 100."]}
    qb.purchase("alice", "logs", 1, idempotency_key="k-1")
    with pytest.raises(IdempotencyKeyReused) as reused:
        qb.purchase("alice", "logs", 2, idempotency_key="k-1")
    assert reused.value.status == 422
    with pytest.raises(NotRanked):
        qb.around_me("weekly", "alice")
    with pytest.raises(Forbidden) as forbidden:
        qb.grant("alice", {"coins": 1}, "not an admin")
    assert forbidden.value.code == "forbidden"
    for _ in range(5):
        qb.ad_reward("alice")
    with pytest.raises(DailyLimitReached):
        qb.ad_reward("alice")
    with Questboard(base_url, "wrong-key") as stranger, pytest.raises(Unauthorized) as denied:
        stranger.wallet("alice")
    assert (denied.value.status, denied.value.details) == (401, {})


def test_every_error_code_the_server_answers_has_its_class(app):
    spec = app.test_client().get("/openapi.json").get_json()
    spec_codes = set(spec["components"]["schemas"]["ErrorInfo"]["properties"]["code"]["enum"])
    server_codes = set(STATUS_BY_CODE) | set(CODE_BY_STATUS.values()) | {"bad_request"}
    gunicorn_codes = {code for code, _ in ERRORS_BY_STATUS.values()}  # web/worker.py

    assert spec_codes | server_codes | gunicorn_codes <= set(ERROR_CLASSES)

    for code, cls in ERROR_CLASSES.items():
        assert cls.code == code
        assert issubclass(cls, questboard_client.QuestboardError)


@pytest.mark.parametrize(
    "body",
    [
        {"player_id": "alice", "balances": {"coins": "many"}},
        {"player_id": "alice", "balances": {"coins": True}},
        {"player_id": "alice"},
        ["not", "an", "object"],
        {"tool": "concrete", "game_day": "today", "next_reset_at": "2026-11-26T03:00:00+00:00"},
        {"tool": "concrete", "game_day": "2026-11-25", "next_reset_at": "soon"},
    ],
)
def test_a_success_of_an_unknown_shape_raises_unexpected_answer_without_a_retry(qb, gate, body):
    gate.answer_next(200, body)

    with pytest.raises(UnexpectedAnswer) as unexpected:
        qb.tool_of_the_day() if "tool" in body else qb.wallet("alice")

    assert unexpected.value.code == "unexpected_answer"
    assert len(gate.seen) == 1


# The async client ------------------------------------------------------------------


def test_the_async_client_on_the_same_server(base_url, gate):
    async def session() -> None:
        waits: list[float] = []

        async def wait(seconds: float) -> None:
            waits.append(seconds)

        admin = AsyncQuestboard(base_url, ADMIN_KEY)
        qb = AsyncQuestboard(base_url, SERVER_KEY, retry=RetryPolicy(jitter=cap_jitter), sleep=wait)
        async with admin, qb:
            granted = await admin.grant("alice", {"coins": 500}, "welcome", idempotency_key="w")
            assert granted.balances == EMPTY | {"coins": 500}
            gate.fail_next(1, status=503, retry_after="0")
            gate.lose_next_answer()

            bought = await qb.purchase("alice", "bricks", 5)

            assert waits == [0.1, 0.2]
            purchase_keys = [key for _, path, _, key in gate.seen if path.endswith("/purchases")]
            assert len(purchase_keys) == 3 and len(set(purchase_keys)) == 1
            assert bought.replayed is True
            assert (await qb.wallet("alice")).balances == bought.balances
            entries = [entry async for entry in qb.ledger("alice", page_size=1)]
            assert [entry.kind for entry in entries] == [
                "mission_reward",
                "purchase",
                "login_bonus",
                "grant",
            ]
            summary = await qb.record_exam("alice", "a-1", "math", 70, 10, 7)
            assert summary.boards[0].rank == 1
            page = await qb.leaderboard("weekly")
            assert [(e.player_id, e.score) for e in page.entries] == [("alice", 70)]
            with pytest.raises(InsufficientFunds) as refused:
                await qb.purchase("alice", "steel", 100)
            assert refused.value.details["required"] == 5000
            assert (await qb.tool_of_the_day()).tool == "concrete"
            assert (await qb.put_settings("alice", "Asia/Tokyo")).timezone == "Asia/Tokyo"
            assert (await qb.get_settings("alice")).timezone == "Asia/Tokyo"

    asyncio.run(session())


# Coverage of the spec --------------------------------------------------------------


def test_the_client_covers_every_operation_of_the_spec(app):
    spec = app.test_client().get("/openapi.json").get_json()
    operations = {
        operation["operationId"]: (method.upper(), path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in {"get", "put", "post", "delete", "patch"}
    }

    not_covered = {op: route for op, route in operations.items() if op not in ROUTES}
    assert set(not_covered) == set(LEFT_OUT), "a new operation: call it or list it in LEFT_OUT"
    assert {op: ROUTES[op] for op in ROUTES if op in operations} == {
        op: route for op, route in operations.items() if op in ROUTES
    }
    assert set(ROUTES) <= set(operations), "the client calls an operation the spec lacks"


def _period_and_cohort_of(league) -> tuple[str, str]:
    assert league.cohort is not None, "alice's exam placed her in a cohort"
    return league.period, league.cohort.cohort_id


def refused_as(error: type[Exception], call, *args) -> None:
    with pytest.raises(error):
        call(*args)


def test_every_route_of_the_table_has_a_method_that_calls_it(qb, admin, gate):
    admin.grant("alice", {"coins": 100}, "welcome")
    qb.record_exam("alice", "a-1", "math", 10, 10, 1)
    calls = [
        qb.health,
        qb.catalog,
        lambda: qb.wallet("alice"),
        lambda: qb.purchase("alice", "logs"),
        lambda: qb.ledger_page("alice"),
        lambda: qb.leaderboard("weekly"),
        lambda: qb.around_me("weekly", "alice"),
        lambda: qb.player_ranks("alice"),
        lambda: qb.daily("alice"),
        lambda: qb.missions("alice"),
        lambda: qb.login("alice"),
        lambda: qb.ad_reward("alice"),
        lambda: refused_as(StreakNotRepairable, qb.repair_streak, "alice"),  # off by default
        lambda: qb.battle_pass("alice"),
        qb.tool_of_the_day,
        lambda: admin.set_tool_of_the_day("concrete"),
        lambda: admin.lift_ip_ban(admin.ban_ip("192.0.2.1", "test").ban.id),
        admin.ip_bans,
        lambda: admin.lift_player_ban(admin.ban_player("bob", "test").ban.id),
        admin.player_bans,
        lambda: qb.record_exams([ExamAttempt("alice", "a-2", "math", 10, 10, 1)]),
        lambda: admin.grant_batch([GrantOrder("alice", {"coins": 1}, "batch")]),
        lambda: qb.wallets(["alice", "bob"]),
        lambda: qb.player_league("alice"),
        lambda: qb.league_cohort(*_period_and_cohort_of(qb.player_league("alice"))),
        lambda: qb.put_settings("bob", "Asia/Tokyo"),
        lambda: qb.get_settings("bob"),
    ]
    for call in calls:
        call()

    def operation_of(method: str, path: str) -> str:
        for operation, (route_method, template) in ROUTES.items():
            pattern = re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template))
            if method == route_method and re.fullmatch(pattern, path):
                return operation
        raise AssertionError(f"{method} {path} is in no route of the table")

    assert {operation_of(method, path) for method, path, _, _ in gate.seen} == set(ROUTES)
    changes = [(method, path, key) for method, path, _, key in gate.seen if method != "GET"]
    assert [(method, path) for method, path, key in changes if not key] == []


# Webhooks --------------------------------------------------------------------------

SECRET = "whsec_test"
BODY = b'{"type":"purchase.created","player_id":"alice"}'
SENT_AT = 1_795_000_000


def test_a_webhook_signed_with_the_secret_is_accepted():
    expected = hmac.new(SECRET.encode(), b"%d." % SENT_AT + BODY, hashlib.sha256).hexdigest()
    header = f"t={SENT_AT},v1={expected}"

    assert webhooks.sign(BODY, SECRET, SENT_AT) == header
    assert webhooks.verify(BODY, header, SECRET, now=SENT_AT + 299) is None
    assert webhooks.verify(BODY.decode(), header, SECRET.encode(), now=SENT_AT) is None


def test_a_webhook_with_a_bad_signature_or_a_changed_body_is_rejected():
    header = webhooks.sign(BODY, SECRET, SENT_AT)
    for body, signed, secret in [
        (BODY + b" ", header, SECRET),
        (BODY, header, "whsec_other"),
        (BODY, header.replace("v1=", "v1=0"), SECRET),
        (BODY, f"t={SENT_AT + 1}," + header.split(",")[1], SECRET),
        (BODY, f"t={SENT_AT}", SECRET),
        (BODY, header.split(",")[1], SECRET),
        (BODY, f"t=abc,{header.split(',')[1]}", SECRET),
        (BODY, "", SECRET),
        (BODY, None, SECRET),
    ]:
        with pytest.raises(webhooks.InvalidSignature):
            webhooks.verify(body, signed, secret, now=SENT_AT)


def test_a_webhook_older_than_the_tolerance_is_rejected():
    header = webhooks.sign(BODY, SECRET, SENT_AT)

    with pytest.raises(webhooks.InvalidSignature) as stale:
        webhooks.verify(BODY, header, SECRET, now=SENT_AT + 301)
    assert stale.value.details == {"timestamp": SENT_AT, "tolerance": 300}
    with pytest.raises(webhooks.InvalidSignature):
        webhooks.verify(BODY, header, SECRET, tolerance=60, now=SENT_AT + 61)
    assert webhooks.verify(BODY, header, SECRET, tolerance=60, now=SENT_AT + 60) is None


def test_during_a_secret_rotation_any_v1_signature_may_match():
    old = webhooks.signature(BODY, "whsec_old", SENT_AT)
    new = webhooks.signature(BODY, "whsec_new", SENT_AT)
    header = f"t={SENT_AT},v1={old},v1={new}"

    assert webhooks.verify(BODY, header, "whsec_old", now=SENT_AT) is None
    assert webhooks.verify(BODY, header, "whsec_new", now=SENT_AT) is None
    with pytest.raises(webhooks.InvalidSignature):
        webhooks.verify(BODY, header, "whsec_retired", now=SENT_AT)


def test_webhook_signatures_are_compared_in_constant_time(monkeypatch):
    compared: list[tuple[str, str]] = []
    real_compare_digest = hmac.compare_digest

    def compare_digest(a, b):
        compared.append((a, b))
        return real_compare_digest(a, b)

    monkeypatch.setattr(webhooks.hmac, "compare_digest", compare_digest)
    good = webhooks.signature(BODY, SECRET, SENT_AT)

    webhooks.verify(BODY, f"t={SENT_AT},v1={good},v1=00", SECRET, now=SENT_AT)

    assert compared == [(good, good), (good, "00")]  # every candidate, none with ==


# Packaging -------------------------------------------------------------------------


def test_the_client_package_passes_mypy_strict(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path),
            str(CLIENT_PACKAGE / "questboard_client"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=CLIENT_PACKAGE,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found")
