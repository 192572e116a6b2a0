"""A closed period read after its Redis record is gone (a flush and a rebuild from SQL):
the board's page still shows each entry's prize and a closed league cohort its final
standings and each member's prize, from what the closes wrote to SQL, a prize the
wallet refused still shown refused. SQLite and MariaDB."""

from __future__ import annotations

import dataclasses

import pytest

from engine import keys, leagues
from engine.boards import Board, prizes
from engine.errors import PeriodExpiredError
from engine.leagues import close
from engine.leagues.results import MemberPrize, PrizeRefused
from engine.ops import persistence, rebuild
from tests.test_board_prizes import after_the_week, play_week, prizes_in_the_ledger, with_prizes
from web import create_app

PAID = {"alice": {"coins": 1000}, "bob": {"coins": 100}, "carol": {"coins": 100}, "dave": None}


def small_leagues(engine):
    """Cohorts of 4, one promoted and one relegated."""
    rules = engine.rules
    leagues_ = dataclasses.replace(rules.leagues, cohort_size=4, promote=1, relegate=1)
    engine.rules = dataclasses.replace(rules, leagues=leagues_)
    return engine


def closed_week(engine, full_wallets: tuple[str, ...] = ()) -> None:
    """2026-W48 played by four silver players, its boards' prizes and league closed, all
    persisted (the players of `full_wallets` at the balance limit when it closes)."""
    for player in PAID:
        engine.redis.hset(
            keys.player_league(player), mapping={"period": "2026-W48", "tier": "silver"}
        )
    play_week(engine, {"alice": 90, "bob": 80, "carol": 70, "dave": 60})
    for player in full_wallets:
        engine.redis.hset(keys.wallet(player), "coins", engine.rules.limits.max_balance)
    after_the_week(engine)
    prizes.close_ended(engine)
    close.close(engine, "2026-W48")
    persistence.persist(engine)


def lose_redis(engine) -> None:
    engine.redis.flushdb()
    rebuild.rebuild(engine)


@pytest.fixture
def closed(durable_engine):
    engine = small_leagues(with_prizes(durable_engine))
    closed_week(engine)
    return engine


def test_a_closed_boards_prizes_are_read_from_sql_once_redis_lost_them(closed):
    board = Board("weekly", closed.calendar.parse("weekly", "2026-W48"), None)
    paid = {player: MemberPrize(paid=prize) for player, prize in PAID.items()}
    assert prizes.prizes_of(closed, board, list(PAID)) == paid
    lose_redis(closed)
    assert not closed.redis.exists(keys.board_prizes("weekly:global", "2026-W48"))
    assert prizes.prizes_of(closed, board, list(PAID)) == paid


def test_a_prize_the_wallet_refused_is_read_refused_from_sql(durable_engine):
    engine = small_leagues(with_prizes(durable_engine))
    closed_week(engine, full_wallets=("alice",))
    board = Board("weekly", engine.calendar.parse("weekly", "2026-W48"), None)
    refused = PrizeRefused({"coins": 1000}, "balance_limit_exceeded")
    shown = {"alice": MemberPrize(refused=refused)} | {
        player: MemberPrize(paid=prize) for player, prize in PAID.items() if player != "alice"
    }
    assert prizes.prizes_of(engine, board, list(PAID)) == shown
    lose_redis(engine)
    assert prizes.prizes_of(engine, board, list(PAID)) == shown


def test_a_closed_page_of_a_board_without_prizes_never_reads_sql(durable_engine, monkeypatch):
    play_week(durable_engine, {"alice": 90})  # the rules give no board prizes
    after_the_week(durable_engine)

    def unexpected(*args):
        raise AssertionError("read SQL")

    monkeypatch.setattr(prizes, "_prizes_from_sql", unexpected)
    board = Board("weekly", durable_engine.calendar.parse("weekly", "2026-W48"), None)
    assert prizes.prizes_of(durable_engine, board, ["alice"]) == {"alice": MemberPrize()}


def test_a_closed_cohort_is_read_from_sql_once_redis_lost_it(closed):
    before = leagues.cohort(closed, "2026-W48", "silver-1")
    lose_redis(closed)
    assert leagues.cohort(closed, "2026-W48", "silver-1") == before
    assert [(m.player_id, m.rank, m.zone) for m in before.members] == [
        ("alice", 1, "promotion"),
        ("bob", 2, "stay"),
        ("carol", 3, "stay"),
        ("dave", 4, "relegation"),
    ]


def test_a_cohort_past_the_retention_of_its_boards_is_gone_from_sql_reads_too(closed):
    lose_redis(closed)
    keep = closed.rules.leaderboards.keep("weekly")
    closed.clock.advance(days=7 * (keep + 1))
    with pytest.raises(PeriodExpiredError):  # as the boards answer the same period
        leagues.cohort(closed, "2026-W48", "silver-1")


@pytest.fixture
def durable_app(settings, real_redis, clock, sql_url):
    """The app on the real Redis and a SQL database (SQLite and MariaDB)."""
    app = create_app(
        dataclasses.replace(settings, database_url=sql_url), redis_client=real_redis, clock=clock
    )
    yield app
    app.extensions["questboard.engine"].sql.dispose()


def test_the_closed_page_and_cohort_over_http_after_redis_is_lost(durable_app, server_headers):
    engine = small_leagues(with_prizes(durable_app.extensions["questboard.engine"]))
    closed_week(engine)
    client = durable_app.test_client()

    def read():
        page = client.get("/v1/leaderboards/weekly?period=2026-W48", headers=server_headers)
        cohort = client.get("/v1/leagues/2026-W48/cohorts/silver-1", headers=server_headers)
        assert (page.status_code, cohort.status_code) == (200, 200)
        return page.get_json(), cohort.get_json()

    page, cohort = read()
    lose_redis(engine)
    page_after, cohort_after = read()

    assert {e["player_id"]: e["prize"] for e in page_after["entries"]} == PAID
    assert [e["prize_refused"] for e in page_after["entries"]] == [None] * 4
    assert [(m["player_id"], m["zone"], m["prize"]) for m in cohort_after["members"]] == [
        ("alice", "promotion", {"coins": 200}),  # [leagues.prizes.silver]
        ("bob", "stay", {"coins": 100}),
        ("carol", "stay", {"coins": 100}),
        ("dave", "relegation", None),
    ]
    assert page_after == page
    assert cohort_after == cohort
    missing = client.get("/v1/leagues/2026-W48/cohorts/silver-2", headers=server_headers)
    assert missing.status_code == 404


def test_a_refused_board_prize_over_http_after_redis_is_lost(durable_app, server_headers):
    engine = small_leagues(with_prizes(durable_app.extensions["questboard.engine"]))
    closed_week(engine, full_wallets=("alice",))
    client = durable_app.test_client()

    def entries():
        page = client.get("/v1/leaderboards/weekly?period=2026-W48", headers=server_headers)
        assert page.status_code == 200
        return page.get_json()["entries"]

    before = entries()
    lose_redis(engine)
    after = entries()

    assert [(e["player_id"], e["prize"], e["prize_refused"]) for e in after] == [
        ("alice", None, {"prize": {"coins": 1000}, "code": "balance_limit_exceeded"}),
        ("bob", {"coins": 100}, None),
        ("carol", {"coins": 100}, None),
        ("dave", None, None),
    ]
    assert [e["prize"] for e in after] == [
        prizes_in_the_ledger(engine, e["player_id"], "weekly:global") for e in after
    ]
    assert after == before
