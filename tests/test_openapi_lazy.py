"""The OpenAPI document is built on first read (web.api.Api.spec), and it is the document
eager registration builds: flask-smorest's own `register_blueprint` inside the app's
context, then web.openapi's completion, blueprint by blueprint, as create_app did before.

Every comparison is of bytes: /openapi.json, the `flask openapi print` command and the
/docs page, on the shipped rules and on rules with other bounds (the spec writes the
rules' limits), and under concurrent first reads.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import fakeredis
import flask_smorest
import pytest

from config import DEFAULT_RULES_FILE, ApiKey, Settings
from engine.clock import FixedClock
from tests.conftest import ADMIN_KEY, SERVER_KEY, real_redis_url
from web import api as web_api
from web import create_app, openapi


def eager_register_blueprint(self, blp, **options) -> None:
    """How web.api.Api registered a blueprint when the document was built at start-up
    (with flask-smorest's own steps of `Api.__init__`, EAGER_FLASK_SMOREST)."""
    with self._app.app_context():
        flask_smorest.Api.register_blueprint(self, blp, **options)
    openapi.complete(self.spec)


# web.api.Api's overrides that defer flask-smorest's own steps: flask-smorest's instead.
EAGER_FLASK_SMOREST = (
    "register_converter",
    "_register_responses",
    "_register_etag_headers",
    "_register_pagination_header",
)


def api_of(app) -> web_api.Api:
    return app.extensions["flask-smorest"]["apis"][""]["ext_obj"]


@pytest.fixture(scope="module", params=["shipped rules", "other bounds"])
def app_settings(request, tmp_path_factory) -> Settings:
    """The app's settings (the document does not read the database, only the rules)."""
    folder = tmp_path_factory.mktemp("openapi-lazy")
    rules = DEFAULT_RULES_FILE
    if request.param == "other bounds":
        rules = folder / "rules.toml"
        text = DEFAULT_RULES_FILE.read_text().replace("max_quantity = 100", "max_quantity = 7")
        rules.write_text(text.replace("max_exam_score = 10_000", "max_exam_score = 500"))
    return Settings(
        api_keys=(ApiKey("server", SERVER_KEY), ApiKey("admin", ADMIN_KEY)),
        database_url=f"sqlite:///{folder / 'questboard.db'}",
        redis_url=real_redis_url(),
        rules_file=rules,
    )


def build(app_settings):
    clock = FixedClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    return create_app(app_settings, redis_client=fakeredis.FakeRedis(), clock=clock)


@pytest.fixture(scope="module")
def eager(app_settings) -> dict[str, bytes | str]:
    """What an app documented during create_app serves: once for each rules file."""
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(web_api.Api, "register_blueprint", eager_register_blueprint)
        for name in EAGER_FLASK_SMOREST:
            patched.setattr(web_api.Api, name, getattr(flask_smorest.Api, name))
        app = build(app_settings)
    assert not api_of(app)._undocumented  # documented during create_app
    client = app.test_client()
    document, docs = client.get("/openapi.json"), client.get("/docs")
    printed = app.test_cli_runner().invoke(args=["openapi", "print"])
    assert (document.status_code, docs.status_code, printed.exit_code) == (200, 200, 0)
    assert len(document.get_json()["paths"]) > 30
    return {"openapi": document.data, "docs": docs.data, "cli": printed.output}


def test_create_app_leaves_the_document_for_its_first_read(app_settings):
    app = build(app_settings)
    api = api_of(app)
    assert api._undocumented
    assert api._spec.to_dict()["paths"] == {}
    document = api.spec.to_dict()
    assert not api._undocumented
    documented = [name for name in app.blueprints if name not in ("api-docs", "rq_dashboard")]
    assert [tag["name"] for tag in document["tags"]] == documented
    assert len(document["paths"]) > 30 and "Error" in document["components"]["schemas"]


def test_the_served_document_is_the_eagerly_built_one_byte_for_byte(app_settings, eager):
    client = build(app_settings).test_client()
    assert client.get("/openapi.json").data == eager["openapi"]
    assert client.get("/openapi.json").data == eager["openapi"]  # read again: unchanged
    assert client.get("/docs").data == eager["docs"]


def test_the_cli_prints_the_eagerly_built_document(app_settings, eager):
    printed = build(app_settings).test_cli_runner().invoke(args=["openapi", "print"])
    assert printed.exit_code == 0, printed.output
    assert printed.output == eager["cli"]


def test_a_read_while_the_document_is_being_built_waits_for_all_of_it(
    app_settings, eager, monkeypatch
):
    """A worker's threads may read the spec at once: one that comes while the last
    blueprint is being documented gets the whole document, not the part built so far."""
    app = build(app_settings)
    blueprints = len(app.extensions["flask-smorest"]["blp_name_to_api"])
    complete, completed, readers, bodies = openapi.complete, [], [], []

    def read() -> None:
        bodies.append(app.test_client().get("/openapi.json").data)

    def complete_then_read_once(spec) -> None:
        completed.append(spec)
        if len(completed) == blueprints:  # the last blueprint, not yet complete
            reader = threading.Thread(target=read)
            reader.start()
            reader.join(timeout=0.5)  # a reader that does not wait answers meanwhile
            readers.append(reader)
        complete(spec)

    monkeypatch.setattr(openapi, "complete", complete_then_read_once)
    first = app.test_client().get("/openapi.json").data
    readers[0].join()
    assert first == eager["openapi"]
    assert bodies == [eager["openapi"]]
