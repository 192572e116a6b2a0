"""The benchmarks measure what they say: a purchase benchmark's calls are purchases."""

from __future__ import annotations

import json

from bench import economy
from engine import keys
from tests.conftest import real_redis_url


def test_every_run_of_the_purchase_benchmark_buys_with_new_keys(real_redis):
    url = real_redis_url()
    economy.fund_everyone(url, 1)
    runs = [economy.measure("engine", url, 1, 0.3, url) for _ in range(2)]

    calls = sum(run.calls for run in runs) + len(runs)  # and one warm-up call per run
    purchases = sum(  # nothing persisted: each player's Redis ledger holds every entry
        json.loads(entry)[1] == "purchase"
        for player in economy.players(0)
        for entry in real_redis.lrange(keys.ledger(player), 0, -1)
    )
    # A repeated key would be answered as a replay, cheaper than a purchase.
    assert purchases == calls
    assert all(run.calls > 0 and run.client_cpu > 0 for run in runs)
