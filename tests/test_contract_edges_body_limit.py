"""The spec lists the 413 of every route that reads its body, the body-less ones too.

A POST, PUT, PATCH or DELETE route that takes no body (a login, a DELETE, a job run,
a webhook's test) still looks at the one it is sent (web.api.bodyless), so a body over
MAX_BODY_BYTES is refused there with the same `413 validation_error` as on a route
with fields. A client generated from /openapi.json must find that status documented.
"""

from __future__ import annotations

import pytest

from web.guards import body_limit

BODY_METHODS = ("post", "put", "patch", "delete")


@pytest.fixture
def spec(client) -> dict:
    return client.get("/openapi.json").get_json()


def body_operations(spec: dict) -> list[tuple[str, str, dict]]:
    """(method, path with its parameters' examples, operation) of every such route."""
    return [
        (
            method,
            example_path(path, [*item.get("parameters", []), *operation.get("parameters", [])]),
            operation,
        )
        for path, item in spec["paths"].items()
        if path.startswith("/v1/")
        for method, operation in item.items()
        if method in BODY_METHODS
    ]


def example_path(path: str, parameters: list[dict]) -> str:
    """`path` with each parameter filled in from its example in the spec."""
    for parameter in parameters:
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", str(parameter["example"]))
    return path


def test_every_route_that_reads_a_body_lists_the_413_it_answers_to_one_too_large(
    app, spec, admin_headers
):
    client = app.test_client()
    operations = body_operations(spec)
    assert {operation["operationId"] for _, _, operation in operations} >= {
        "claimLogin",
        "deleteIpBan",
        "resetClock",
        "runJob",
        "createPurchase",
    }
    undocumented = []
    for method, url, operation in operations:
        limit = body_limit(app.config["MAX_CONTENT_LENGTH"], url)
        response = client.open(
            url,
            method=method.upper(),
            headers=admin_headers | {"Content-Type": "application/json", "Idempotency-Key": "k-1"},
            data=b"{}" + b" " * limit,
        )
        assert response.status_code == 413, (operation["operationId"], response.get_json())
        assert response.get_json()["error"]["code"] == "validation_error"
        if "413" not in operation["responses"]:
            undocumented.append(operation["operationId"])
    assert undocumented == []
