"""Every answer the spec documents decodes: each operation's 2xx example, the same with
every optional field left out and every nullable one null (a current period, a member
without a zone, no prize), and the same with fields a later server may add, at every
level of the body (an older client ignores them).

The spec is the app's own /openapi.json (the `app` fixture, fakeredis, fixed clock);
the decoders are the ones both clients use (questboard_client.calls).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from questboard_client import calls
from questboard_client.call import Answer, Call
from questboard_client.routes import ROUTES

CALLS: dict[str, Call[Any]] = {
    "getHealth": calls.health(),
    "getCatalog": calls.catalog(),
    "getWallet": calls.wallet("alice", None),
    "createPurchase": calls.purchase("alice", "logs", 1, None, None, None),
    "listLedgerEntries": calls.ledger_page("alice", 50, None, None),
    "createGrant": calls.grant("alice", {"coins": 1}, "gift", None),
    "recordExam": calls.record_exam("alice", "attempt-1", "math", 1, 1, 1, None),
    "recordExamBatch": calls.record_exam_batch([]),
    "createGrantBatch": calls.grant_batch([]),
    "listWallets": calls.wallets(["alice"]),
    "listLeaderboard": calls.leaderboard("weekly", None, None, 10, 0, "live", None),
    "getLeaderboardStanding": calls.around_me("weekly", "alice", None, None, 5, None),
    "listPlayerRanks": calls.player_ranks("alice", None),
    "getDaily": calls.daily("alice", None),
    "listMissions": calls.missions("alice", None),
    "claimLogin": calls.login("alice", None),
    "createAdReward": calls.ad_reward("alice", None, None),
    "repairStreak": calls.repair_streak("alice", None, None),
    "getBattlePass": calls.battle_pass("alice", None, None),
    "getPlayerLeague": calls.player_league("alice", None),
    "getLeagueCohort": calls.league_cohort("2026-W48", "bronze-1"),
    "getPlayerSettings": calls.get_settings("alice", None),
    "setPlayerSettings": calls.put_settings("alice", None, None),
    "getToolOfTheDay": calls.tool_of_the_day(None),
    "setToolOfTheDay": calls.set_tool_of_the_day("concrete"),
    "createIpBan": calls.ban_ip("192.0.2.1", "bots", None),
    "listIpBans": calls.ip_bans(),
    "createPlayerBan": calls.ban_player("mallory", "bots", None),
    "listPlayerBans": calls.player_bans(),
}
NO_BODY = {"deleteIpBan", "deletePlayerBan"}  # 204


@pytest.fixture
def documented(app) -> list[tuple[str, int, Any, dict[str, Any], dict[str, Any]]]:
    """(operation, status, example, spec, schema) of every 2xx JSON answer of the
    client's operations (the spec to resolve the schema's references)."""
    spec = app.test_client().get("/openapi.json").get_json()
    found = []
    for item in spec["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or operation.get("operationId") not in ROUTES:
                continue
            for status, answer in operation["responses"].items():
                content = answer.get("content", {}).get("application/json")
                if status.startswith("2") and content:
                    example, schema = named_board(content["example"]), content["schema"]
                    found.append((operation["operationId"], int(status), example, spec, schema))
    return found


def named_board(example: Any) -> Any:
    """The example with a board's `board`, `category` and `period` as the server sends
    them: the spec gives these three fields (marshmallow Function fields in
    web/leaderboards.py) no type, and `{}` as their example."""
    if isinstance(example, list):
        return [named_board(item) for item in example]
    if not isinstance(example, dict):
        return example
    named = {name: named_board(item) for name, item in example.items()}
    if {"board", "category", "period"} <= set(named) and named["board"] == {}:
        named |= {"board": "weekly", "category": None, "period": "2026-W48"}
    return named


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def nullable(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type")
    return (isinstance(kinds, list) and "null" in kinds) or any(
        branch.get("type") == "null" for branch in schema.get("anyOf", ())
    )


def least(spec: dict[str, Any], schema: dict[str, Any], value: Any) -> Any:
    """`value` with every optional property left out and every nullable one null."""
    schema = resolve(spec, schema)
    for branch in schema.get("anyOf", ()):
        if branch.get("type") != "null":
            return least(spec, branch, value)
    if isinstance(value, list):
        return [least(spec, schema.get("items", {}), item) for item in value]
    if not isinstance(value, dict) or "properties" not in schema:
        return value
    required = set(schema.get("required", ()))
    kept = {}
    for name, item in value.items():
        prop = schema["properties"].get(name, {})
        if name not in required:
            continue
        # A batch item answers its result or its error: its example's result stays.
        null = nullable(resolve(spec, prop)) and name != "result"
        kept[name] = None if null else least(spec, prop, item)
    return kept


def later(value: Any) -> Any:
    """`value` with a field a later server might add in every object."""
    if isinstance(value, list):
        return [later(item) for item in value]
    if isinstance(value, dict) and not all(isinstance(v, int) for v in value.values()):
        return {name: later(item) for name, item in value.items()} | {
            "added_later": {"nested": [1, "two", None]}
        }
    return value  # amounts: resource names to integers, a new resource is just a key


def test_every_operation_of_the_client_has_a_documented_answer(documented):
    assert {operation for operation, *_ in documented} == set(ROUTES) - NO_BODY == set(CALLS)


def test_every_documented_answer_decodes_as_sent_at_its_least_and_with_later_fields(
    documented,
):
    for operation, status, example, spec, schema in documented:
        decode = CALLS[operation].decode
        for variant in (example, least(spec, schema, copy.deepcopy(example)), later(example)):
            try:
                decode(Answer(status, variant, replayed=False))
            except Exception as error:  # any: the message names the variant that failed
                raise AssertionError(f"{operation} {status}: {error!r} for {variant}") from error
