"""The Python client against a real server: a game server's calls, system by system.

The fixtures (tests/python_client/conftest.py) serve the app on fakeredis with a fixed
clock behind werkzeug on a loopback port, through tests.python_client.gate.Gate.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from questboard_client import (
    AsyncQuestboard,
    Banned,
    NotFound,
    StreakNotRepairable,
    UnknownTimezone,
    ValidationError,
)
from questboard_client.models import (
    CatalogItem,
    DailyBonus,
    Entry,
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

from engine.rules.progression import StreakRepair as RepairRules
from tests.conftest import SERVER_KEY
from tests.python_client.gate import EMPTY, NEXT_RESET, NOON


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
