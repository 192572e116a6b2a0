"""`GET /docs/assets/{filename}` → the Swagger UI's own files (flask-swagger-ui's `dist/`)
for the /docs page, served by the app, no CDN.

flask-smorest wired to our error shape: the spec and validation from one schema.

Validation failures are 400 (webargs says 422 by default), and every error, whether
raised by webargs, Werkzeug or the engine, leaves through `web.errors`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import apispec
import flask
import flask_smorest
import flask_swagger_ui
import marshmallow as ma
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request
from werkzeug import routing

from web import openapi
from web.guards import InvalidJsonError
from web.responses import Response
from web.schemas import amounts2properties

NOT_JSON = "The body must be JSON, sent with Content-Type: application/json."
NOT_ENCODED = "Bodies are read as sent: send it without a Content-Encoding (or identity)."
REPEATED = "Given more than once: send it once."


class Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400
    # Unknown query parameters are refused like unknown JSON fields; headers are not.
    DEFAULT_UNKNOWN_BY_LOCATION: ClassVar[dict[str, str | None]] = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": ma.RAISE,
        "querystring": ma.RAISE,
    }

    def load_querystring(self, req: flask.Request, schema: ma.Schema):
        """The query, a parameter of one value given more than once refused: webargs
        would read the first copy and never check the others, where a cache or a proxy
        may read the last (as a JSON name given twice, web.guards). Parameters of many
        values (a List field: `/v1/wallets?player_id=...`) repeat as they are meant to."""
        proxy = super().load_querystring(req, schema)
        args = req.args
        if len(args) != len(req.query_string.split(b"&")):  # a name more than once, or &&
            repeated = {
                name: [REPEATED]
                for name, values in args.lists()
                if len(values) > 1 and name not in proxy.multiple_keys
            }
            if repeated:
                abort(400, messages={"query": repeated})
        return proxy

    def load_json(self, req: flask.Request, schema: ma.Schema):
        """A body that is not marked as JSON is refused as such: read as missing, it
        would be reported as every required field missing. So is a body sent with a
        Content-Encoding: nothing here decodes one, and read as it came, a gzip body
        was "Invalid JSON body." and one labelled br over plain JSON was applied."""
        if req.get_data(cache=True):
            if not is_identity(req.headers.get("Content-Encoding")):
                abort(400, messages={"headers": {"Content-Encoding": [NOT_ENCODED]}})
            if not is_json_request(req):
                abort(400, messages={"json": [NOT_JSON]})
        return super().load_json(req, schema)

    def _raw_load_json(self, req: flask.Request):
        """The body through the app's strict JSON provider (web.guards), whose refusal
        names its reason; an empty body is missing, so the schema names each field."""
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        if not data:
            return core.missing
        try:
            return flask.current_app.json.loads(data)
        except InvalidJsonError as error:
            abort(400, exc=error, messages={"json": [error.reason]})


def is_identity(content_encoding: str | None) -> bool:
    """Whether a Content-Encoding header leaves the body as sent: absent or identity."""
    return content_encoding is None or content_encoding.strip().lower() in ("", "identity")


class ErrorInfoSchema(ma.Schema):
    code = ma.fields.String(
        required=True,
        metadata={"example": "validation_error", "description": "Stable, for programs."},
    )
    message = ma.fields.String(
        required=True,
        metadata={"example": "The request is not valid.", "description": "For a person."},
    )
    details = ma.fields.Dict(
        required=True,
        metadata={
            "example": {"quantity": ["Must be between 1 and 100."]},
            "description": "What went wrong, by field or by fact; {} when nothing to add.",
        },
    )


class ErrorSchema(ma.Schema):
    """`{"error": {"code", "message", "details"}}`: the body of every error (`Error` in
    the spec, where `code` lists every code)."""

    error = ma.fields.Nested(ErrorInfoSchema, required=True)


DOCS_ASSETS_PATH = "/docs/assets"
DOCS_ASSETS_DIR = Path(flask_swagger_ui.__file__).parent / "dist"  # Swagger UI's dist/


def serve_docs_asset(filename: str) -> flask.Response:
    return flask.send_from_directory(DOCS_ASSETS_DIR, filename, max_age=86_400)


class NoQuerySchema(ma.Schema):
    """The query of a route that takes no query parameters: any parameter is unknown."""

    class Meta:
        unknown = ma.RAISE


class NoBodySchema(ma.Schema):
    """The body of a route that reads none: empty, or an empty JSON object."""

    class Meta:
        unknown = ma.RAISE


def declares(view_func, location: str) -> bool:
    """Whether the route documents arguments from `location` (query, json...)."""
    arguments = getattr(view_func, "_apidoc", {}).get("arguments", {})
    return any(p.get("in") == location for p in arguments.get("parameters", []))


def declares_query(view_func) -> bool:
    return declares(view_func, "query")


BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def bodyless(view: Callable) -> Callable:
    """`view`, for a route that reads no body, refusing a body it would not read: one
    with fields, not an object, not JSON (web.api.Parser's 400s, as a route of no
    fields answers them), so a client that believes its body says something hears
    that it does not. A request without a body pays one look at its length."""

    @functools.wraps(view)
    def refusing_a_body(*args: Any, **kwargs: Any) -> Any:
        if flask.request.content_length:
            Blueprint.ARGUMENTS_PARSER.parse(NO_BODY, location="json")
        return view(*args, **kwargs)

    return refusing_a_body


def fast_view(view: Callable, checked: Callable, apidoc: dict) -> Callable:
    """The function Flask calls for a route: `checked` (the view behind its query
    schema) when the request has a query string, else `view` itself when the route
    declares no query parameters (the empty schema would find nothing to refuse).
    `apidoc` is what flask-smorest documents the route from."""
    if checked is view:

        def run(*args: Any, **kwargs: Any) -> Any:
            return view(*args, **kwargs)

    else:

        def run(*args: Any, **kwargs: Any) -> Any:
            if flask.request.query_string:
                return checked(*args, **kwargs)
            return view(*args, **kwargs)

    functools.update_wrapper(run, view)
    run._apidoc = apidoc  # type: ignore[attr-defined]
    return run


class Rule(routing.Rule):
    """Werkzeug's URL rule, its URL builders compiled once a process per rule.

    Werkzeug compiles two builder functions (for `url_for`) for every rule an app adds,
    from a syntax tree it walks and compiles: most of the cost of adding ~350 rules,
    which every create_app pays (each test's app, each worker). A builder is a plain
    function of the rule object (its converters are read from it when called), made
    from the rule's text and its parsed parts only, so apps share it. A rule with
    defaults is compiled every time: werkzeug writes a default into its builder through
    the rule's own converter."""

    _builders: ClassVar[dict[tuple, Callable[..., tuple[str, str]]]] = {}

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        if self.defaults:
            return super()._compile_builder(append_unknown)
        key = (self.rule, tuple(self._trace), append_unknown)
        builder = self._builders.get(key)
        if builder is None:
            builder = self._builders[key] = super()._compile_builder(append_unknown)
        return builder


class App(flask.Flask):
    """Flask, remembering which view functions are coroutines, answering with
    `Response` (a finished body as one list), its URL builders shared (`Rule`).

    flask-smorest's decorators ask `ensure_sync` at every layer of every request
    (eight times for a purchase), and Flask answers with `inspect.iscoroutinefunction`
    each time; the answer for a function never changes. At most `REMEMBERED`
    functions are kept, so functions made per request cannot grow the memory."""

    REMEMBERED = 4096
    response_class = Response
    url_rule_class = Rule

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync_functions: dict[Callable, Callable] = {}
        # A path with an empty segment (/v1//players/...) is one the API does not have:
        # a JSON 404, not Werkzeug's 308 to the merged path, in HTML, to the request's Host.
        self.url_map.merge_slashes = False

    def ensure_sync(self, func: Callable) -> Callable:
        try:
            return self._sync_functions[func]
        except KeyError:
            synced = super().ensure_sync(func)
            if len(self._sync_functions) < self.REMEMBERED:
                self._sync_functions[func] = synced
            return synced
        except TypeError:  # an unhashable callable: asked every time, as Flask does
            return super().ensure_sync(func)


NO_BODY = NoBodySchema()


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()

    def add_url_rule(self, rule, endpoint=None, view_func=None, *args, **kwargs):
        """Every route parses its query with a schema that refuses unknown parameters:
        the route's own (`@blp.arguments(..., location="query")`), or an empty one, so
        `?foo=1` is 400 everywhere instead of silently ignored on some routes. A
        POST, PUT, PATCH or DELETE route that reads no body refuses one in the same
        way (see `bodyless`).

        The documentation (operationId, the empty query's 400) is taken from the fully
        decorated view, but a request runs through fewer layers: the operationId's
        wrapper only documents, and a route without query parameters asked without any
        skips the empty schema (see `fast_view`)."""
        if view_func is not None:
            name = f"{self.name}.{endpoint or view_func.__name__}"
            if name not in openapi.OPERATIONS:
                raise LookupError(f"{name} has no operation in web.openapi.OPERATIONS")
            methods = set(kwargs.get("methods") or ())
            if methods & BODY_METHODS and not declares(view_func, "json"):
                view_func = bodyless(view_func)
            checked = view_func
            if not declares_query(view_func):
                checked = self.arguments(NoQuerySchema(), location="query", as_kwargs=True)(
                    view_func
                )
            documented = self.doc(operationId=openapi.OPERATIONS[name].operation_id)(checked)
            view_func = fast_view(view_func, checked, documented._apidoc)
        super().add_url_rule(rule, endpoint, view_func, *args, **kwargs)


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # every error status is described (web.openapi)

    def init_app(self, app: flask.Flask, **kwargs) -> None:
        """Also serve Swagger UI at /docs, its assets from the pinned flask-swagger-ui
        package (never a CDN), without a key like /openapi.json."""
        app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "docs")
        app.config.setdefault("OPENAPI_SWAGGER_UI_URL", f"{DOCS_ASSETS_PATH}/")
        super().init_app(app, **kwargs)
        app.add_url_rule(f"{DOCS_ASSETS_PATH}/<path:filename>", "docs_assets", serve_docs_asset)

    def _init_spec(self, **options) -> None:
        super()._init_spec(**options)
        self.ma_plugin.converter.add_attribute_function(amounts2properties)

    def __init__(self, app: flask.Flask | None = None, **kwargs: Any) -> None:
        self._undocumented: list[Callable[[], None]] = []  # steps left, in order
        self._documenting = threading.Lock()
        self._documenter: int | None = None  # the thread taking the steps
        super().__init__(app, **kwargs)

    @property
    def spec(self) -> apispec.APISpec | None:
        """The OpenAPI document, written on first read: flask-smorest's components,
        then each blueprint's routes.

        Documenting every route costs more than the rest of `create_app` (apispec
        resolves each schema, web.openapi completes each operation), and a process
        needs the document only when something reads it: /openapi.json, /docs, the
        `flask openapi` commands. Every read goes through here, flask-smorest's own
        included, so the document is the one eager registration would have built,
        blueprint by blueprint in registration order (tests/test_openapi_lazy.py)."""
        if self._undocumented and self._documenter != threading.get_ident():
            with self._documenting:  # the list empties only once the last step is done
                self._documenter = threading.get_ident()  # its steps read the spec too
                try:
                    while self._undocumented:
                        self._undocumented[0]()
                        del self._undocumented[0]
                finally:
                    self._documenter = None
        return self._spec

    @spec.setter
    def spec(self, value: apispec.APISpec | None) -> None:
        self._spec = value

    def register_blueprint(self, blp, *, parameters=None, **options) -> None:
        """Register the blueprint's routes now, its documentation when the spec is
        first read (see `spec`): flask-smorest's `register_blueprint`, in two steps."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append(functools.partial(self._document, blp, name, parameters))

    def register_converter(self, converter, func) -> None:
        """flask-smorest's, without reading `spec` (which would take the steps left)."""
        self._converters.append((converter, func))
        if self._spec is not None:
            self._register_converter(converter, func)

    def _register_responses(self) -> None:
        """flask-smorest's components for every HTTP status's response, the ETag headers
        and the pagination header (each written into the document where an operation
        refers to it): the document's first steps too (see `spec`)."""
        self._undocumented.append(super()._register_responses)

    def _register_etag_headers(self) -> None:
        self._undocumented.append(super()._register_etag_headers)

    def _register_pagination_header(self) -> None:
        self._undocumented.append(super()._register_pagination_header)

    def _document(self, blp: Blueprint, name: str, parameters: list | None) -> None:
        """Document one blueprint inside the app's context, so bounds that come from the
        loaded rules (`web.schemas.RulesRange`, `Amounts`) are written into the spec,
        then complete every operation (web.openapi)."""
        spec = self._spec
        with self._app.app_context():
            blp.register_views_in_doc(self, self._app, spec, name=name, parameters=parameters)
            spec.tag({"name": name, "description": blp.description})
        openapi.complete(spec)

    def _register_error_handlers(self) -> None:
        """Errors are handled by web.errors, registered by the app factory."""
