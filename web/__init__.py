"""The HTTP API: a thin Flask layer that validates, authenticates and maps errors.

`create_app()` builds the app from the environment (gunicorn: ``web:create_app()``);
tests pass their own settings, Redis client and clock.
"""

from __future__ import annotations

from typing import Any

import redis
from flask import Flask

from config import Settings
from engine import Engine
from engine.clock import Clock, SystemClock
from engine.rules import load_rules
from web import auth, errors
from web.api import Api
from web.schemas import PlayerIdConverter, player_id_parameter_schema

API_VERSION = "1.0.0"


def create_app(
    settings: Settings | None = None,
    *,
    redis_client: Any = None,
    clock: Clock | None = None,
) -> Flask:
    settings = settings or Settings.from_env()
    rules = load_rules(settings.rules_file)  # a bad rules file stops start-up here
    if redis_client is None:
        redis_client = redis.Redis.from_url(settings.redis_url)

    app = Flask(__name__)
    app.config.update(
        API_TITLE="Questboard",
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        API_SPEC_OPTIONS={
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}],
        },
    )
    app.extensions["questboard.settings"] = settings
    app.extensions["questboard.engine"] = Engine(
        redis=redis_client,
        rules=rules,
        clock=clock or SystemClock(),
        idempotency_ttl_seconds=settings.idempotency_ttl_seconds,
    )
    app.url_map.converters["player"] = PlayerIdConverter

    api = Api(app)
    api.register_converter(PlayerIdConverter, player_id_parameter_schema)
    errors.init_app(app)
    auth.init_app(app, settings.api_keys)

    from web import catalog, grants, health, ledger, purchases, wallets

    for module in (health, catalog, wallets, purchases, ledger, grants):
        api.register_blueprint(module.blp)
    return app
