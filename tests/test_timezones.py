"""A player's own time zone: their login bonus, streak and daily counters follow their
local day from the reset hour (03:00 local); the game calendar (UTC here) is unchanged
for everyone else and for the boards. A change of zone never pays a second bonus in one
real day: a claim waits for the end of the day last claimed, in the zone it was claimed
in, and for a later date (a day after that end at the latest)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from types import MappingProxyType

import pytest

from engine import keys
from engine.boards import exams
from engine.boards.exams import Exam
from engine.economy import activity, grants, ledger, purchases
from engine.errors import DailyLimitReachedError, RateLimitedError, UnknownTimezoneError
from engine.progression import daily, timezones
from engine.rules import RouteLimits


def at(engine, *parts) -> None:
    engine.clock.set(datetime(*parts, tzinfo=UTC))


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def zone(engine, player: str, name: str | None) -> None:
    timezones.set_timezone(engine, player, name)


def logins(engine, player: str, *moments: tuple) -> list[bool]:
    claimed = []
    for moment in moments:
        at(engine, *moment)
        claimed.append(activity.login(engine, player).claimed)
    return claimed


def test_the_settings_keep_a_zone_and_its_days_and_null_clears_them(engine):
    assert timezones.get_settings(engine, "alice").timezone is None
    zone(engine, "alice", "Asia/Tokyo")
    zone(engine, "alice", "Asia/Tokyo")  # idempotent
    settings = timezones.get_settings(engine, "alice")
    assert settings.timezone == "Asia/Tokyo"
    assert settings.days == ((date(2026, 11, 23).toordinal(), 3 * 3600 - 9 * 3600),)
    assert settings.until == date(2036, 11, 29)  # ten years ahead: no refresh needed in use
    zone(engine, "alice", None)
    assert timezones.get_settings(engine, "alice").timezone is None
    assert engine.redis.exists(keys.settings("alice")) == 0


@pytest.mark.parametrize(
    "name", ["Mars/Olympus", "asia/tokyo", "../etc/passwd", "", "Asia/", "localtime", "Factory"]
)
def test_an_unknown_zone_is_refused_and_changes_nothing(engine, name):
    zone(engine, "alice", "Asia/Tokyo")
    with pytest.raises(UnknownTimezoneError) as refused:
        zone(engine, "alice", name)
    assert refused.value.code == "unknown_timezone"
    assert timezones.get_settings(engine, "alice").timezone == "Asia/Tokyo"


def test_a_daylight_saving_zone_keeps_one_entry_a_change(engine):
    zone(engine, "alice", "Europe/Berlin")
    days = timezones.get_settings(engine, "alice").days
    assert [shift for _, shift in days[:3]] == [7200, 3600, 7200]  # CET, CEST, CET
    assert date.fromordinal(days[1][0]) == date(2027, 3, 28)  # the last Sunday of March
    assert date.fromordinal(days[2][0]) == date(2027, 10, 31)  # the last Sunday of October
    assert len(days) == 21  # two a year for ten years, and the winter it starts in


def test_a_tokyo_player_claims_their_own_day_and_the_game_day_is_unchanged(engine):
    zone(engine, "alice", "Asia/Tokyo")
    at(engine, 2026, 11, 25, 19)  # 04:00 on the 26th in Tokyo, still the 25th's game day
    first = activity.login(engine, "alice")
    assert (first.claimed, first.streak) == (True, 1)
    assert first.next_claim_at == utc(2026, 11, 26, 18)  # 03:00 on the 27th in Tokyo
    state = daily.state(engine, "alice")
    assert (state.game_day, state.login_claimed, state.next_reset_at) == (
        date(2026, 11, 26),
        True,
        utc(2026, 11, 26, 18),
    )
    assert engine.calendar.game_day(engine.clock.now()) == date(2026, 11, 25)
    # the game day changes at 03:00 UTC: not Alice's
    assert logins(engine, "alice", (2026, 11, 26, 3, 30), (2026, 11, 26, 17, 59)) == [False] * 2
    at(engine, 2026, 11, 26, 18)
    second = activity.login(engine, "alice")
    assert (second.claimed, second.streak) == (True, 2)
    # a player without a zone, the same hours: the game day's
    assert logins(engine, "bob", (2026, 11, 25, 19), (2026, 11, 26, 3, 30)) == [True, True]


def test_the_ads_cap_counts_the_players_own_day(engine):
    zone(engine, "alice", "Asia/Tokyo")
    at(engine, 2026, 11, 25, 20)  # 05:00 on the 26th in Tokyo
    for n in range(engine.rules.ads.daily_cap):
        activity.ad_reward(engine, "alice", f"ad-{n}")
    at(engine, 2026, 11, 26, 4)  # a new game day, 13:00 on the 26th in Tokyo
    with pytest.raises(DailyLimitReachedError):
        activity.ad_reward(engine, "alice", "ad-more")
    assert daily.state(engine, "alice").ads_watched == engine.rules.ads.daily_cap
    at(engine, 2026, 11, 26, 18)  # the 27th in Tokyo
    activity.ad_reward(engine, "alice", "ad-next-day")
    assert daily.state(engine, "alice").ads_watched == 1


def test_the_days_counters_live_until_the_local_day_ends_plus_the_grace(engine):
    zone(engine, "alice", "Pacific/Pago_Pago")  # UTC-11
    at(engine, 2026, 11, 25, 15)  # 04:00 on the 25th in Pago Pago
    activity.login(engine, "alice")
    ends = utc(2026, 11, 26, 14)  # 03:00 on the 26th there: 11 hours after the game day's end
    ttl = engine.redis.ttl(keys.daily("alice", "2026-11-25"))
    grace = engine.rules.daily_grace_minutes * 60
    assert ttl == int((ends - engine.clock.now()).total_seconds()) + grace


def test_a_move_east_just_after_a_claim_pays_no_second_bonus_and_keeps_the_streak(engine):
    zone(engine, "alice", "Pacific/Pago_Pago")  # UTC-11
    assert logins(engine, "alice", (2026, 11, 24, 15), (2026, 11, 25, 15)) == [True, True]
    zone(engine, "alice", "Pacific/Kiritimati")  # UTC+14: already 05:00 on the 26th there
    refused = activity.login(engine, "alice")
    assert refused.claimed is False
    assert refused.next_claim_at == utc(2026, 11, 26, 14)  # the end of the 25th in Pago Pago
    assert daily.state(engine, "alice").login_claimed is True
    assert logins(engine, "alice", (2026, 11, 26, 0), (2026, 11, 26, 13, 59)) == [False] * 2
    at(engine, 2026, 11, 26, 14)  # 04:00 on the 27th in Kiritimati: the 26th was skipped
    assert daily.state(engine, "alice").streak == 2  # shown alive before the claim too
    claim = activity.login(engine, "alice")
    assert (claim.claimed, claim.streak) == (True, 3)
    assert claim.progress.freezes_used == 0


def test_a_move_west_across_the_date_line_waits_at_most_a_day_and_keeps_the_streak(engine):
    zone(engine, "alice", "Pacific/Kiritimati")  # UTC+14
    at(engine, 2026, 11, 25, 14)  # 04:00 on the 26th in Kiritimati
    assert activity.login(engine, "alice").claimed
    # without a move the next claim is at 13:00 UTC on the 26th (03:00 on the 27th there)
    zone(engine, "alice", "Pacific/Pago_Pago")  # UTC-11: 03:00 on the 25th there
    at(engine, 2026, 11, 26, 13)  # 02:00 on the 26th in Pago Pago: a date Alice claimed
    refused = activity.login(engine, "alice")
    assert refused.claimed is False
    assert refused.next_claim_at == utc(2026, 11, 27, 13)  # one real day later, no more
    assert logins(engine, "alice", (2026, 11, 27, 12, 59)) == [False]
    at(engine, 2026, 11, 27, 13)  # 02:00 on the 27th in Pago Pago
    claim = activity.login(engine, "alice")
    assert (claim.claimed, claim.streak) == (True, 2)
    # it claimed the 27th, the date after the last one claimed: the next is the 28th's
    assert claim.next_claim_at == utc(2026, 11, 28, 14)
    assert logins(engine, "alice", (2026, 11, 28, 13, 59), (2026, 11, 28, 14)) == [False, True]


def test_a_small_move_west_waits_for_the_next_local_date(engine):
    zone(engine, "alice", "Asia/Tokyo")
    at(engine, 2026, 11, 25, 20)  # 05:00 on the 26th in Tokyo
    assert activity.login(engine, "alice").claimed
    zone(engine, "alice", "Europe/Berlin")  # 21:00 on the 25th in Berlin
    # Tokyo's 26th ends at 18:00 UTC (19:00 in Berlin, still the 26th there): no claim
    # until Berlin's 27th, 8 hours later
    assert logins(engine, "alice", (2026, 11, 26, 18), (2026, 11, 27, 1, 59)) == [False] * 2
    at(engine, 2026, 11, 27, 2)
    claim = activity.login(engine, "alice")
    assert (claim.claimed, claim.streak) == (True, 2)


def test_moving_between_zones_never_claims_more_than_staying(engine):
    """Hour by hour for four days: Alice moves Pago Pago -> Kiritimati -> Tokyo -> Pago
    Pago -> UTC, Bob stays in Pago Pago. Each of Alice's claims waits for the end of the
    day she last claimed, in the zone she claimed it in, and for a later date."""
    zone(engine, "alice", "Pacific/Pago_Pago")
    zone(engine, "bob", "Pacific/Pago_Pago")
    moves = {10: "Pacific/Kiritimati", 30: "Asia/Tokyo", 41: "Pacific/Pago_Pago", 70: "UTC"}
    claims: dict[str, list[int]] = {"alice": [], "bob": []}
    for hour in range(96):
        at(engine, 2026, 11, 25 + hour // 24, hour % 24)
        if hour in moves:
            zone(engine, "alice", moves[hour])
        for player, hours in claims.items():
            if activity.login(engine, player).claimed:
                hours.append(hour)
    # Bob: 03:00 in Pago Pago is 14:00 UTC (hour 0 is 13:00 on the 24th there)
    assert claims["bob"] == [0, 14, 38, 62, 86]
    # Alice: 14 (Kiritimati's 26th, the 25th skipped), then Tokyo's and Pago Pago's 26th
    # were claimed already: Pago Pago's 27th claimed at the latest one real day after
    # Kiritimati's 26th ended (hour 37), then the end of that day (hour 86)
    assert claims["alice"] == [0, 14, 61, 86]
    assert activity.login(engine, "alice").streak == 4


@pytest.mark.parametrize(
    ("name", "before", "change", "after", "claims"),
    [
        # Berlin, the last Sunday of March 2027: 02:00 CET -> 03:00 CEST; the 27th is 23 h
        ("Europe/Berlin", (2027, 3, 27, 2), (2027, 3, 28, 0, 59), (2027, 3, 28, 1), 2),
        # Berlin, the last Sunday of October 2026: 03:00 CEST -> 02:00 CET; the 24th is 25 h
        ("Europe/Berlin", (2026, 10, 24, 1), (2026, 10, 25, 1, 59), (2026, 10, 25, 2), 2),
        # New York, 1 November 2026: 02:00 EDT -> 01:00 EST; the 31st is 25 h
        ("America/New_York", (2026, 10, 31, 7), (2026, 11, 1, 7, 59), (2026, 11, 1, 8), 2),
        # New York, 14 March 2027: 02:00 EST -> 03:00 EDT; the 13th is 23 h
        ("America/New_York", (2027, 3, 13, 8), (2027, 3, 14, 6, 59), (2027, 3, 14, 7), 2),
    ],
)
def test_a_day_the_clocks_change_is_23_or_25_hours_and_the_reset_stays_at_three(
    engine, name, before, change, after, claims
):
    at(engine, *before[:3], 0)
    zone(engine, "alice", name)
    assert logins(engine, "alice", before, change, after) == [True, False, True]
    assert activity.login(engine, "alice").streak == claims


def test_the_streak_goes_on_across_the_year_turn_and_a_freeze_bridges_a_local_day(engine):
    at(engine, 2026, 12, 28, 12)
    zone(engine, "alice", "Asia/Tokyo")
    grants.grant(engine, "alice", {"coins": 1000}, "funds", "funds")
    purchases.purchase(engine, "alice", "streak_freeze", 1, "freeze")
    # the purchase claimed Tokyo's 28th (21:00 there); then the 29th and 30th, and
    # nothing on the 31st
    assert logins(engine, "alice", (2026, 12, 29, 12), (2026, 12, 30, 12)) == [True, True]
    at(engine, 2026, 12, 31, 19)  # 04:00 on 1 January 2027 in Tokyo
    claim = activity.login(engine, "alice")
    assert (claim.claimed, claim.streak, claim.progress.freezes_used) == (True, 4, 1)
    [used] = [e for e in ledger.history(engine, "alice", limit=100) if e.kind == "streak_freeze"]
    assert used.reason == "streak freeze for 2026-12-31"  # Tokyo's 31st, not the game's


def test_freezes_bridge_the_gap_counted_in_the_players_local_days(engine):
    at(engine, 2026, 11, 20, 7)  # 20:00 on the 19th in Pago Pago
    zone(engine, "alice", "Pacific/Pago_Pago")
    grants.grant(engine, "alice", {"coins": 1000}, "funds", "funds")
    purchases.purchase(engine, "alice", "streak_freeze", 2, "freezes")  # claims the 19th
    # 07:00 UTC on the 21st is 20:00 on the 20th in Pago Pago; 15:00 UTC on the 23rd is
    # 04:00 on the 23rd: Pago Pago's 21st and 22nd are missed (the game calendar, with
    # claims on its 20th, 21st and 23rd, misses only the 22nd)
    assert logins(engine, "alice", (2026, 11, 21, 7)) == [True]
    at(engine, 2026, 11, 23, 15)
    assert daily.state(engine, "alice").streak == 2  # two freezes held: alive
    claim = activity.login(engine, "alice")
    assert (claim.streak, claim.progress.freezes_used) == (3, 2)
    reasons = sorted(e.reason for e in ledger.history(engine, "alice") if e.kind == "streak_freeze")
    assert reasons == ["streak freeze for 2026-11-21", "streak freeze for 2026-11-22"]


def test_an_exam_on_the_next_game_day_pays_no_second_bonus(engine):
    zone(engine, "alice", "Pacific/Pago_Pago")
    at(engine, 2026, 11, 25, 15)  # 04:00 on the 25th in Pago Pago, game day the 25th
    assert activity.login(engine, "alice").claimed
    at(engine, 2026, 11, 26, 4)  # game day the 26th, 17:00 on the 25th in Pago Pago
    exams.record_exam(engine, "alice", Exam("e-1", "math", 10, 10, 5))
    assert activity.login(engine, "alice").claimed is False
    bonuses = [e for e in ledger.history(engine, "alice") if e.kind == "login_bonus"]
    assert len(bonuses) == 1


def test_clearing_the_zone_brings_back_the_game_calendar(engine):
    zone(engine, "alice", "Asia/Tokyo")
    assert logins(engine, "alice", (2026, 11, 25, 19)) == [True]  # Tokyo's 26th
    zone(engine, "alice", None)
    # the game's 25th ends at 03:00 UTC on the 26th; its 26th is a date already claimed
    assert logins(engine, "alice", (2026, 11, 26, 3), (2026, 11, 27, 3)) == [False, True]
    assert daily.state(engine, "alice").game_day == date(2026, 11, 27)


def test_an_address_at_its_limit_refuses_the_login_that_claims_a_players_own_day(engine):
    """The address's take reads whether the login changes nothing: for a player with a
    zone the game day's hash does not tell (Tokyo's 27th starts while the game's 26th
    runs), so such a login is counted, and refused at the limit."""
    one_login = RouteLimits(player="100/minute", address="1/minute")
    engine.rules = dataclasses.replace(
        engine.rules,
        security=dataclasses.replace(
            engine.rules.security,
            rate_limits=MappingProxyType({**engine.rules.security.rate_limits, "login": one_login}),
        ),
    )
    zone(engine, "alice", "Asia/Tokyo")
    at(engine, 2026, 11, 26, 10)  # 19:00 on the 26th in Tokyo
    assert activity.login(engine, "alice", address="198.51.100.7").claimed
    at(engine, 2026, 11, 26, 18)  # Tokyo's 27th, the game's 26th
    assert activity.login(engine, "bob", address="198.51.100.7").claimed  # the address's one
    at(engine, 2026, 11, 26, 18, 0, 30)
    with pytest.raises(RateLimitedError):
        activity.login(engine, "alice", address="198.51.100.7")
    assert activity.login(engine, "alice").claimed  # without the address: claimed once


def test_an_exam_claims_and_counts_in_the_players_own_day(engine):
    zone(engine, "alice", "Asia/Tokyo")
    at(engine, 2026, 11, 25, 20)  # 05:00 on the 26th in Tokyo, the game's 25th
    exams.record_exam(engine, "alice", Exam("e-1", "math", 10, 10, 10))  # a perfect exam
    state = daily.state(engine, "alice")
    assert (state.game_day, state.login_claimed, state.streak) == (date(2026, 11, 26), True, 1)
    # Tokyo's 26th has perfect_1 and login_1 (the game's 25th has exams_3 instead)
    done = {m.mission_id: m.completed for m in state.missions}
    assert (done["perfect_1"], done["login_1"], done["buy_1"]) == (True, True, False)
    assert not engine.redis.exists(keys.daily("alice", "2026-11-25"))  # the game day's
    assert activity.login(engine, "alice").claimed is False
