"""The HTTP API: a thin Flask layer that validates, authenticates and maps errors.

`create_app()` builds the app from the environment (gunicorn: ``web:create_app()``);
tests pass their own settings, Redis client and clock.

A request passes web.guards (body and JSON), web.auth (key and role), web.security
(address, bans, rate limits), then one view, which calls one engine function; each
view module's docstring names its routes and the chain down to the Lua file, and
docs/architecture.md draws the whole path.
"""

from __future__ import annotations

from typing import Any

import redis
from flask import Flask, request
from rq import Queue

from config import Settings
from engine import connection
from engine.clock import Clock
from engine.runtime import build_engine
from jobs import QUEUE
from web import auth, cli, errors, guards, monitoring, security
from web.api import Api, App
from web.schemas import (
    PeriodTypeConverter,
    PlayerIdConverter,
    period_type_parameter_schema,
    player_id_parameter_schema,
)

API_VERSION = "1.0.0"


def before_each_request() -> None:
    """Every check that runs before a view, in order, as one hook (one call per request).
    Each check acts on the paths of its prefix only: the API's, or the job dashboard's."""
    req = request._get_current_object()
    monitoring.start_timer(req)
    path = req.path
    if path.startswith(auth.PROTECTED_PREFIX):
        auth.authenticate(req)
        security.check_request(req)
    elif path.startswith(monitoring.DASHBOARD_PREFIX):
        monitoring.protect_dashboard(req)
        guards.check_dashboard_arguments(req)
        monitoring.check_dashboard_redis(req)


def create_app(
    settings: Settings | None = None,
    *,
    redis_client: Any = None,
    clock: Clock | None = None,
    queue_client: Any = None,
) -> Flask:
    """The app. `queue_client` is RQ's Redis (default: RQ_REDIS_URL, or `redis_client`)."""
    settings = settings or Settings.from_env()
    engine = build_engine(settings, redis_client, clock)  # a bad rules file stops start-up

    app = App(__name__)  # Flask, with ensure_sync remembered (web.api)
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
    app.extensions["questboard.engine"] = engine
    app.url_map.converters["player"] = PlayerIdConverter
    app.url_map.converters["period_type"] = PeriodTypeConverter

    api = Api(app)
    api.register_converter(PlayerIdConverter, player_id_parameter_schema)
    api.register_converter(PeriodTypeConverter, period_type_parameter_schema)
    errors.init_app(app)
    guards.init_app(app)
    auth.init_app(app, settings.api_keys)
    if queue_client is None:  # a test's one client, unless it is a cluster (RQ cannot be)
        on_one_server = redis_client is not None and not connection.is_cluster(redis_client)
        queue_client = (
            redis_client if on_one_server else redis.Redis.from_url(settings.queue_redis_url)
        )
    app.extensions["questboard.queue"] = Queue(QUEUE, connection=queue_client)
    monitoring.init_app(app, settings.queue_redis_url)
    app.before_request(before_each_request)

    from web import (
        ads,
        bans,
        batches,
        battle_pass,
        catalog,
        clock,
        daily,
        exams,
        grants,
        health,
        jobs_admin,
        leaderboards,
        leagues,
        ledger,
        player_settings,
        purchases,
        security_admin,
        streaks,
        tools,
        wallets,
        webhooks,
    )

    for module in (
        health,
        catalog,
        wallets,
        purchases,
        ledger,
        grants,
        exams,
        leaderboards,
        daily,
        streaks,
        ads,
        battle_pass,
        tools,
        clock,
        bans,
        security_admin,
        jobs_admin,
        webhooks,
        batches,
        leagues,
        player_settings,
    ):
        api.register_blueprint(module.blp)
    cli.init_app(app)
    return app
