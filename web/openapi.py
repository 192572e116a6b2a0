"""The OpenAPI document says exactly what the server does.

The decorators describe each route's own schemas; this module adds, once for every
operation, what the layers around the views do: the responses of authentication,
bans, rate limits, validation and an unavailable store (web.auth, web.security,
web.errors), the `X-Player-IP` header, the `Retry-After` and `Idempotent-Replayed`
response headers, a stable `operationId` and summary (web.openapi_operations), the
error schema on every error status with the codes that status carries, and an example
on every request body, parameter and response (web.openapi_examples).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from web.errors import CODE_BY_STATUS, STATUS_BY_CODE
from web.openapi_examples import example_of
from web.openapi_operations import (
    OPERATIONS,  # noqa: F401 (web.api reads it from here)
    OPERATIONS_BY_ID,
    SUMMARIES,
)
from web.security import ADDRESS_HEADER

ERROR_REF = {"$ref": "#/components/schemas/Error"}

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
    "streak_not_repairable": (
        "no broken streak to buy back (`details.reason`: none, repaired, expired or"
        " disabled); nothing changed"
    ),
    "unknown_timezone": "not an IANA time zone name",
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
    422: "Unprocessable request",
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


# Methods whose routes read the body they are sent, those of no fields too (web.api's
# bodyless), so a body over MAX_BODY_BYTES is their 413.
BODY_READING_METHODS = frozenset({"post", "put", "patch", "delete"})


def generic_errors(path: str, method: str, operation: dict) -> dict[int, list[str]]:
    """The error statuses every route of this kind can answer, with their codes."""
    if not path.startswith("/v1/"):
        return {}
    errors: dict[int, list[str]] = {400: ["validation_error"], 401: ["unauthorized"]}
    if path.startswith("/v1/admin/"):
        errors[403] = ["forbidden"]
    else:
        errors[403] = ["banned"]
        errors[429] = ["rate_limited"]
    if "requestBody" in operation or method.lower() in BODY_READING_METHODS:
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
    errors = generic_errors(path, method, operation)
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
        if described and described.replayable and (status.startswith("2") or status == "409"):
            response.setdefault("headers", {})["Idempotent-Replayed"] = IDEMPOTENT_REPLAYED
    if path.startswith("/v1/") and not path.startswith("/v1/admin/"):
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == ADDRESS_HEADER for p in parameters):
            parameters.append(copy.deepcopy(PLAYER_ADDRESS))
    for parameter in [*operation.get("parameters", []), *path_parameters]:
        if "example" not in parameter and "schema" in parameter:
            parameter["example"] = example_of(
                parameter["schema"], components, name=parameter.get("name", "")
            )
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
