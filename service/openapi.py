"""The OpenAPI 3.1 document, generated from the app's routes and the marshmallow schemas.

Every rule in ``app.url_map`` becomes an operation. A view states its contract next to its code
with ``@documented(...)``: one success response (a schema or a media type), the error codes it can
answer with, its body schema, whether it takes ``?lang=`` and which key it needs. The schemas become
components through apispec's marshmallow plugin, so a field added to a schema appears in the
document with no further work. The codes that come from the guides (signals, services, steps,
forbidden actions, step kinds) are filled in as enums from the guides being served; the document is
built again when they change (see ``service.docs``).

Why not flask-smorest: its ``@response`` dumps every answer through the schema (a third of the
decision's time; the service builds that JSON by hand) and its ``@arguments`` would replace the strict
body reader (415, 413, 400 in order, duplicate keys, identity numbers before anything is echoed) with
webargs' parser and its own 422. Left with its documentation half, it would also see only the routes
of its own blueprints; walking ``url_map`` documents every route, pages and static files included.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import Schema
from marshmallow import fields as mfields
from werkzeug.routing import Rule

import i18n
from rules.model import NATIONAL, STRENGTHS, Guide
from schemas.errors import ErrorCode, ErrorSchema

View = TypeVar("View", bound=Callable[..., Any])


class Access(StrEnum):
    """Which key an endpoint needs when keys are configured (docs/operations.md, Access)."""

    DECISIONS = "decisions"  # a key of BTI_API_KEYS
    ADMIN = "admin"  # the key of BTI_ADMIN_KEY


@dataclass(frozen=True)
class Operation:
    """What a view takes and answers: the source of its part of the OpenAPI document."""

    operation_id: str
    summary: str
    tag: str
    response: type[Schema] | None = None  # the success body (JSON)
    media_type: str = "application/json"
    description: str = "OK"  # of the success response
    status: int = 200
    body: type[Schema] | None = None
    example: Any = None
    languages: bool = False  # takes ?lang= and Accept-Language
    errors: tuple[ErrorCode, ...] = ()
    access: Access | None = None
    parameters: tuple[Mapping[str, Any], ...] = ()  # headers or query parameters of its own
    also: Mapping[int, str] = field(default_factory=dict)  # other statuses answered with the same body
    other: Mapping[int, str] = field(default_factory=dict)  # responses that are not the error envelope


def documented(**kwargs: Any) -> Callable[[View], View]:
    """Attach an :class:`Operation` to a view (``@documented(operation_id=..., summary=..., ...)``)."""
    operation = Operation(**kwargs)

    def mark(view: View) -> View:
        setattr(view, "openapi", operation)  # noqa: B010 (an attribute the type does not declare)
        return view

    return mark


def operation_of(view: Callable[..., Any] | None) -> Operation | None:
    found = getattr(view, "openapi", None)
    return found if isinstance(found, Operation) else None


STATIC = Operation(operation_id="asset", summary="A script, style sheet or image of the web pages", tag="pages",
                   media_type="*/*", description="The file (with ETag and Last-Modified; Range is honoured)",
                   errors=(ErrorCode.NOT_FOUND, ErrorCode.RANGE_NOT_SATISFIABLE))
UNDOCUMENTED = "undocumented: this view has no @documented contract"

PATH_PARAMETERS = {
    "municipality": "A guide id from GET /v1/municipalities (`national` is one).",
    "filename": "A file of the pages' assets.",
}
LANGUAGE_PARAMETERS: list[dict[str, Any]] = [
    {"name": "lang", "in": "query", "required": False, "schema": {"type": "string", "enum": list(i18n.LANGUAGES)},
     "description": "Language of texts, labels and messages; wins over Accept-Language; else nb. "
                    "Any other value is a 422."},
    {"name": "Accept-Language", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "Used when ?lang= is absent (q-values honoured; no, nob, nno, eng are understood)."},
]
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}, {}]  # {}: no key, when none is configured


def vocabulary(guides: Iterable[Guide]) -> dict[str, list[str]]:
    """The codes of the served guides' catalogs, per section (national order first)."""
    ordered = sorted(guides, key=lambda g: g.id != NATIONAL)
    sections: dict[str, dict[str, None]] = {name: {} for name in
                                            ("services", "signals", "steps", "step_kinds", "forbidden")}
    for guide in ordered:
        catalog = guide.catalog
        sections["services"].update(dict.fromkeys(catalog.services))
        sections["signals"].update(dict.fromkeys(catalog.signals))
        sections["steps"].update(dict.fromkeys(catalog.steps))
        sections["step_kinds"].update(dict.fromkeys(step.kind for step in catalog.steps.values()))
        sections["forbidden"].update(dict.fromkeys(catalog.forbidden))
    return {name: list(codes) for name, codes in sections.items() if codes}


def _catalog_enums(codes: Mapping[str, Sequence[str]]) -> Callable[..., dict[str, Any]]:
    """An apispec attribute function: a field naming a catalog section (``metadata={"catalog":
    "steps"}``, or a request ``Code``/``SignalField``) gets that section's codes as its enum; the enum
    of a field that may be null lists null."""
    from schemas.request import Code, SignalField

    def catalog_enum(self: Any, field: mfields.Field, ret: dict[str, Any] | None = None,
                     **kwargs: Any) -> dict[str, Any]:
        if isinstance(field, SignalField):
            strength = {"type": ["string", "null"], "enum": [*STRENGTHS, None], "default": "concern"}
            code = {"type": "string", **({"enum": list(codes["signals"])} if "signals" in codes else {})}
            return {"oneOf": [
                {**code, "description": "a signal code, at strength concern"},
                {"type": "object", "additionalProperties": False, "required": ["code"],
                 "properties": {"code": code, "strength": strength}},
            ]}
        section = field.metadata.get("catalog") or (field.section if isinstance(field, Code) else None)
        enum = list(codes[section]) if section and section in codes else list((ret or {}).get("enum") or [])
        if not enum:
            return {}
        if field.allow_none and None not in enum:  # null is allowed, so the enum must list it
            enum.append(None)
        return {"enum": enum}

    return catalog_enum


_VARIABLE = re.compile(r"<(?:[a-zA-Z_][a-zA-Z0-9_]*(?:\([^)]*\))?:)?(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")


def _path(rule: Rule) -> tuple[str, list[dict[str, Any]]]:
    """``/v1/municipalities/<municipality>`` → ``/v1/municipalities/{municipality}`` and its parameters."""
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"},
                   "description": PATH_PARAMETERS.get(name, "")}
                  for name in (m.group("name") for m in _VARIABLE.finditer(rule.rule))]
    return _VARIABLE.sub(lambda m: "{" + m.group("name") + "}", rule.rule), parameters


def _error_response(codes: Sequence[ErrorCode]) -> dict[str, Any]:
    names = [code.value for code in codes]
    schema = {"allOf": [{"$ref": "#/components/schemas/Error"},
                        {"type": "object", "properties": {"error": {"type": "object", "properties": {
                            "code": {"type": "string", "enum": names}}}}}]}
    response: dict[str, Any] = {
        "description": "; ".join(f"`{code.value}`: {code.meaning}" for code in codes),
        "headers": {"Content-Language": {"$ref": "#/components/headers/ContentLanguage"}},
        "content": {"application/json": {"schema": schema}},
    }
    if ErrorCode.METHOD_NOT_ALLOWED in codes:
        response["headers"]["Allow"] = {"description": "the methods the path takes", "schema": {"type": "string"}}
    if ErrorCode.UNAUTHORIZED in codes:
        response["headers"]["WWW-Authenticate"] = {"description": 'Bearer realm="bti"',
                                                   "schema": {"type": "string"}}
    return response


def _operation(op: Operation, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    success: dict[str, Any] = {"description": op.description,
                               "headers": {"Content-Language": {"$ref": "#/components/headers/ContentLanguage"}}}
    if op.response is not None:
        success["content"] = {op.media_type: {"schema": op.response}}
    else:
        schema = {"type": "object"} if op.media_type == "application/json" else {"type": "string"}
        success["content"] = {op.media_type: {"schema": schema}}
    responses: dict[str, Any] = {str(op.status): success}
    codes = list(op.errors)
    if op.access is not None:
        codes += [ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN]
    for status in sorted({code.status for code in codes}):
        responses[str(status)] = _error_response([code for code in ErrorCode if code in codes
                                                  and code.status == status])
    for status, description in op.also.items():
        responses[str(status)] = {**success, "description": description}
    for status, description in op.other.items():
        responses[str(status)] = {"description": description}
    result: dict[str, Any] = {
        "operationId": op.operation_id, "summary": op.summary, "tags": [op.tag],
        "parameters": parameters + [dict(p) for p in op.parameters] + (LANGUAGE_PARAMETERS if op.languages else []),
        "responses": responses,
    }
    if op.body is not None:
        content: dict[str, Any] = {"schema": op.body}
        if op.example is not None:
            content["example"] = op.example
        result["requestBody"] = {"required": True, "content": {"application/json": content}}
    if op.access is not None:
        result["security"] = SECURITY
        result["description"] = (f"Needs a {'decision' if op.access is Access.DECISIONS else 'admin'} key when "
                                 "keys are configured (docs/operations.md, Access); open otherwise.")
    if not result["parameters"]:
        del result["parameters"]
    return result


def build_spec(app: Flask, codes: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """The document for every route of ``app``; ``codes`` (from :func:`vocabulary`) fills the enums."""
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="BTI decision service", version="1", openapi_version="3.1.0", plugins=[plugin],
        info={"description": "Decisions under Norwegian municipalities' BTI action guides: level, actors, "
                             "steps with legal basis, forbidden actions, consent and why. Every error is one "
                             "envelope with a stable code (docs/api.md)."},
    )
    assert plugin.converter is not None
    plugin.converter.add_attribute_function(_catalog_enums(codes or {}))
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "description": "Authorization: Bearer <key>"})
    spec.components.security_scheme("apiKey", {"type": "apiKey", "in": "header", "name": "X-API-Key"})
    spec.components.header("ContentLanguage", {"description": "the language of the texts in the answer",
                                               "schema": {"type": "string", "enum": list(i18n.LANGUAGES)}})
    spec.components.schema("Error", schema=ErrorSchema)
    operations: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        op = operation_of(view) or (STATIC if rule.endpoint.rsplit(".", 1)[-1] == "static" else None)
        path, parameters = _path(rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if op is None:  # a route without a contract is still listed (and a test insists on one)
                summary = ((view.__doc__ or "").strip().splitlines() or [UNDOCUMENTED])[0] if view else UNDOCUMENTED
                entry: dict[str, Any] = {"operationId": rule.endpoint.replace(".", "_"), "summary": summary,
                                         "x-undocumented": True, "responses": {"200": {"description": "OK"}}}
                if parameters:
                    entry["parameters"] = parameters
            else:
                entry = _operation(op, parameters)
            operations.setdefault(path, {})[method.lower()] = entry
    for path, item in operations.items():
        spec.path(path=path, operations=item)
    return spec.to_dict()
