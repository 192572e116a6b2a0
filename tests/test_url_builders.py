"""web.api.Rule: the app's URL builders, compiled once a process per rule and shared by
every app, build the URLs werkzeug's own rules build, with each app's own converters."""

from __future__ import annotations

import fakeredis
import flask
from werkzeug import routing
from werkzeug.routing.converters import NumberConverter

from web import api as web_api
from web import create_app


def sample_values(rule: routing.Rule) -> dict:
    """A value for each of the rule's arguments, of the type its converter writes."""
    values = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, NumberConverter):
            values[name] = 7
        elif isinstance(converter, routing.PathConverter):
            values[name] = "dir/file name.js"
        else:
            values[name] = f"{name} é/?"  # quoted: a space, a non-ASCII letter, / and ?
    return values


def test_every_route_builds_the_url_werkzeugs_own_rule_builds(settings, clock):
    app = create_app(settings, redis_client=fakeredis.FakeRedis(), clock=clock)
    rules = list(app.url_map.iter_rules())
    assert len(rules) > 60
    for rule in rules:
        assert type(rule) is web_api.Rule
        plain = routing.Rule(
            rule.rule, endpoint=rule.endpoint, methods=rule.methods, defaults=rule.defaults
        )
        plain.bind(app.url_map)
        values = sample_values(rule)
        for append_unknown in (False, True):
            expected = plain.build({**values, "page": "2", "q": "a b"}, append_unknown)
            assert rule.build({**values, "page": "2", "q": "a b"}, append_unknown) == expected
    with app.test_request_context():
        assert flask.url_for("wallets.get_wallet", player_id="al ice", x=1) == (
            "/v1/players/al%20ice/wallet?x=1"
        )


def test_a_second_app_shares_the_builders_and_converts_with_its_own_converters(settings, clock):
    first = create_app(settings, redis_client=fakeredis.FakeRedis(), clock=clock)
    second = create_app(settings, redis_client=fakeredis.FakeRedis(), clock=clock)
    first_rules = {(rule.endpoint, rule.rule): rule for rule in first.url_map.iter_rules()}
    shared = 0
    for rule in second.url_map.iter_rules():
        other = first_rules[rule.endpoint, rule.rule]
        assert rule is not other
        if not rule.defaults:
            assert rule._build.__func__ is other._build.__func__
            assert rule._build_unknown.__func__ is other._build_unknown.__func__
            shared += 1
        for name, converter in rule._converters.items():
            assert converter is not other._converters[name]
            assert converter.map is second.url_map
    assert shared > 60


def test_a_rule_with_a_default_in_its_path_gets_a_builder_of_its_own():
    """werkzeug writes such a default into the builder itself, so it is not shared."""
    app = web_api.App(__name__)
    app.add_url_rule("/items/<name>", "items", lambda name: name, defaults={"name": "all"})
    app.add_url_rule("/items/<name>", "others", lambda name: name, defaults={"name": "none"})
    app.add_url_rule("/plain/<name>", "plain", lambda name: name)
    with app.test_request_context():
        assert flask.url_for("items") == "/items/all"
        assert flask.url_for("others") == "/items/none"
        assert flask.url_for("plain", name="a b") == "/plain/a%20b"
