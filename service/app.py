"""The Flask app factory."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from schemas.errors import ErrorCode
from schemas.privacy import excerpt
from service.access import parse_hashes
from service.http import MAX_BODY, ApiError, current_language, drain_body, negotiate_language, unknown_guide
from service.jsonout import OrjsonProvider
from service.observe import configure_logging
from service.observe import install as install_metrics
from service.paths import BUNDLED
from service.store import GuideStore

log = logging.getLogger("bti")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app; loads the guides from ``BTI_MUNICIPALITIES`` (default: the bundled ones)."""
    app = Flask(__name__, static_folder=None)  # the pages serve their files under /assets
    app.config.update(
        BTI_MUNICIPALITIES=os.environ.get("BTI_MUNICIPALITIES", str(BUNDLED)),
        # seconds between checks of the rule folder; bti serve sets 5 by default, 0 = off
        BTI_RELOAD_INTERVAL=float(os.environ.get("BTI_RELOAD_INTERVAL", "0")),
        BTI_API_KEYS=os.environ.get("BTI_API_KEYS", ""),
        BTI_ADMIN_KEY=os.environ.get("BTI_ADMIN_KEY", ""),
        BTI_PLAYGROUND=os.environ.get("BTI_PLAYGROUND", "on"),  # off: the playground decides nothing
        BTI_PLAYGROUND_SECRET=os.environ.get("BTI_PLAYGROUND_SECRET", ""),
    )
    app.config.update(config or {})
    app.config["BTI_API_KEY_HASHES"] = parse_hashes(app.config["BTI_API_KEYS"])
    app.config["BTI_ADMIN_KEY_HASHES"] = parse_hashes(app.config["BTI_ADMIN_KEY"])
    configure_logging()
    configure_json(app)

    store = GuideStore(Path(app.config["BTI_MUNICIPALITIES"]))
    store.load()  # a guide that does not load is logged and listed by /readyz and /v1/status
    app.extensions["bti_store"] = store
    store.start_watching(float(app.config["BTI_RELOAD_INTERVAL"]))

    from service.api import api
    from service.docs import docs
    from service.pages import pages
    from service.playground import playground

    app.register_blueprint(api)
    app.register_blueprint(docs)
    app.register_blueprint(pages)
    app.register_blueprint(playground)
    _install_error_handlers(app)
    install_metrics(app)

    @app.before_request
    def _language() -> None:
        g.lang, g.lang_problems = negotiate_language(request)

    @app.after_request
    def _drain(response: Response) -> Response:
        if not drain_body(request):  # what is left is more than worth reading: say the connection ends
            response.headers["Connection"] = "close"
        return response

    @app.after_request
    def _content_language(response: Response) -> Response:
        response.headers.setdefault("Content-Language", current_language())  # /docs is English
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    return app


def configure_json(app: Flask) -> None:
    """Responses as docs/api.md shows them: keys in the order the views build them, UTF-8 text,
    encoded by orjson (service.jsonout)."""
    app.json = OrjsonProvider(app)


def store_of(app: Flask) -> GuideStore:
    return app.extensions["bti_store"]


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> tuple[Any, int, dict[str, str]]:
        return exc.body(current_language()), exc.status, exc.headers

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Any, int, dict[str, str]]:
        error = _envelope_for(app, exc)
        for name, value in exc.get_headers():  # e.g. Content-Range of a 416
            if name.lower() != "content-type":
                error.headers.setdefault(name, value)
        return _api_error(error)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Any, int, dict[str, str]]:
        log.exception("unexpected error on %s %s", request.method, request.url_rule)
        return _api_error(ApiError(ErrorCode.INTERNAL_ERROR))


def _envelope_for(app: Flask, exc: HTTPException) -> ApiError:
    """The error werkzeug raised (no route, wrong method, an unreadable request…) with its own
    code: a status the API has a code for gets that code, any other client error ``bad_request``."""
    status = exc.code or 500
    if isinstance(exc, MethodNotAllowed):
        unknown = _unknown_municipality_in_path(app)
        if unknown is not None:  # 404 comes before 405 (docs/api.md, Errors)
            return unknown
        allow = ", ".join(sorted(exc.valid_methods or ()))
        return ApiError(ErrorCode.METHOD_NOT_ALLOWED, headers={"Allow": allow}, method=excerpt(request.method),
                        allow=allow)
    if status == 404:
        return ApiError(ErrorCode.NOT_FOUND, path=excerpt(request.path))
    if status == 413:
        return ApiError(ErrorCode.PAYLOAD_TOO_LARGE, limit=MAX_BODY)
    if status == 415:
        return ApiError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, got=excerpt(request.headers.get("Content-Type") or "-"))
    if status == 401:
        return ApiError(ErrorCode.UNAUTHORIZED, headers={"WWW-Authenticate": 'Bearer realm="bti"'})
    if status == 403:
        return ApiError(ErrorCode.FORBIDDEN)
    if status == 416:
        return ApiError(ErrorCode.RANGE_NOT_SATISFIABLE)
    if status >= 500:
        return ApiError(ErrorCode.INTERNAL_ERROR, status=status)
    return ApiError(ErrorCode.BAD_REQUEST, status=status)


def _unknown_municipality_in_path(app: Flask) -> ApiError | None:
    """The 404 for an API path naming a guide that does not exist (a guide that failed to load
    exists: a wrong method on it is a 405)."""
    parts = request.path.strip("/").split("/")
    if len(parts) < 3 or parts[:2] != ["v1", "municipalities"]:
        return None
    registry = store_of(app).registry
    if parts[2] in registry.guides or parts[2] in registry.errors:
        return None
    return unknown_guide(parts[2], registry.guides, registry.errors)
