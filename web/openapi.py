"""The OpenAPI document says exactly what the server does.

The decorators describe each route's own schemas; this module adds, once for every
operation, what the layers around the views do: the responses of authentication,
bans, rate limits, validation and an unavailable store (web.auth, web.security,
web.errors), the `X-Player-IP` header, the `Retry-After` and `Idempotent-Replayed`
response headers, a stable `operationId`, the error schema on every error status
with the codes that status carries, and an example on every request body, parameter
and response (built from the schemas, so an example can never disagree with them).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from web.errors import CODE_BY_STATUS, STATUS_BY_CODE
from web.security import ADDRESS_HEADER

ERROR_REF = {"$ref": "#/components/schemas/Error"}


@dataclass(frozen=True)
class Operation:
    operation_id: str
    errors: dict[int, tuple[str, ...]] = field(default_factory=dict)  # beyond the generic ones
    replayable: bool = False  # answers a replay with Idempotent-Replayed: true


RAPID_FIRE = (429, ("rapid_fire",))

# Blueprint endpoint -> its operation. A route missing here stops the app at start-up.
OPERATIONS: dict[str, Operation] = {
    "health.healthz": Operation("getHealth"),
    "catalog.catalog": Operation("getCatalog"),
    "wallets.get_wallet": Operation("getWallet"),
    "purchases.create_purchase": Operation(
        "createPurchase",
        {
            404: ("unknown_item",),
            409: ("insufficient_funds", "price_changed", "balance_limit_exceeded"),
            422: ("idempotency_key_reused",),
            RAPID_FIRE[0]: RAPID_FIRE[1],
        },
        replayable=True,
    ),
    "ledger.get_ledger": Operation("listLedgerEntries"),
    "grants.create_grant": Operation(
        "createGrant",
        {
            409: ("insufficient_funds", "balance_limit_exceeded"),
            422: ("idempotency_key_reused",),
            RAPID_FIRE[0]: RAPID_FIRE[1],
        },
        replayable=True,
    ),
    "exams.record_exam": Operation(
        "recordExam", {422: ("idempotency_key_reused",), RAPID_FIRE[0]: RAPID_FIRE[1]}
    ),
    "leaderboards.top": Operation("listLeaderboard", {404: ("period_expired",)}),
    "leaderboards.around": Operation(
        "getLeaderboardStanding", {404: ("not_ranked", "period_expired")}
    ),
    "leaderboards.player_ranks": Operation("listPlayerRanks"),
    "daily.get_daily": Operation("getDaily"),
    "daily.get_missions": Operation("listMissions"),
    "daily.login": Operation("claimLogin", {RAPID_FIRE[0]: RAPID_FIRE[1]}),
    "streaks.repair_streak": Operation(
        "repairStreak",
        {409: ("insufficient_funds", "streak_not_repairable"), 422: ("idempotency_key_reused",)},
        replayable=True,
    ),
    "ads.create_ad_reward": Operation(
        "createAdReward",
        {
            409: ("daily_limit_reached",),
            422: ("idempotency_key_reused",),
            RAPID_FIRE[0]: RAPID_FIRE[1],
        },
        replayable=True,
    ),
    "battle_pass.get_battle_pass": Operation("getBattlePass", {404: ("not_found",)}),
    "tools.get_tool": Operation("getToolOfTheDay"),
    "tools.put_tool": Operation("setToolOfTheDay"),
    "clock.set_clock": Operation("setClock"),
    "clock.reset_clock": Operation("resetClock"),
    "bans.create_ip_ban": Operation("createIpBan"),
    "bans.list_ip_bans": Operation("listIpBans"),
    "bans.delete_ip_ban": Operation("deleteIpBan", {404: ("not_found",)}),
    "bans.create_player_ban": Operation("createPlayerBan"),
    "bans.list_player_bans": Operation("listPlayerBans"),
    "bans.delete_player_ban": Operation("deletePlayerBan", {404: ("not_found",)}),
    "security_admin.list_events": Operation("listSecurityEvents"),
    "security_admin.player_flags": Operation("getPlayerFlags"),
    "security_admin.remove_from_leaderboards": Operation("removePlayerFromLeaderboards"),
    "jobs_admin.list_jobs": Operation("listJobs"),
    "jobs_admin.run_job": Operation("runJob", {404: ("not_found",)}),
    "batches.record_exam_batch": Operation("recordExamBatch"),
    "batches.create_grant_batch": Operation("createGrantBatch"),
    "batches.list_wallets": Operation("listWallets"),
    "webhooks.create_webhook": Operation("createWebhook"),
    "webhooks.list_webhooks": Operation("listWebhooks"),
    "webhooks.get_webhook": Operation("getWebhook", {404: ("not_found",)}),
    "webhooks.change_webhook": Operation("updateWebhook", {404: ("not_found",)}),
    "webhooks.delete_webhook": Operation("deleteWebhook", {404: ("not_found",)}),
    "webhooks.test_webhook": Operation("testWebhook", {404: ("not_found",)}),
    "webhooks.rotate_webhook_secret": Operation("rotateWebhookSecret", {404: ("not_found",)}),
    "webhooks.list_webhook_deliveries": Operation("listWebhookDeliveries", {404: ("not_found",)}),
    "webhooks.redeliver_webhook": Operation("redeliverWebhook", {404: ("not_found",)}),
    "leagues.get_player_league": Operation("getPlayerLeague"),
    "leagues.get_cohort": Operation("getLeagueCohort", {404: ("not_found",)}),
    "settings.get_settings": Operation("getPlayerSettings"),
    "settings.put_settings": Operation("setPlayerSettings", {422: ("unknown_timezone",)}),
}

# The one-line summary of each operation, where its docstring gives none.
SUMMARIES = {
    "getHealth": "Liveness and the engine's clock",
    "getCatalog": "What players can buy, at the server's prices",
    "getWallet": "A player's balances",
    "createPurchase": "Buy a catalog item, exactly once per Idempotency-Key",
    "listLedgerEntries": "A player's balance changes, newest first",
    "createGrant": "Add or remove a player's resources (admin)",
    "recordExam": "Count an exam result into every current board, once per exam_id",
    "listLeaderboard": "The top of a board",
    "getLeaderboardStanding": "A player's entry on a board and the entries around it",
    "listPlayerRanks": "A player's entry on every current board",
    "getDaily": "A player's game day: login, ads and missions",
    "listMissions": "Today's missions and the player's progress",
    "claimLogin": "Claim the day's login bonus",
    "repairStreak": "Buy back a broken streak within its window, once per break",
    "getPlayerSettings": "A player's settings: their time zone",
    "setPlayerSettings": "Set a player's time zone (their own day for daily progress)",
    "createAdReward": "The reward for a watched ad, within the daily cap",
    "getBattlePass": "A player's XP, level and rewards in a season",
    "getToolOfTheDay": "Today's tool",
    "setToolOfTheDay": "Override today's tool (admin)",
    "setClock": "Set the engine clock (QA only, admin)",
    "resetClock": "Return the engine clock to real time (QA only, admin)",
    "createIpBan": "Ban an address or network (admin)",
    "listIpBans": "The address bans in force (admin)",
    "deleteIpBan": "Lift an address ban (admin)",
    "createPlayerBan": "Ban a player (admin)",
    "listPlayerBans": "The player bans in force (admin)",
    "deletePlayerBan": "Lift a player ban (admin)",
    "listSecurityEvents": "Security events, newest first (admin)",
    "getPlayerFlags": "A player's violation counts and block (admin)",
    "removePlayerFromLeaderboards": "Take a player off every kept board (admin)",
    "listJobs": "The jobs' schedule and state (admin)",
    "runJob": "Queue a job run now (admin)",
    "recordExamBatch": "Count up to 500 exam results of many players, each answered on its own",
    "createGrantBatch": "Up to 100 grants, each once per its own key, each answered (admin)",
    "listWallets": "Up to 100 players' balances in one request",
    "createWebhook": "Subscribe a URL to events; the signing secret is shown once (admin)",
    "listWebhooks": "The webhook subscriptions (admin)",
    "getWebhook": "One webhook subscription (admin)",
    "updateWebhook": "Change a subscription's URL, events or enabled state (admin)",
    "deleteWebhook": "Remove a webhook subscription and its delivery log (admin)",
    "testWebhook": "Queue a ping event to a subscription (admin)",
    "rotateWebhookSecret": "A new signing secret; the old one signs too for a grace period",
    "listWebhookDeliveries": "A subscription's delivery log, newest first (admin)",
    "redeliverWebhook": "Send a delivery again (admin)",
    "getPlayerLeague": "A player's tier, cohort standings and zones in the current period",
    "getLeagueCohort": "One cohort's standings in a period, current or closed",
}

ERROR_CODES = sorted({*STATUS_BY_CODE, *CODE_BY_STATUS.values(), "bad_request"})

CODE_MEANINGS = {
    "validation_error": "the request is malformed; `details` names each field and problem",
    "unauthorized": "no valid API key (Authorization: Bearer)",
    "forbidden": "the key's role may not use this route",
    "banned": "the player or the player's address is banned (`details.reason`)",
    "not_found": "no such resource",
    "unknown_item": "no such catalog item",
    "not_ranked": "the player has no score on that board",
    "period_expired": "the period is past its retention",
    "insufficient_funds": "a balance would fall below zero; nothing changed",
    "price_changed": "the server's price is not `expected_price`; nothing bought",
    "balance_limit_exceeded": "a balance would pass the rules' max_balance; nothing changed",
    "daily_limit_reached": "the day's cap is reached; nothing granted",
    "idempotency_key_reused": "the key was used for a different request",
    "rapid_fire": "too many changes by this player in one second; retry after Retry-After",
    "rate_limited": "over a rate limit; retry after Retry-After",
    "service_unavailable": "Redis or the SQL database is unavailable; retry with the same key",
}

STATUS_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Request body too large",
    422: "Idempotency key reused",
    429: "Too many requests",
    503: "Service unavailable",
}

RETRY_AFTER = {
    "description": "Seconds to wait before retrying.",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "example": 1},
}
IDEMPOTENT_REPLAYED = {
    "description": "Present on a replay: this is the first answer to the same key, again.",
    "required": False,
    "schema": {"type": "string", "enum": ["true"], "example": "true"},
}
PLAYER_ADDRESS = {
    "in": "header",
    "name": ADDRESS_HEADER,
    "required": False,
    "description": "The player's IP address, as the game server saw it: checked against "
    "address bans and per-address rate limits; malformed is 400.",
    "schema": {
        "anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}]
    },
    "example": "203.0.113.7",
}
ERROR_DETAIL_EXAMPLES = {
    "validation_error": {"quantity": ["Must be between 1 and 100."]},
    "insufficient_funds": {"resource": "coins", "required": 100, "available": 40},
    "rate_limited": {"limit": "10/minute", "scope": "player", "group": "purchases"},
    "service_unavailable": {"retry_after": 1, "store": "live"},
}


def error_schema_properties() -> dict[str, Any]:
    """The `code` property of the Error schema: the closed list of codes."""
    return {"enum": ERROR_CODES}


def generic_errors(path: str, operation: dict) -> dict[int, list[str]]:
    """The error statuses every route of this kind can answer, with their codes."""
    if not path.startswith("/v1/"):
        return {}
    errors: dict[int, list[str]] = {400: ["validation_error"], 401: ["unauthorized"]}
    if path.startswith("/v1/admin/"):
        errors[403] = ["forbidden"]
    else:
        errors[403] = ["banned"]
        errors[429] = ["rate_limited"]
    if "requestBody" in operation:
        errors[413] = ["validation_error"]
    errors[503] = ["service_unavailable"]
    return errors


def declared_error_codes(operation: dict) -> dict[int, list[str]]:
    """The codes a route's own `alt_response` descriptions name, by status (or, once
    completed, the codes listed in `x-error-codes`)."""
    found: dict[int, list[str]] = {}
    for status, response in operation.get("responses", {}).items():
        if not status.isdigit() or int(status) < 400:
            continue
        codes = response.get("x-error-codes") or [
            code
            for code in ERROR_CODES
            if re.search(rf"\b{code}\b", response.get("description", ""))
        ]
        if codes:
            found[int(status)] = codes
    return found


def error_response(status: int, codes: list[str]) -> dict[str, Any]:
    meanings = "; ".join(f"`{code}`: {CODE_MEANINGS.get(code, code)}" for code in codes)
    first = codes[0]
    response: dict[str, Any] = {
        "description": f"{STATUS_TITLES.get(status, 'Error')}. {meanings}.",
        "x-error-codes": codes,
        "content": {
            "application/json": {
                "schema": ERROR_REF,
                "example": {
                    "error": {
                        "code": first,
                        "message": CODE_MEANINGS.get(first, first).capitalize() + ".",
                        "details": ERROR_DETAIL_EXAMPLES.get(first, {}),
                    }
                },
            }
        },
    }
    if status in (429, 503):
        response["headers"] = {"Retry-After": RETRY_AFTER}
    return response


def complete_operation(
    path: str, method: str, operation: dict, components: dict, path_parameters: list
) -> None:
    """Add the generic responses, headers and examples to one operation, in place."""
    described = OPERATIONS_BY_ID.get(operation.get("operationId", ""))
    if described and "summary" not in operation:
        operation["summary"] = SUMMARIES[described.operation_id]
    errors = generic_errors(path, operation)
    declared = [(described.errors if described else {}), declared_error_codes(operation)]
    for extra in declared:
        for status, codes in extra.items():
            known = errors.setdefault(status, [])
            known.extend(code for code in codes if code not in known)
    responses = operation["responses"]
    responses.pop("default", None)
    for status, codes in errors.items():
        responses[str(status)] = error_response(status, codes)
    for status, response in responses.items():
        media = response.get("content", {}).get("application/json")
        if media is not None and "example" not in media:
            media["example"] = example_of(media["schema"], components)
        if described and described.replayable and status.startswith("2"):
            response.setdefault("headers", {})["Idempotent-Replayed"] = IDEMPOTENT_REPLAYED
    if path.startswith("/v1/") and not path.startswith("/v1/admin/"):
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == ADDRESS_HEADER for p in parameters):
            parameters.append(copy.deepcopy(PLAYER_ADDRESS))
    for parameter in [*operation.get("parameters", []), *path_parameters]:
        if "example" not in parameter and "schema" in parameter:
            parameter["example"] = example_of(parameter["schema"], components)
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None and "example" not in body:
        body["example"] = example_of(body["schema"], components)


def complete(spec) -> None:
    """Complete every operation of the apispec `spec`; idempotent (runs per blueprint)."""
    components = spec.components.schemas
    error = components.get("Error")
    if error is not None:
        error_info = components[error["properties"]["error"]["$ref"].rsplit("/", 1)[1]]
        error_info["properties"]["code"].update(error_schema_properties())
    for path, item in spec._paths.items():
        path_parameters = item.get("parameters", [])
        for method, operation in item.items():
            if method != "parameters":
                complete_operation(path, method, operation, components, path_parameters)


OPERATIONS_BY_ID = {operation.operation_id: operation for operation in OPERATIONS.values()}


# Examples ------------------------------------------------------------------------------

SAMPLE_STRINGS = {
    "date-time": "2026-11-25T12:00:00+00:00",
    "date": "2026-11-25",
}
# A plain string property's example by its name, where its schema gives none.
SAMPLE_BY_NAME = {
    "player_id": "alice",
    "transaction_id": "1795606945607-0",
    "reason": "welcome gift",
    "title": "Steel beam",
    "kind": "purchase",
    "target": "203.0.113.0/24",
    "created_by": "admin",
    "status": "succeeded",
    "name": "leaderboard_snapshot",
    "description": "Snapshot the top of every leaderboard.",
    "schedule": "every 2 hours",
    "season": "2026-autumn",
    "rule": "impossible_amount",
    "action": "refused",
    "address": "203.0.113.7",
    "event": "solve_questions",
    "error": "Redis is unreachable.",
    "run_id": "run_8c1d2e3f",
    "job": "leaderboard_snapshot",
    "queue_job_id": "5f0c7d2a-8e7b-4c4e-9a53-0d8f6b1c2e3a",
    "board": "weekly",
    "period": "2026-W48",
    "category": "math",
    "category_id": "math",
    "exam_id": "attempt-5521",
    "item": "steel",
    "tool": "brickwork",
    "redis": "ok",
}


def example_of(schema: dict, components: dict, depth: int = 0, name: str = "") -> Any:
    """An example value valid against `schema`: its own example, else one built from
    its type, bounds and properties (references followed through `components`)."""
    if "$ref" in schema:
        return example_of(components[schema["$ref"].rsplit("/", 1)[1]], components, depth)
    if "example" in schema:
        return copy.deepcopy(schema["example"])
    if "enum" in schema:
        return next(value for value in schema["enum"] if value is not None)
    for combination in ("anyOf", "oneOf", "allOf"):
        if combination in schema:
            choices = [c for c in schema[combination] if c.get("type") != "null"]
            if choices and "format" not in choices[0]:
                return example_of(choices[0], components, depth)
    types = schema.get("type", "object")
    kind = next((t for t in types if t != "null"), "null") if isinstance(types, list) else types
    if kind == "object":
        return object_example(schema, components, depth)
    if kind == "array":
        return [example_of(schema.get("items", {}), components, depth + 1)] if depth < 4 else []
    if kind == "integer":
        low = schema.get("minimum", 0)
        high = schema.get("maximum", max(low, 1))
        value = min(max(low, 1), high)
        return value if value != 0 or schema.get("not") != {"const": 0} else 1
    if kind == "number":
        return 0.8
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if "format" in schema:
        return SAMPLE_STRINGS.get(schema["format"], "alice")
    return SAMPLE_BY_NAME.get(name, "alice")


def object_example(schema: dict, components: dict, depth: int) -> dict:
    properties = schema.get("properties", {})
    example = {
        name: example_of(sub, components, depth + 1, name) for name, sub in properties.items()
    }
    names = schema.get("propertyNames", {}).get("enum")
    values = schema.get("additionalProperties")
    if names and isinstance(values, dict):
        wanted = max(1, schema.get("minProperties", 1))
        for name in names[:wanted]:
            example[name] = example_of(values, components, depth + 1)
    return example
