"""Every property of a documented success answer reaches the client's result.

For each route the client calls (`routes.ROUTES`), the walk builds the success body
that /openapi.json documents, every property present (a nullable one filled), decodes
it with the operation's `Call` (the decoder the sync and the async client share), then
gives one property at a time another value of its kind and decodes again: a property
whose change leaves the result unchanged is one the client drops. So a field the server
adds to an answer fails here, naming the route and the field, until the client decodes
it or `NOT_EXPOSED` says why it does not.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from questboard_client import calls
from questboard_client.call import Answer, Call
from questboard_client.decode import UnexpectedAnswer
from questboard_client.models import ExamAttempt, GrantOrder
from questboard_client.routes import ROUTES

Json = Any
Path = tuple[str | int, ...]

# Fields of a documented answer the client deliberately leaves out of its result, by
# (operationId, field as the failure names it), each with why. Nothing else may be, and
# an entry the client decodes after all (or the spec no longer has) fails the walk too.
# None today: every field of every answer a game server reads is in its result.
NOT_EXPOSED: dict[tuple[str, str], str] = {}

# A batch item holds its `result` or its `error`, the other null, and the decoder reads
# the one present: each item is walked once with its error null, once with its result null.
ALTERNATIVES: tuple[frozenset[str], ...] = (frozenset({"error"}), frozenset({"result"}))


def every_call() -> dict[str, Call[Any]]:
    """One `Call` per operation the client sends, built as its method builds it."""
    built: list[Call[Any]] = [
        calls.health(),
        calls.catalog(),
        calls.wallet("alice", None),
        calls.purchase("alice", "logs", 1, None, None, None),
        calls.ledger_page("alice", 50, None, None),
        calls.grant("alice", {"coins": 1}, "welcome", None),
        calls.record_exam("alice", "a-1", "math", 10, 10, 1, None),
        calls.record_exam_batch([ExamAttempt("alice", "a-1", "math", 10, 10, 1)]),
        calls.grant_batch([GrantOrder("alice", {"coins": 1}, "welcome")]),
        calls.wallets(["alice"]),
        calls.leaderboard("weekly", None, None, 10, 0, "live", None),
        calls.around_me("weekly", "alice", None, None, 2, None),
        calls.player_ranks("alice", None),
        calls.daily("alice", None),
        calls.missions("alice", None),
        calls.login("alice", None),
        calls.ad_reward("alice", None, None),
        calls.repair_streak("alice", None, None),
        calls.battle_pass("alice", None, None),
        calls.player_league("alice", None),
        calls.league_cohort("2026-W48", "bronze-1"),
        calls.get_settings("alice", None),
        calls.put_settings("alice", "Asia/Tokyo", None),
        calls.tool_of_the_day(None),
        calls.set_tool_of_the_day("concrete"),
        calls.ban_ip("192.0.2.1", "test", None),
        calls.ip_bans(),
        calls.lift_ip_ban("ban_1"),
        calls.ban_player("bob", "test", None),
        calls.player_bans(),
        calls.lift_player_ban("ban_1"),
    ]
    return {call.operation: call for call in built}


def resolved(spec: Json, schema: Json) -> Json:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def leaf_values(schema: Json) -> tuple[Json, Json]:
    """A value of the schema's kind, and another one."""
    if "enum" in schema:
        first, second = schema["enum"][:2]
        return first, second
    kind = schema.get("type")
    if isinstance(kind, list):
        [kind] = [k for k in kind if k != "null"]
    if kind == "object":  # a map: amounts of resources, an error's details
        key = schema.get("propertyNames", {}).get("enum", ["key"])[0]
        return {key: 1}, {key: 2}
    if kind == "string":
        return {
            "date": ("2026-11-25", "2026-11-26"),
            "date-time": ("2026-11-25T12:00:00+00:00", "2026-11-25T13:00:00+00:00"),
        }.get(schema.get("format"), ("one", "two"))
    return {"boolean": (True, False), "number": (0.5, 0.25)}.get(kind, (1, 2))


def sample(
    spec: Json, schema: Json, path: Path, null: frozenset[str], leaves: list[tuple[Path, Json]]
) -> Json:
    """The body `schema` documents, every property present; each leaf's path and
    other value appended to `leaves`. A nullable property named in `null` is null."""
    schema = resolved(spec, schema)
    if "anyOf" in schema:
        [present] = [option for option in schema["anyOf"] if option.get("type") != "null"]
        if path and path[-1] in null:
            return None
        return sample(spec, present, path, null, leaves)
    if "properties" in schema:
        return {
            name: sample(spec, sub, (*path, name), null, leaves)
            for name, sub in schema["properties"].items()
        }
    if schema.get("type") == "array":
        return [sample(spec, schema["items"], (*path, 0), null, leaves)]
    value, other = leaf_values(schema)
    leaves.append((path, other))
    return value


def with_value(body: Json, path: Path, value: Json) -> Json:
    changed = copy.deepcopy(body)
    place = changed
    for step in path[:-1]:
        place = place[step]
    place[path[-1]] = value
    return changed


def plain(result: Any) -> Any:
    """A result as comparable data (an exception, as a batch item's error, by value)."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        fields = dataclasses.fields(result)
        return (type(result).__name__, {f.name: plain(getattr(result, f.name)) for f in fields})
    if isinstance(result, BaseException):
        return (type(result).__name__, result.args, plain(vars(result)))
    if isinstance(result, list | tuple):
        return [plain(item) for item in result]
    if isinstance(result, dict):
        return {key: plain(value) for key, value in result.items()}
    return result


def named(path: Path) -> str:
    return ".".join("[]" if isinstance(step, int) else step for step in path).replace(".[]", "[]")


def success_schemas(spec: Json, method: str, template: str) -> Iterator[tuple[int, Json]]:
    responses = spec["paths"][template][method.lower()]["responses"]
    for status, response in responses.items():
        if status.startswith("2") and "content" in response:
            yield int(status), response["content"]["application/json"]["schema"]


def dropped_fields(spec: Json, operation: str, call: Call[Any]) -> set[str]:
    """The fields of the operation's documented answers whose value its result ignores."""
    decoded: set[str] = set()
    seen: set[str] = set()
    for status, schema in success_schemas(spec, *ROUTES[operation]):
        for null in ALTERNATIVES:
            leaves: list[tuple[Path, Json]] = []
            body = sample(spec, schema, (), null, leaves)
            try:
                first = plain(call.decode(Answer(status, body, replayed=False)))
            except UnexpectedAnswer as refused:
                pytest.fail(f"{operation} cannot decode its documented {status} answer: {refused}")
            for path, other in leaves:
                changed = call.decode(Answer(status, with_value(body, path, other), False))
                seen.add(named(path))
                if plain(changed) != first:
                    decoded.add(named(path))
    return seen - decoded


def test_every_field_of_every_answer_the_client_reads_is_in_its_result(app):
    spec = app.test_client().get("/openapi.json").get_json()
    built = every_call()
    assert set(built) == set(ROUTES), "a route without a call in every_call()"

    dropped = {
        operation: dropped_fields(spec, operation, call) for operation, call in built.items()
    }

    not_decoded = {
        f"{operation} ({' '.join(ROUTES[operation])})": sorted(
            field for field in fields if (operation, field) not in NOT_EXPOSED
        )
        for operation, fields in dropped.items()
    }
    assert {route: fields for route, fields in not_decoded.items() if fields} == {}
    assert [entry for entry in NOT_EXPOSED if entry[1] not in dropped[entry[0]]] == []
