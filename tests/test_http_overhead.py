"""The hot routes' cheaper paths give exactly what the schemas and Flask would.

web.fastschema loads and dumps without marshmallow's machinery, web.responses builds
the wallet's and the catalog's JSON directly, web.api skips layers that only document,
and web.guards writes JSON with orjson: each is held here to the result of the slower
path it replaces, and shown to be taken.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from types import SimpleNamespace

import flask
import marshmallow as ma
import pytest
from werkzeug.test import EnvironBuilder

from config import Settings
from engine.economy import grants
from engine.rules import load_rules
from engine.security import rate_limits
from web import api, fastschema
from web.catalog import CatalogSchema, catalog_json
from web.leaderboards import AroundQuerySchema, TopQuerySchema
from web.purchases import PurchaseRequestSchema, PurchaseSchema
from web.responses import json_response
from web.schemas import BalancesSchema, IdempotencyHeaderSchema


@pytest.fixture(scope="module")
def rules_app():
    """A bare Flask app holding the shipped rules: all a schema needs to load."""
    bare = flask.Flask(__name__)
    bare.extensions["questboard.engine"] = SimpleNamespace(rules=load_rules(Settings().rules_file))
    return bare


def marshmallow_load(schema: ma.Schema, data, **kwargs):
    """What marshmallow itself answers: the result, or the ValidationError's messages."""
    try:
        return ma.Schema.load(schema, data, **kwargs)
    except ma.ValidationError as error:
        return ("refused", error.messages)


def fast_load(schema: ma.Schema, data, **kwargs):
    try:
        return schema.load(data, **kwargs)
    except ma.ValidationError as error:
        return ("refused", error.messages)


PURCHASES = [
    {"item": "bricks", "quantity": 2},
    {"item": "bricks", "quantity": 2.0},
    {"item": "bricks", "quantity": 3, "expected_price": {"coins": 50}},
    {"item": "bricks"},
    {"item": "", "quantity": 1},
    {"item": "bricks", "quantity": True},
    {"item": "bricks", "quantity": "2"},
    {"item": "bricks", "quantity": 0},
    {"item": "bricks", "quantity": 10**9},
    {"item": "bricks", "quantity": 1, "colour": "red"},
    {"item": None, "quantity": 1},
    {"item": "bricks", "quantity": 1, "expected_price": {}},
    {"item": "bricks", "quantity": 1, "expected_price": {"coins": -1, "Bad Name": 2}},
    [],
    "bricks",
]
QUERIES = [
    {},
    {"around": "3"},
    {"around": "51"},
    {"around": "x"},
    {"category": "math", "period": "2026-W48"},
    {"category": "global"},
    {"period": "2026-W48\n"},
    {"limit": "5", "offset": "10", "source": "snapshot", "fresh": "true"},
    {"source": "cache"},
    {"sort": "score"},
]


@pytest.mark.parametrize("data", PURCHASES, ids=range(len(PURCHASES)))
def test_a_request_body_loads_as_marshmallow_loads_it(rules_app, data):
    with rules_app.app_context():  # bounds come from the loaded rules
        schema = PurchaseRequestSchema()
        assert fast_load(schema, data) == marshmallow_load(schema, data)


@pytest.mark.parametrize("schema_class", [AroundQuerySchema, TopQuerySchema])
@pytest.mark.parametrize("query", QUERIES, ids=range(len(QUERIES)))
def test_a_query_loads_as_marshmallow_loads_it(rules_app, schema_class, query):
    with rules_app.test_request_context(query_string=query):
        args = api.Parser().load_querystring(flask.request, schema_class())
        schema = schema_class()
        assert fast_load(schema, args) == marshmallow_load(schema, args)


@pytest.mark.parametrize("headers", [{"Idempotency-Key": "order-1"}, {}, {"Idempotency-Key": ""}])
def test_headers_load_as_marshmallow_loads_them(rules_app, headers):
    with rules_app.test_request_context(headers={**headers, "X-Other": "1"}):
        data = api.Parser().load_headers(flask.request, IdempotencyHeaderSchema())
        schema = IdempotencyHeaderSchema()
        unknown = ma.EXCLUDE
        assert fast_load(schema, data, unknown=unknown) == marshmallow_load(
            schema, data, unknown=unknown
        )


def test_a_valid_body_is_loaded_without_marshmallow_machinery(rules_app, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("marshmallow's own load ran")

    monkeypatch.setattr(ma.Schema, "_do_load", refuse)
    with rules_app.app_context():
        assert PurchaseRequestSchema().load({"item": "bricks", "quantity": 2}) == {
            "item": "bricks",
            "quantity": 2,
        }


def test_a_purchase_and_a_login_answer_as_their_schemas_dump(
    app, client, server_headers, monkeypatch
):
    engine = app.extensions["questboard.engine"]
    grants.grant(engine, "ann", {"coins": 10_000}, "test funds", "funds-1")
    compared = []
    fast_dump = fastschema.FastSchema.dump

    def both(schema, obj, **kwargs):
        result = fast_dump(schema, obj, **kwargs)
        assert result == ma.Schema.dump(schema, obj, **kwargs)
        compared.append(type(schema).__name__)
        return result

    monkeypatch.setattr(fastschema.FastSchema, "dump", both)
    purchase = client.post(
        "/v1/players/ann/purchases",
        json={"item": "bricks", "quantity": 2},
        headers={**server_headers, "Idempotency-Key": "order-1"},
    )
    login = client.post("/v1/players/ann/login", headers=server_headers)
    assert (purchase.status_code, login.status_code) == (201, 200)
    assert compared == ["PurchaseSchema", "LoginSchema"]
    assert purchase.get_json()["progress"]["daily_bonus"] is not None  # nested values too


def test_a_dump_gives_marshmallows_result_for_objects_and_missing_values():
    class Transaction:
        transaction_id = "tx-1"
        balances = {"coins": 5}  # noqa: RUF012
        progress = {  # noqa: RUF012
            "daily_bonus": None,
            "missions": [{"id": "m", "progress": 1, "target": 3, "completed": False}],
            "xp": {"season": "s1", "gained": 2, "total": 9, "level": 1, "levels_gained": []},
            "level_rewards": [],
            "streak": 4,
        }

    result = {"transaction": Transaction(), "item": "bricks", "quantity": 2.0, "cost": {"c": 1}}
    schema = PurchaseSchema()
    assert schema.dump(result) == ma.Schema.dump(schema, result)
    assert schema.dump([result], many=True) == ma.Schema.dump(schema, [result], many=True)


def test_wallet_and_catalog_are_their_schemas_dumps_without_a_dump_per_request(
    app, client, server_headers, monkeypatch
):
    catalog = client.get("/v1/catalog", headers=server_headers).get_json()
    rules_catalog = app.extensions["questboard.engine"].rules.catalog
    assert catalog == CatalogSchema().dump({"items": list(rules_catalog.values())})

    dump = ma.Schema.dump
    dumps = []
    monkeypatch.setattr(ma.Schema, "dump", lambda *a, **k: dumps.append(a) or {})
    monkeypatch.setattr(fastschema.FastSchema, "dump", lambda *a, **k: dumps.append(a) or {})
    assert client.get("/v1/catalog", headers=server_headers).get_json() == catalog
    wallet = client.get("/v1/players/ann/wallet", headers=server_headers).get_json()
    assert dumps == []
    assert wallet == dump(BalancesSchema(), wallet)


def test_a_route_without_query_parameters_loads_no_query_schema_unless_given_one(
    client, server_headers, monkeypatch
):
    loads = []
    original = ma.Schema.load

    def counting(schema, *args, **kwargs):
        loads.append(type(schema).__name__)
        return original(schema, *args, **kwargs)

    monkeypatch.setattr(ma.Schema, "load", counting)
    monkeypatch.setattr(fastschema.FastSchema, "load", counting)
    assert client.get("/v1/players/ann/wallet", headers=server_headers).status_code == 200
    assert loads == []
    refused = client.get("/v1/players/ann/wallet?foo=1", headers=server_headers)
    assert refused.status_code == 400
    assert refused.get_json()["error"]["details"] == {"foo": ["Unknown field."]}
    assert loads == ["NoQuerySchema"]


def test_json_is_written_with_orjson_as_flask_would_write_it(app):
    provider = app.json
    value = {"b": [1, 2.5, None, True], "a": {"z": "é", "y": "x"}}
    assert provider.dumps(value) == '{"a":{"y":"x","z":"é"},"b":[1,2.5,null,true]}'
    assert json.loads(provider.dumps(value)) == value
    moment = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert provider.dumps({"at": moment}) == '{"at":"Wed, 25 Nov 2026 12:00:00 GMT"}'
    # What orjson refuses is written by Flask's own dumps.
    assert provider.dumps({"n": 10**30}) == '{"n": 1000000000000000000000000000000}'
    assert provider.dumps({"s": "\ud800"}) == '{"s": "\\ud800"}'


def test_ensure_sync_asks_flask_once_per_function(app, monkeypatch):
    asked = []
    original = flask.Flask.ensure_sync
    monkeypatch.setattr(
        flask.Flask, "ensure_sync", lambda self, f: asked.append(f) or original(self, f)
    )

    def view():
        return None

    assert app.ensure_sync(view) is view
    assert app.ensure_sync(view) is view
    assert asked == [view]


def test_the_catalog_json_is_the_one_of_the_catalog_asked_for():
    def catalog(item_id: str) -> dict:
        item = SimpleNamespace(
            item_id=item_id, title=item_id, price={"coins": 1}, gives={}, max_quantity=1
        )
        return {item_id: item}

    first, second = catalog("steel"), catalog("logs")
    for asked, item_id in ((first, "steel"), (second, "logs"), (first, "steel")):
        assert json.loads(catalog_json(asked))["items"][0]["item"] == item_id


def _served(app, path: str, method: str = "GET", headers: dict | None = None):
    """What the app hands a WSGI server for one request: status and the iterable."""
    environ = EnvironBuilder(path=path, method=method, headers=headers).get_environ()
    started = []
    body = app.wsgi_app(
        environ, lambda status, response_headers, exc_info=None: started.append(status)
    )
    return started[0], body


def test_a_finished_answer_reaches_the_server_as_one_list_of_bytes(app, server_headers):
    """A list is written by granian in one call; any other iterable is walked by its
    Rust side, taking the GIL back for each step."""
    for path in ("/v1/catalog", "/v1/players/ann/wallet", "/v1/nothing-here"):
        status, body = _served(app, path, headers=server_headers)
        assert type(body) is list and len(body) == 1, path
        assert isinstance(body[0], bytes) and json.loads(body[0]), path
    status, body = _served(app, "/v1/catalog", "HEAD", server_headers)
    assert (status, list(body)) == ("200 OK", [])


def test_a_streamed_or_file_answer_is_still_handed_over_as_an_iterable(app):
    status, body = _served(app, "/docs/assets/swagger-ui.css")
    assert status == "200 OK" and type(body) is not list
    assert b"".join(body)
    body.close()


def test_each_counted_read_has_a_window_member_of_its_own_in_every_process():
    """The member of a read in its rate window is made without a system call (a
    process prefix and a number), yet never repeats: not in a process, not in a
    forked worker, whose prefix is its own."""
    tokens = [rate_limits.request_token() for _ in range(1000)]
    assert len(set(tokens)) == len(tokens)
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send one member and leave at once
        os.write(writer, rate_limits.request_token().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(reader, 64).decode()
    os.close(reader)
    os.close(writer)
    assert child not in tokens
    assert not child.startswith(tokens[0][:12])  # the parent's prefix (12 hex digits)


def test_a_script_lost_by_redis_is_loaded_again_by_a_direct_call(app, client, server_headers):
    """Script calls skip redis-py's `Script` layers (engine.scripts), NOSCRIPT included:
    a read after the scripts were flushed (a restart, a failover) still answers."""
    engine = app.extensions["questboard.engine"]
    grants.grant(engine, "ann", {"coins": 70}, "test funds", "funds-1")
    engine.redis.script_flush()

    wallet = client.get("/v1/players/ann/wallet", headers=server_headers)

    assert wallet.status_code == 200
    assert wallet.get_json()["balances"]["coins"] == 70


def test_a_player_or_period_in_a_path_is_matched_as_one_segment(app):
    """Werkzeug matches a converter that is not part-isolating against the whole rest of
    the path, one rule's regex after another: /v1/players/{id}/wallet tried six other
    player routes' regexes first. Each of ours matches one segment ([^/]+), so it is
    matched segment by segment, and its route found without trying the others."""
    custom = [
        converter
        for name, converter in app.url_map.converters.items()
        if name in ("player", "period_type")
    ]
    assert len(custom) == 2
    assert all(converter.part_isolating for converter in custom)


ANSWERS = [  # (status, headers, method): what werkzeug rewrites, and what it leaves
    (200, {}, "GET"),
    (201, {"Location": "/v1/players/ann/wallet"}, "POST"),
    (200, {"Content-Location": "/v1/catalog?x=é"}, "GET"),
    (204, {}, "DELETE"),
    (304, {"ETag": '"a"'}, "GET"),
    (200, {}, "HEAD"),
    (429, {"Retry-After": "3"}, "GET"),
]


@pytest.mark.parametrize(("status", "headers", "method"), ANSWERS, ids=range(len(ANSWERS)))
def test_a_finished_answer_is_handed_over_as_werkzeug_would_hand_it(app, status, headers, method):
    """The server receives the status, headers and body werkzeug's own path gives,
    whether or not the response takes the short path (web.responses.Response)."""
    environ = EnvironBuilder(path="/v1/catalog", method=method).get_environ()
    with app.test_request_context(environ_overrides=environ):
        ours = json_response({"a": 1}, status, headers)
        plain = flask.Response(b'{"a":1}', status, headers, mimetype="application/json")
        body, sent_status, sent_headers = ours.get_wsgi_response(environ)
        expected_body, expected_status, expected_headers = plain.get_wsgi_response(environ)
        assert (sent_status, sent_headers) == (expected_status, expected_headers)
        assert b"".join(body) == b"".join(expected_body)


def test_a_finished_json_answer_is_sent_without_copying_its_headers(app, monkeypatch):
    """werkzeug copies a response's headers and looks for a Location to rewrite on
    every answer; a JSON answer built here has none, and its length is set."""

    def copied(*args, **kwargs):
        raise AssertionError("headers copied")

    monkeypatch.setattr(flask.Response, "get_wsgi_headers", copied)
    environ = EnvironBuilder(path="/v1/catalog").get_environ()
    with app.test_request_context():
        body, status, headers = json_response({"a": 1}).get_wsgi_response(environ)
    assert (body, status) == ([b'{"a":1}'], "200 OK")
    assert headers == [("Content-Type", "application/json"), ("Content-Length", "7")]
