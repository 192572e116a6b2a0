"""The HTTP cost benchmark's measurements measure what they say (`make bench-http`).

The command counter counts single commands and pipelines with their round trips, a
request sends what its route reads from Redis, templates fill every field, wrk's
results are read from its script's line and a paced script books one send slot per
request, a tiny run answers every request; a player-day's key families are named and
its rows add up. How the benchmark runs (its Redis lease, the servers under test and
their options, two runs on one machine): tests/test_bench_http_servers.py.
"""

from __future__ import annotations

from collections import Counter

import pytest
import redis

from bench import http_ratio, http_routes, player_day_memory, wrk
from bench.http_routes import ROUTES
from bench.player_day_memory import Family, family_of
from bench.redis_count import Sent, sent_commands
from engine import keys
from tests.conftest import real_redis_url


def route(name: str) -> http_routes.Route:
    [found] = [candidate for candidate in ROUTES if candidate.name == name]
    return found


def test_the_counter_counts_single_commands_and_pipelines_with_their_round_trips(real_redis):
    real_redis.ping()  # the connection's handshake is not part of what is counted
    with sent_commands() as sent:
        real_redis.hgetall("wallet")
        pipeline = real_redis.pipeline(transaction=False)
        pipeline.exists("a")
        pipeline.get("b")
        pipeline.execute()

    assert sent == Sent(Counter({"hgetall": 1, "exists": 1, "get": 1}), round_trips=2)
    assert sent.total == 3


def test_the_counter_stops_counting_when_its_block_ends(real_redis):
    with sent_commands() as sent:
        real_redis.get("a")
    real_redis.get("b")

    assert sent == Sent(Counter({"get": 1}), round_trips=1)


def test_a_request_sends_what_its_route_reads_from_redis(real_redis):
    url = real_redis_url()
    http_routes.seed_players(url, 3)
    apps = http_routes.in_process_apps(url)

    hgetall = http_routes.count_commands(apps, route("Flask + 1 HGETALL"), 3, requests=4)
    catalog = http_routes.count_commands(apps, route("catalog (auth, no Redis)"), 3, requests=4)
    bare = http_routes.count_commands(apps, route("bare Flask"), 3, requests=4)

    assert hgetall == http_routes.CommandCount(1.0, 1.0, {"hgetall": 1.0})
    assert catalog == http_routes.CommandCount(0.0, 0.0, {})
    assert bare == http_routes.CommandCount(0.0, 0.0, {})


def test_the_command_count_refuses_a_route_that_answers_errors(real_redis):
    url = real_redis_url()
    apps = http_routes.in_process_apps(url)
    unknown = http_routes.Route(
        "unknown", "service", wrk.RequestTemplate("GET", "/v1/nothing", http_routes.AUTH)
    )

    try:
        http_routes.count_commands(apps, unknown, 1, requests=2)
    except RuntimeError as error:
        assert str(error) == 'unknown: answers {"404": 5} in-process'
    else:
        raise AssertionError("a route answering 404 was counted")


def test_a_template_fills_every_field_of_path_headers_and_body():
    template = route("exam").request

    filled = template.fill({"player": "p7", "unique": "u-1", "score": "30", "correct": "4"})

    assert template.has_fields and not filled.has_fields
    assert filled.path == "/v1/players/p7/exams"
    assert filled.body == (
        '{"exam_id": "u-1", "category_id": "math", "score": 30, '
        '"total_questions": 10, "correct_answers": 4}'
    )
    assert route("purchase").request.fill({"unique": "k9", "player": "p1"}).headers == {
        "Authorization": f"Bearer {http_routes.SERVER_KEY}",
        "Content-Type": "application/json",
        "Idempotency-Key": "k9",
    }


def test_wrk_results_are_read_from_the_line_its_script_prints():
    output = "Running 1s test\nQB-RESULT 1500 1002000 850 12400 3 1\nRequests/sec: 1497\n"

    result = wrk.parse(output)

    assert result == wrk.WrkResult(1500, 1.002, 0.85, 12.4, 3, 1)
    assert round(result.rate, 1) == 1497.0


def test_a_paced_script_books_one_send_slot_per_request_at_the_asked_rate():
    paced = wrk.script(route("wallet").request, 10, rate=500.0)

    assert "local interval_ms = 4.000000" in paced  # 2 threads: 250/s each
    assert "function delay()" not in wrk.script(route("wallet").request, 10)


def test_a_tiny_run_gives_a_row_per_route_with_every_request_answered(real_redis):
    url = real_redis_url()
    http_routes.seed_players(url, 20)
    load = http_ratio.Load(players=20, seconds=1, rounds=1, latency_seconds=1, workers=1, threads=2)

    runs = http_ratio.measure_server("gunicorn-sync", url, ROUTES, load)

    assert list(runs) == [candidate.name for candidate in ROUTES]
    for name, run in runs.items():
        assert (name, run.non_2xx, run.socket_errors) == (name, 0, 0)
        assert len(run.rates) == 1 and run.rate > 0 and run.paced is not None
    # Each purchase and each exam had a key of its own: one record per request
    # (requests still in flight when wrk stopped are served too: up to 8 a run).
    purchase_records = len(list(real_redis.scan_iter("qb:*:idem:purchase:*", count=1000)))
    exam_records = len(list(real_redis.scan_iter("qb:*:exam:*", count=1000))) - 20  # seeds
    for records, name in ((purchase_records, "purchase"), (exam_records, "exam")):
        assert runs[name].requests <= records <= runs[name].requests + 2 * wrk.CONNECTIONS
    counts = {
        candidate.name: http_routes.CommandCount(1.0, 1.0, {"get": 1.0}) for candidate in ROUTES
    }
    rows = http_ratio.server_rows(runs, counts)
    assert [row[0] for row in rows] == [candidate.name for candidate in ROUTES]
    assert rows[1][2] == "1.00" and rows[2][3] == "1.00"  # each floor against itself


def test_every_key_family_of_a_players_day_is_named():
    assert family_of(keys.wallet("p1")) == "wallet"
    assert family_of(keys.ledger("p1")) == "ledger (Redis tail)"
    assert family_of(keys.idempotency("p1", "purchase", "k")) == "idempotency records"
    assert family_of(keys.exam("p1", "e1")) == "exam replay records"
    assert family_of(keys.daily("p1", "2026-11-28")) == "daily counters"
    assert family_of(keys.player_board_stats("p1", "weekly", "2026-W48")) == (
        "board stats (per player)"
    )
    assert family_of(keys.board_scores("weekly", "2026-W48", "math")) == (
        "boards (scores, aggregates)"
    )
    assert family_of(keys.outbox(3)) == "outbox streams (until persisted)"
    for window in (
        "qb:rl:LIMITER/player/login/p1/30/1/minute",
        "qb:{p01}:rate:login:p1",
        "qb:rate:login:10.0.0.1",
    ):
        assert family_of(window) == "rate-limit windows"
    assert family_of(keys.pace("p1", 100)) == "rapid-fire counters"
    assert family_of("somebody-else") == "other"


class KeyExpiringAfterScan(redis.Redis):
    """A client whose SCAN lists `gone`, which then expires before it is weighed."""

    gone = "qb:{p01}:wallet:gone"

    def scan_iter(self, *args, **kwargs):
        yield from super().scan_iter(*args, **kwargs)
        self.delete(self.gone)


def test_a_key_that_expires_before_it_is_weighed_counts_as_expired_not_as_zero_bytes(
    real_redis,
):
    real_redis.hset(keys.wallet("p1"), mapping={"coins": 5})
    real_redis.hset(KeyExpiringAfterScan.gone, mapping={"coins": 7})
    size = real_redis.memory_usage(keys.wallet("p1"), samples=0)

    families = player_day_memory.weigh(KeyExpiringAfterScan.from_url(real_redis_url()))

    assert families == {"wallet": Family(keys=1, bytes=size, expired=1)}


def test_a_player_day_leaves_its_keys_and_the_rows_add_up(real_redis):
    funded, after = player_day_memory.play_day(real_redis_url(), 3)

    assert funded["wallet"].keys == 3 and funded["idempotency records"].keys == 3
    assert after["wallet"].keys == 3
    assert after["idempotency records"].keys == 3 + 3 * 2  # the grant and two purchases
    assert after["exam replay records"].keys == 3 * 3
    rows = player_day_memory.rows(funded, after, 3)
    [wallet] = [row for row in rows if row[0] == "wallet"]
    wallets = after["wallet"]
    assert wallet == [
        "wallet",
        3,
        0,
        wallets.bytes / 3,  # bytes a key
        wallets.bytes / 3,  # bytes a player
        (wallets.bytes - funded["wallet"].bytes) / 3,
    ]
    total = rows[-1]
    keys_after = sum(family.keys for family in after.values())
    bytes_after = sum(family.bytes for family in after.values())
    assert total[:4] == ["total", keys_after, 0, bytes_after / keys_after]
    assert total[4] == bytes_after / 3
    assert total[5] == pytest.approx(total[4] - sum(f.bytes for f in funded.values()) / 3)
