"""Each parameter's example in /openapi.json is a value of its kind, so a request copied
from the spec names a ban, a job or a delivery that could exist, never the generic
sample string that only a player id may be."""

from __future__ import annotations

import re

from engine.ops.job_catalog import SPECS


def parameters(spec: dict) -> list[tuple[str, dict]]:
    found = []
    for path, item in spec["paths"].items():
        found += [(path, parameter) for parameter in item.get("parameters", [])]
        for method, operation in item.items():
            if method != "parameters":
                found += [(path, parameter) for parameter in operation.get("parameters", [])]
    return found


def test_no_parameter_but_a_player_id_has_the_generic_example(client):
    spec = client.get("/openapi.json").get_json()
    generic = [
        (path, parameter["name"])
        for path, parameter in parameters(spec)
        if parameter.get("example") == "alice" and parameter["name"] != "player_id"
    ]
    assert generic == []


def test_the_admin_path_parameters_name_what_their_routes_take(client):
    spec = client.get("/openapi.json").get_json()
    examples = {
        parameter["name"]: parameter["example"]
        for path, parameter in parameters(spec)
        if path.startswith("/v1/admin/") and parameter["in"] == "path"
    }
    assert re.fullmatch(r"ban_[0-9a-f]{16}", examples["ban_id"])
    assert re.fullmatch(r"whsub_[0-9a-f]{16}", examples["subscription_id"])
    assert examples["delivery_id"].isascii() and examples["delivery_id"].isdigit()
    assert examples["name"] in SPECS
