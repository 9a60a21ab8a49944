"""The JSON API of contract §2–§3: one view per endpoint, each parsing with a schema, calling
the core once, and dumping with a schema."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, current_app, g, request
from marshmallow import ValidationError
from marshmallow.experimental.context import Context

from rules.decision import Decision
from rules.errors import CaseError, EngineError
from rules.evaluate import evaluate
from rules.model import Guide
from schemas.decision import DecisionSchema, MunicipalityListSchema, MunicipalitySchema
from schemas.request import BatchRequestSchema, DecisionRequestSchema
from service.app import store_of
from service.catalog_view import catalog_body, municipality_body
from service.http import ApiError, current_language, details_from, read_json

api = Blueprint("api", __name__)
_decision_schema = DecisionSchema()
_request_schema = DecisionRequestSchema()
_batch_schema = BatchRequestSchema()


def _guide(municipality: str) -> Guide:
    guide = store_of(current_app).get(municipality)
    if guide is None:
        raise ApiError(404, "unknown_municipality", id=municipality)
    return guide


def _lang_problems() -> list[dict[str, Any]]:
    return list(getattr(g, "lang_problems", []))


def _check_lang() -> None:
    if _lang_problems():
        raise ApiError(422, "invalid_request", details=_lang_problems())


def present(decision: Decision) -> dict[str, Any]:
    """The decision as the contract's JSON object (a fresh ``decision_id`` each time)."""
    body = {
        "decision_id": uuid.uuid4().hex,
        "municipality": decision.municipality,
        "ruleset": {"version": decision.version, "digest": decision.digest},
        "lang": decision.lang,
        "level": decision.level,
        "level_name": decision.level_name,
        "urgent": decision.urgent,
        "actors": decision.actors,
        "steps": decision.steps,
        "forbidden": decision.forbidden,
        "consent": decision.consent,
        "explanation": decision.explanation,
    }
    return _decision_schema.dump(body)


def decide(guide: Guide, body: Any, lang: str, prefix: str = "") -> dict[str, Any]:
    """Validate one request body and decide it; ApiError 422 lists every problem."""
    try:
        with Context({"guide": guide}):
            case = _request_schema.load(body if isinstance(body, dict) else {"_": body} if body is not None else {})
    except ValidationError as exc:
        messages = exc.messages if isinstance(body, dict) else {"_schema": ["Invalid input type."]}
        raise ApiError(422, "invalid_request", details=details_from(messages, prefix)) from None
    try:
        return present(evaluate(guide, case, lang))
    except CaseError as exc:
        details = [{"field": f"{prefix}.{f}" if prefix else f, "message": m, "suggestions": []}
                   for f, m in exc.details]
        raise ApiError(422, "invalid_request", details=details) from None
    except EngineError:
        current_app.logger.exception("engine error in guide %s", guide.id)
        raise ApiError(500, "internal_error") from None


@api.post("/v1/municipalities/<municipality>/decisions")
def post_decision(municipality: str) -> Any:
    guide = _guide(municipality)
    body = read_json(request)
    if _lang_problems():
        # report the bad language together with any problem in the body
        try:
            decide(guide, body, current_language())
        except ApiError as exc:
            raise ApiError(422, "invalid_request", details=_lang_problems() + exc.details) from None
        _check_lang()
    return decide(guide, body, current_language())


@api.post("/v1/municipalities/<municipality>/decisions/batch")
def post_batch(municipality: str) -> Any:
    guide = _guide(municipality)
    body = read_json(request)
    _check_lang()
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_request", details=details_from({"_schema": ["Invalid input type."]}))
    try:
        cases = _batch_schema.load(body)["cases"]
    except ValidationError as exc:
        raise ApiError(422, "invalid_request", details=details_from(exc.messages)) from None
    lang = current_language()
    results: list[dict[str, Any]] = []
    for index, case in enumerate(cases):
        try:
            results.append({"index": index, "decision": decide(guide, case, lang)})
        except ApiError as exc:
            results.append({"index": index, **exc.body(lang)})
    return {"decisions": results}


@api.get("/v1/municipalities")
def list_municipalities() -> Any:
    _check_lang()
    lang = current_language()
    guides = store_of(current_app).registry.guides.values()
    return MunicipalityListSchema().dump({"municipalities": [
        {"id": gd.id, "name": gd.name.in_lang(lang), "version": gd.version, "digest": gd.digest} for gd in guides
    ]})


@api.get("/v1/municipalities/<municipality>")
def get_municipality(municipality: str) -> Any:
    guide = _guide(municipality)
    _check_lang()
    return MunicipalitySchema().dump(municipality_body(guide, current_language()))


@api.get("/v1/catalog")
def get_catalog() -> Any:
    _check_lang()
    guide = _guide("national")
    return catalog_body(guide.catalog, current_language())


@api.get("/healthz")
def healthz() -> Any:
    return {"status": "ok"}


@api.get("/readyz")
def readyz() -> Any:
    store = store_of(current_app)
    registry = store.registry
    body = {
        "status": "ready" if store.ready else "not_ready",
        "guides": {gid: {"version": gd.version, "digest": gd.digest} for gid, gd in registry.guides.items()},
        "failed": sorted(registry.errors),
    }
    return body, 200 if store.ready else 503
