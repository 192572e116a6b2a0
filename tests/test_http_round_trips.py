"""Redis round trips per request, counted on the real Redis around real requests, and
the security that comes without them: bans and rate limits across processes.

A player request costs one round trip without `X-Player-IP` and at most two with it:
the ban check reads the process's copy of the bans (engine.security.ban_cache), the
per-player limit is taken inside the request's own script, and the per-address limit
is the one extra round trip, on the address's own slot. Two app instances on one Redis
stand for two gunicorn workers (or two web nodes).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from bench.redis_count import sent_commands
from engine import keys
from engine.boards import exams
from engine.economy import activity
from engine.runtime import build_engine
from engine.security import bans
from tests.conftest import EXAM, error_of
from web import create_app

IP = {"X-Player-IP": "198.51.100.7"}


@pytest.fixture
def apps(settings, real_redis, clock):
    """Two app instances (two processes' worth of state) on the run's Redis."""
    return [create_app(settings, redis_client=real_redis, clock=clock) for _ in range(2)]


@pytest.fixture
def clients(apps):
    return [app.test_client() for app in apps]


@pytest.fixture
def funded(clients, admin_headers):
    for player in ("alice", "bob"):
        response = clients[0].post(
            f"/v1/admin/players/{player}/grants",
            headers=admin_headers | {"Idempotency-Key": "funds"},
            json={"resources": {"coins": 100_000}, "reason": "funds"},
        )
        assert response.status_code == 201
    return clients[0]


def player_requests(headers: dict, n: int) -> dict[str, tuple]:
    """Route -> (method, path, headers, body) of a request that changes or reads something
    new: its own Idempotency-Key, and a login of a player who has not played today."""
    key = {"Idempotency-Key": f"k-{n}"}
    return {
        "wallet": ("GET", "/v1/players/alice/wallet", headers, None),
        "daily": ("GET", "/v1/players/alice/daily", headers, None),
        "missions": ("GET", "/v1/players/alice/missions", headers, None),
        "battle-pass": ("GET", "/v1/players/alice/battle-pass", headers, None),
        "login": ("POST", f"/v1/players/new-{n}/login", headers, None),
        "keyed login": ("POST", f"/v1/players/keyed-{n}/login", headers | key, None),
        "purchase": (
            "POST",
            "/v1/players/alice/purchases",
            headers | key,
            {"item": "logs", "quantity": 1},
        ),
        "ad reward": ("POST", "/v1/players/bob/ad-rewards", headers | key, None),
    }


def round_trips(client, clock, headers: dict) -> dict[str, int]:
    """Each route's round trips, after a first request of each (scripts loaded, the
    ban copy read); all within the second the ban copy stays current, and without
    rapid fire (a player's changes stay under the rules' 8 a second)."""
    counts = {}
    for n in range(2):
        for route, (method, path, route_headers, body) in player_requests(headers, n).items():
            clock.advance(seconds=0.05)
            with sent_commands() as sent:
                response = client.open(path, method=method, headers=route_headers, json=body)
            assert response.status_code < 300, (route, response.get_json())
            counts[route] = sent.round_trips
    return counts


def test_a_player_request_is_one_round_trip(funded, clock, server_headers):
    counts = round_trips(funded, clock, server_headers)
    assert counts == dict.fromkeys(counts, 1)


def test_a_player_with_a_time_zone_is_one_round_trip_too(funded, clock, server_headers):
    """The player's own day is found inside the request's script (include/zone.lua), from
    the day table their settings keep: nothing is read before it."""
    players = ("alice", "bob", "new-0", "new-1")
    for player, zone in zip(players, ("Asia/Tokyo", "Pacific/Kiritimati") * 2, strict=True):
        settings = f"/v1/players/{player}/settings"
        response = funded.put(settings, headers=server_headers, json={"timezone": zone})
        assert response.status_code == 200
    counts = round_trips(funded, clock, server_headers)
    assert counts == dict.fromkeys(counts, 1)
    with sent_commands() as sent:
        response = funded.get("/v1/players/alice/settings", headers=server_headers)
    assert (response.get_json()["timezone"], sent.round_trips) == ("Asia/Tokyo", 1)
    with sent_commands() as sent:
        response = funded.post("/v1/players/alice/login", headers=server_headers)
    assert (response.get_json()["claimed"], sent.round_trips) == (False, 1)  # her purchase claimed


def test_with_an_address_a_player_request_is_at_most_two(funded, clock, server_headers):
    counts = round_trips(funded, clock, server_headers | IP)
    assert counts == dict.fromkeys(counts, 2)


def test_with_an_address_a_replay_or_a_claimed_login_is_two_and_never_counted(
    funded, clock, real_redis, server_headers
):
    """A copy that changes nothing (a replayed Idempotency-Key or exam_id, a login of a
    claimed day): the address's slot and the copy's check in one round trip, the action with
    the slot given back in the other; the address's windows keep only real changes."""
    copies = player_requests(server_headers | IP, 0)
    copies["exam"] = ("POST", "/v1/players/bob/exams", server_headers | IP, EXAM)
    for n in range(3):
        for route, (method, path, route_headers, body) in copies.items():
            clock.advance(seconds=0.02)
            with sent_commands() as sent:
                response = funded.open(path, method=method, headers=route_headers, json=body)
            assert response.status_code < 300, (route, response.get_json())
            if n:  # the copies
                assert sent.round_trips <= 2, (route, dict(sent.commands))
    windows = {
        group: real_redis.zcard(keys.address_rate_window(group, IP["X-Player-IP"]))
        for group in ("purchases", "ad_rewards", "login", "exams")
    }
    # the first of each only: two logins (one keyed), of two players
    assert windows == dict.fromkeys(windows, 1) | {"login": 2}


def test_with_an_address_a_login_of_a_day_claimed_in_the_players_own_zone_is_two(
    funded, clock, real_redis, server_headers
):
    """A player with a time zone whose local day is claimed: the address's slot and the
    read that shows the claim (the claimed day's end is still ahead) in one round trip,
    the login that changes nothing, with the slot given back, in the other (all within
    the second the ban copy stays current)."""
    for player, zone in (("alice", "Asia/Tokyo"), ("bob", "America/Los_Angeles")):
        response = funded.put(
            f"/v1/players/{player}/settings", headers=server_headers, json={"timezone": zone}
        )
        assert response.status_code == 200
        first = funded.post(f"/v1/players/{player}/login", headers=server_headers | IP)
        assert first.get_json()["claimed"] is True
        for _ in range(3):
            clock.advance(seconds=0.05)
            with sent_commands() as sent:
                again = funded.post(f"/v1/players/{player}/login", headers=server_headers | IP)
            assert again.get_json()["claimed"] is False
            assert sent.round_trips == 2, (player, dict(sent.commands))
    window = keys.address_rate_window("login", IP["X-Player-IP"])
    assert real_redis.zcard(window) == 2  # the two claims only


def test_with_an_address_a_zoned_players_next_day_is_counted_once_their_claimed_day_ends(
    funded, clock, real_redis, server_headers
):
    """Past the end of the claimed local day the claim is not known to change nothing:
    the next login claims, counted in the address's window like the first."""
    funded.put(
        "/v1/players/alice/settings", headers=server_headers, json={"timezone": "Asia/Tokyo"}
    )
    assert funded.post("/v1/players/alice/login", headers=server_headers | IP).get_json()["claimed"]
    claim_ends = int(real_redis.hget(keys.streak("alice"), "claim_ends"))
    clock.set(datetime.fromtimestamp(claim_ends, UTC) + timedelta(minutes=1))
    after = funded.post("/v1/players/alice/login", headers=server_headers | IP)
    assert (after.get_json()["claimed"], after.get_json()["streak"]) == (True, 2)
    assert real_redis.zcard(keys.address_rate_window("login", IP["X-Player-IP"])) == 2


def test_a_zone_left_behind_is_never_taken_for_a_claimed_day():
    """A claim made in a zone the player no longer keeps: only the script can tell."""
    claim_ends_ms = 2_000_000_000_000
    claim = (b"739945", str(claim_ends_ms // 1000).encode(), b"739945")
    assert activity._changes_nothing(None, 739945, claim_ends_ms - 1, claim, 1)
    assert not activity._changes_nothing(None, 739945, claim_ends_ms - 1, claim, 0)
    assert not activity._changes_nothing(None, 739945, claim_ends_ms, claim, 1)
    # claimed in the hash of the date before: the script counts that date's login
    early = (b"739945", str(claim_ends_ms // 1000).encode(), b"739944")
    assert not activity._changes_nothing(None, 739945, claim_ends_ms - 1, early, 1)


def test_an_exam_pays_no_round_trip_for_its_ban_check(apps, funded, clock, server_headers):
    """An exam's own round trips are the engine's (engine.boards.exams); the ban check
    adds none, the address's window one."""
    engine = apps[0].extensions["questboard.engine"]
    counts = []
    for n, headers in enumerate((server_headers, server_headers, server_headers | IP)):
        clock.advance(seconds=0.2)
        with sent_commands() as sent:
            exam = EXAM | {"exam_id": f"http-{n}"}
            response = funded.post("/v1/players/bob/exams", headers=headers, json=exam)
            assert response.status_code == 201
        counts.append(sent.round_trips)
    clock.advance(seconds=0.2)
    with sent_commands() as sent:
        exams.record_exam(engine, "bob", exams.Exam("direct", "math", 10, 10, 5))
    assert counts[1:] == [sent.round_trips, sent.round_trips + 1]


def test_reads_without_a_player_add_no_round_trip_for_their_security(funded, clock, server_headers):
    funded.post("/v1/players/alice/exams", headers=server_headers, json=EXAM)
    path = "/v1/leaderboards/weekly/players/alice?around=5"
    counts = []
    for headers in (server_headers, server_headers | IP) * 2:
        with sent_commands() as sent:
            assert funded.get(path, headers=headers).status_code == 200
        counts.append(sent.round_trips)
    assert counts[2:] == [1, 2]  # read_board; the address's window first
    with sent_commands() as sent:
        assert funded.get("/v1/catalog", headers=server_headers | IP).status_code == 200
    assert sent.round_trips == 1  # the address's window only


def test_the_ban_copy_is_checked_once_a_second_with_one_small_read(funded, clock, server_headers):
    funded.get("/v1/players/alice/wallet", headers=server_headers)
    clock.advance(seconds=1)
    with sent_commands() as sent:
        for _ in range(5):
            funded.get("/v1/players/alice/wallet", headers=server_headers)
    # the first read of the new second asks for the bans' new changes; no other reads
    assert (sent.round_trips, dict(sent.commands)) == (6, {"xrange": 2, "evalsha": 5})


def banned(response) -> bool:
    return response.status_code == 403 and error_of(response)["code"] == "banned"


def test_a_ban_made_in_one_process_is_enforced_by_another_within_a_second(
    clients, clock, server_headers, admin_headers
):
    first, second = clients
    assert second.get("/v1/players/mallory/wallet", headers=server_headers).status_code == 200
    created = first.post(
        "/v1/admin/player-bans", headers=admin_headers, json={"player_id": "mallory", "reason": "x"}
    )
    assert created.status_code == 201
    assert banned(first.get("/v1/players/mallory/wallet", headers=server_headers))  # at once
    clock.advance(seconds=1)
    assert banned(second.get("/v1/players/mallory/wallet", headers=server_headers))
    exam = second.post("/v1/players/mallory/exams", headers=server_headers, json=EXAM)
    assert banned(exam)

    lifted = first.delete(
        f"/v1/admin/player-bans/{created.get_json()['id']}", headers=admin_headers
    )
    assert lifted.status_code == 204
    clock.advance(seconds=1)
    assert second.get("/v1/players/mallory/wallet", headers=server_headers).status_code == 200


def test_a_ban_by_another_engine_reaches_every_app_within_a_second(
    apps, clients, settings, real_redis, clock, server_headers
):
    """The CLI, an RQ job or another web node: an engine of its own on the same Redis."""
    for client in clients:
        assert client.get("/v1/players/p1/wallet", headers=server_headers | IP).status_code == 200
    elsewhere = build_engine(settings, real_redis, clock)
    ban = bans.create(elsewhere, "ip", "198.51.100.0/24", "card testing")
    clock.advance(seconds=1)
    for client in clients:
        refused = client.get("/v1/players/p1/wallet", headers=server_headers | IP)
        assert banned(refused)
        assert error_of(refused)["details"]["ban_id"] == ban.ban_id
    bans.delete(elsewhere, "ip", ban.ban_id)
    clock.advance(seconds=1)
    for client in clients:
        assert client.get("/v1/players/p1/wallet", headers=server_headers | IP).status_code == 200


def tighten(apps, group: str, **limits) -> None:
    for app in apps:
        engine = app.extensions["questboard.engine"]
        security = engine.rules.security
        tight = dataclasses.replace(security.rate_limits[group], **limits)
        engine.rules = dataclasses.replace(
            engine.rules,
            security=dataclasses.replace(
                security, rate_limits={**security.rate_limits, group: tight}
            ),
        )


READS = ["wallet", "ledger", "daily", "missions", "battle-pass", "ranks"]


@pytest.mark.parametrize("read", READS)
def test_every_player_read_counts_in_one_window_across_processes(
    apps, clients, clock, server_headers, read
):
    tighten(apps, "default", player="3/minute")
    codes = []
    for n in range(4):
        clock.advance(seconds=1)
        codes.append(clients[n % 2].get(f"/v1/players/alice/{read}", headers=server_headers))
    assert [response.status_code for response in codes] == [200, 200, 200, 429]
    assert codes[3].headers["Retry-After"] == "57"
    assert error_of(codes[3]) == {
        "code": "rate_limited",
        "message": "Too many requests: the limit is 3/minute per player.",
        "details": {"limit": "3/minute", "scope": "player", "group": "default", "retry_after": 57},
    }
    other = clients[0].get(f"/v1/players/bob/{read}", headers=server_headers)
    assert other.status_code == 200  # bob has a window of his own


def test_an_address_limit_holds_across_processes(apps, clients, clock, server_headers):
    tighten(apps, "default", address="3/minute")
    codes = []
    for n in range(4):
        clock.advance(seconds=1)
        response = clients[n % 2].get(
            f"/v1/players/p{n}/wallet", headers=server_headers | {"X-Player-IP": "2001:db8::1"}
        )
        codes.append(response.status_code)
    assert codes == [200, 200, 200, 429]
    # the same /64, another player and process: the same window
    same_64 = server_headers | {"X-Player-IP": "2001:db8::2"}
    over = clients[0].get("/v1/tool-of-the-day", headers=same_64)
    assert (over.status_code, error_of(over)["details"]["scope"]) == (429, "address")


def test_admin_routes_take_no_limit_and_no_ban(apps, clients, clock, admin_headers, server_headers):
    tighten(apps, "default", player="1/minute", address="1/minute")
    bans.create(apps[0].extensions["questboard.engine"], "player", "mallory", "x")
    for _ in range(3):
        flags = clients[0].get("/v1/admin/players/mallory/flags", headers=admin_headers | IP)
        assert flags.status_code == 200
