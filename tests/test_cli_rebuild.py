"""`questboard persist` then `questboard rebuild`: a lost Redis comes back from SQL, and
a Redis that still holds live data is refused or kept as asked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cli import local
from engine import connection, keys
from engine.economy import grants, wallet
from tests.cli_harness import engine_of as engine_of  # a fixture: its own name
from tests.cli_harness import questboard as questboard  # a fixture: its own name


def test_persist_then_rebuild_restores_a_lost_redis(questboard, engine_of):
    grants.grant(engine_of, "alice", {"coins": 500}, "welcome gift", "welcome-alice")
    assert questboard("jobs", "run", "persist")[0] == 0
    questboard.redis_client.flushdb()  # Redis is lost
    assert wallet.balances(engine_of, "alice")["coins"] == 0

    code, out, err = questboard("rebuild")
    assert (code, err) == (0, "")
    assert out.startswith("  wallets: 1 / 1\n")
    assert re.search(r"^Rebuilt: wallets 1, ", out, re.MULTILINE)
    assert wallet.balances(engine_of, "alice")["coins"] == 500


def player_off_the_first_primary(client) -> str:
    """A player whose wallet is not on a cluster's first primary (any player elsewhere):
    a check that asked one node only would miss it."""
    if not connection.is_cluster(client):
        return "alice"
    first = client.get_primaries()[0].name
    for player in (f"player-{n}" for n in range(100)):
        if client.get_node_from_key(keys.wallet(player)).name != first:
            return player
    raise AssertionError("every player on the first primary")


@pytest.mark.also_on_cluster
def test_rebuild_refuses_a_redis_that_holds_live_wallets(questboard, engine_of):
    player = player_off_the_first_primary(questboard.redis_client)
    grants.grant(engine_of, player, {"coins": 500}, "welcome gift", "welcome")
    assert questboard("jobs", "run", "persist")[0] == 0
    grants.grant(engine_of, player, {"coins": 200}, "gift", "gift")  # not in SQL yet

    code, out, err = questboard("rebuild")

    assert (code, out) == (1, "")
    assert err.startswith("questboard: Redis already holds player data (")
    redis_url = local.embedded_redis_url(Path(questboard.env["QUESTBOARD_VAR"]))
    assert f", at {redis_url}): a rebuild would" in err  # the store as configured
    assert "--over-live-data" in err and "--keep-live-wallets" in err
    assert wallet.balances(engine_of, player)["coins"] == 700  # nothing written


def test_rebuild_after_a_partial_loss_keeps_the_wallets_redis_holds(questboard, engine_of):
    """A cluster that lost some masters' data: the players there come back from SQL, the
    others keep their live balances, changes not persisted yet included."""
    for player in ("alice", "bob"):
        grants.grant(engine_of, player, {"coins": 500}, "welcome gift", f"welcome-{player}")
    assert questboard("jobs", "run", "persist")[0] == 0
    grants.grant(engine_of, "bob", {"coins": 200}, "gift", "gift-bob")  # not in SQL yet
    grants.grant(engine_of, "alice", {"coins": 9}, "gift", "gift-alice")  # lost with alice's
    tag = keys.shard_tag(keys.shard_of("alice"))
    assert tag != keys.shard_tag(keys.shard_of("bob"))
    lost = list(questboard.redis_client.scan_iter(match=f"{keys.PREFIX}:{tag}:*"))
    questboard.redis_client.delete(*lost)  # alice's slot: her wallet, records, outbox

    code, out, err = questboard("rebuild", "--keep-live-wallets")

    assert (code, err) == (0, "")
    assert re.search(r"^Rebuilt: wallets 1, ", out, re.MULTILINE)  # alice's alone
    assert wallet.balances(engine_of, "alice")["coins"] == 500  # SQL's
    assert wallet.balances(engine_of, "bob")["coins"] == 700  # live, kept


def test_rebuild_refuses_both_ways_over_live_data_at_once_as_a_usage_mistake(questboard, capsys):
    code, out, err = questboard("rebuild", "--keep-live-wallets", "--over-live-data")
    assert (code, out, err) == (2, "", "")  # argparse wrote the usage to stderr
    assert "argument --over-live-data: not allowed with argument --keep-live-wallets" in (
        capsys.readouterr().err
    )


def test_rebuild_over_live_data_writes_sql_balances_when_asked_to(questboard, engine_of):
    grants.grant(engine_of, "alice", {"coins": 500}, "welcome gift", "welcome-alice")
    assert questboard("jobs", "run", "persist")[0] == 0
    grants.grant(engine_of, "alice", {"coins": 200}, "gift", "gift-alice")  # not in SQL yet

    code, out, err = questboard("rebuild", "--over-live-data")

    assert (code, err) == (0, "")
    assert re.search(r"^Rebuilt: wallets 1, ", out, re.MULTILINE)
    assert wallet.balances(engine_of, "alice")["coins"] == 500  # SQL's, as documented
