"""Every engine error class answers one HTTP status, found by its class.

The walk imports every module of `engine/`, so an error class defined anywhere is seen;
a class without its status fails here instead of reaching a client as a 500.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import engine
from engine import errors as engine_errors
from engine.errors import QuestboardError
from web.errors import (
    CODE_BY_STATUS,
    STATUS_BY_CODE,
    STATUS_BY_ERROR,
    WEB_STATUS_BY_CODE,
    handle_engine_error,
    unmapped_errors,
)
from web.openapi import OPERATIONS


def every_engine_module() -> list[str]:
    """Import every module under engine/ (sub-packages too) and name them."""
    names = [
        module.name
        for module in pkgutil.walk_packages(engine.__path__, prefix="engine.")
        if not module.name.endswith("__main__")
    ]
    for name in names:
        importlib.import_module(name)
    return names


def every_error_class() -> list[type[QuestboardError]]:
    """QuestboardError and all its subclasses, recursively."""
    found: list[type[QuestboardError]] = []
    waiting = [QuestboardError]
    while waiting:
        error_class = waiting.pop()
        if error_class not in found:
            found.append(error_class)
            waiting.extend(error_class.__subclasses__())
    return found


def test_the_walk_sees_every_engine_package_and_the_error_classes_of_engine_errors():
    modules = every_engine_module()

    assert {"engine.economy.purchases", "engine.boards.exams", "engine.ops.persistence"} <= set(
        modules
    )
    declared = {
        value
        for value in vars(engine_errors).values()
        if isinstance(value, type) and issubclass(value, QuestboardError)
    }
    assert declared <= set(every_error_class())
    assert len(declared) == 17


def test_every_engine_error_class_has_exactly_one_status_and_its_code_that_status():
    every_engine_module()

    for error_class in every_error_class():
        assert error_class in STATUS_BY_ERROR, f"{error_class.__qualname__} has no HTTP status"
        status = STATUS_BY_ERROR[error_class]
        assert 400 <= status <= 599, error_class
        assert STATUS_BY_CODE[error_class.code] == status, error_class
    assert unmapped_errors(STATUS_BY_ERROR) == []


def test_classes_sharing_a_code_share_its_status():
    statuses: dict[str, set[int]] = {}
    for error_class, status in STATUS_BY_ERROR.items():
        statuses.setdefault(error_class.code, set()).add(status)

    assert {code: s for code, s in statuses.items() if len(s) > 1} == {}
    assert statuses["internal_error"] == {500}


def test_a_class_missing_from_the_map_is_named_and_stops_the_app_at_start_up():
    without_rapid_fire = {
        cls: status
        for cls, status in STATUS_BY_ERROR.items()
        if cls is not engine_errors.RapidFireError
    }

    assert unmapped_errors(without_rapid_fire) == [engine_errors.RapidFireError]


def test_the_codes_the_web_answers_itself_are_no_engine_code():
    engine_codes = {error_class.code for error_class in STATUS_BY_ERROR}

    assert WEB_STATUS_BY_CODE == {"unauthorized": 401, "forbidden": 403, "service_unavailable": 503}
    assert engine_codes.isdisjoint(WEB_STATUS_BY_CODE)
    assert STATUS_BY_CODE == {
        "validation_error": 400,
        "unauthorized": 401,
        "forbidden": 403,
        "banned": 403,
        "not_found": 404,
        "unknown_item": 404,
        "not_ranked": 404,
        "period_expired": 404,
        "insufficient_funds": 409,
        "price_changed": 409,
        "balance_limit_exceeded": 409,
        "daily_limit_reached": 409,
        "streak_not_repairable": 409,
        "idempotency_key_reused": 422,
        "unknown_timezone": 422,
        "rapid_fire": 429,
        "rate_limited": 429,
        "internal_error": 500,
        "service_unavailable": 503,
    }


@pytest.mark.parametrize(
    "error_class", sorted(STATUS_BY_ERROR, key=lambda cls: cls.__name__), ids=lambda c: c.__name__
)
def test_each_engine_error_is_answered_with_its_class_status_and_the_one_body(app, error_class):
    details = {"retry_after": 7} if error_class is engine_errors.RateLimitedError else {"a": 1}

    with app.test_request_context():
        response = handle_engine_error(error_class("It went wrong.", details))

    assert response.status_code == STATUS_BY_ERROR[error_class]
    assert response.get_json() == {
        "error": {"code": error_class.code, "message": "It went wrong.", "details": details}
    }


def test_the_spec_lists_each_code_under_the_status_it_is_answered_with(client):
    spec = client.get("/openapi.json").get_json()
    answered_by_web = {(status, code) for status, code in CODE_BY_STATUS.items()}
    listed: set[str] = set()

    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for status, response in operation.get("responses", {}).items():
                for code in response.get("x-error-codes", []):
                    listed.add(code)
                    if (int(status), code) in answered_by_web:
                        continue  # e.g. 413 validation_error: a body too large, before the view
                    assert STATUS_BY_CODE[code] == int(status), (method, path, status, code)

    raised = {error_class.code for error_class in STATUS_BY_ERROR} - {"internal_error"}
    assert raised <= listed


def test_each_operations_own_error_codes_sit_under_their_class_status():
    for endpoint, operation in OPERATIONS.items():
        for status, codes in operation.errors.items():
            for code in codes:
                assert STATUS_BY_CODE[code] == status, (endpoint, code)
