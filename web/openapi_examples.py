"""Examples built from the schemas, so an example can never disagree with them.

web.openapi puts one on every request body, parameter and response that has none.
"""

from __future__ import annotations

import copy
from typing import Any

SAMPLE_STRINGS = {
    "date-time": "2026-11-25T12:00:00+00:00",
    "date": "2026-11-25",
}
# A plain string property's or parameter's example by its name, where its schema gives none.
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
    "ban_id": "ban_3f2a9c1e5b7d4a60",
    "subscription_id": "whsub_3f2a9c1e5b7d4a60",
    "delivery_id": "1",
    "cohort_id": "bronze-1",
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
