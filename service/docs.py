"""``/openapi.json`` and ``/docs``: the API described for people, served with no CDN."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from flask import Blueprint, Response, render_template

from service.openapi import build_spec

docs = Blueprint("docs", __name__, template_folder="templates")


@lru_cache(maxsize=1)
def _spec() -> dict[str, Any]:
    return build_spec()


@docs.get("/openapi.json")
def openapi_json() -> Any:
    return _spec()


@docs.get("/docs")
def api_docs() -> Response:
    spec = _spec()
    operations = [
        {"method": method.upper(), "path": path, **op}
        for path, item in spec["paths"].items() for method, op in item.items()
    ]
    html = render_template("docs.html", spec=spec, operations=operations,
                           schemas=spec["components"]["schemas"], dumps=lambda v: json.dumps(v, indent=2,
                                                                                             ensure_ascii=False))
    return Response(html, mimetype="text/html")
