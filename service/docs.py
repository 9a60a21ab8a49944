"""``/openapi.json`` and ``/docs``: the API described for people, served with no CDN.

The document is built from the routes and schemas (:mod:`service.openapi`) with the codes of the
guides being served, once per set of guides: a reload that changes them builds it again.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, render_template

from service.app import store_of
from service.openapi import build_spec, documented, vocabulary

docs = Blueprint("docs", __name__, template_folder="templates")
DOCS_LANGUAGE = "en"  # the document and the page are written in English


def document() -> dict[str, Any]:
    """The OpenAPI document of this app for the guides it serves now."""
    registry = store_of(current_app).registry
    cached = current_app.extensions.get("bti_openapi")
    if cached is None or cached[0] is not registry:
        cached = (registry, build_spec(current_app, vocabulary(registry.guides.values())))
        current_app.extensions["bti_openapi"] = cached
    return cached[1]


@docs.get("/openapi.json")
@documented(operation_id="getOpenApi", summary="This document", tag="documentation",
            description="OpenAPI 3.1, in English")
def openapi_json() -> Any:
    return document(), 200, {"Content-Language": DOCS_LANGUAGE}


@docs.get("/docs")
@documented(operation_id="getDocs", summary="This document for people", tag="documentation",
            media_type="text/html", description="An HTML page, in English")
def api_docs() -> Response:
    spec = document()
    operations = [
        {"method": method.upper(), "path": path, **op}
        for path, item in spec["paths"].items() for method, op in item.items()
    ]
    html = render_template("docs.html", spec=spec, operations=operations,
                           schemas=spec["components"]["schemas"], dumps=lambda v: json.dumps(v, indent=2,
                                                                                             ensure_ascii=False))
    return Response(html, mimetype="text/html", headers={"Content-Language": DOCS_LANGUAGE})
