"""The JSON API of docs/api.md: one view per endpoint, each parsing with a schema, calling
the core once, and dumping with a schema."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, g, request
from marshmallow import ValidationError
from marshmallow.experimental.context import Context

from rules.case import Case
from rules.decision import Decision
from rules.errors import EngineError, StepError
from rules.evaluate import evaluate
from rules.loader import Registry
from rules.messages import field_path
from rules.model import DEFAULT_LANGUAGE, NATIONAL, Guide
from rules.model import LANGUAGES as RULE_LANGUAGES
from rules.prepare import PreparedGuide
from schemas.decision import (
    BatchResponseSchema,
    CatalogSchema,
    DecisionSchema,
    MunicipalityListSchema,
    MunicipalitySchema,
)
from schemas.errors import ErrorCode
from schemas.fastpath import fast_case, scan_needed
from schemas.i18n import Msg
from schemas.operations import HealthSchema, ReadinessSchema, ServiceStatusSchema
from schemas.privacy import identity_numbers, redact
from schemas.request import BatchRequestSchema, DecisionRequestSchema
from service.access import require
from service.app import store_of
from service.catalog_view import catalog_body, municipality_body
from service.http import ApiError, current_language, details_from, read_json, unknown_guide
from service.observe import metrics, metrics_response
from service.openapi import Access, documented, operation_of
from service.read_cache import read_cache
from service.wire import as_fragment, decision_id, present, present_json

api = Blueprint("api", __name__)
T = TypeVar("T")
log = logging.getLogger("bti.api")
DECISION_ERRORS = (ErrorCode.MALFORMED_JSON, ErrorCode.BAD_REQUEST, ErrorCode.UNKNOWN_MUNICIPALITY,
                   ErrorCode.METHOD_NOT_ALLOWED, ErrorCode.PAYLOAD_TOO_LARGE, ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                   ErrorCode.INVALID_REQUEST, ErrorCode.INTERNAL_ERROR, ErrorCode.GUIDE_UNAVAILABLE)
EXAMPLE = {
    "subject": {"kind": "child", "age": 9},
    "reporter": {"service": "school"},
    "signals": [{"code": "school_absence", "strength": "concern"}, "withdrawn"],
    "family": {"parental_responsibility": "shared"},
    "consent": {"parents": "given", "subject": "not_asked"},
    "status": {"current_level": 1, "measures_effective": "no", "services_involved": ["ppt"],
               "complex_long_term_needs": False},
}


@api.before_app_request
def _access() -> None:
    """API keys, when configured: decision keys for decisions, the admin key for status and
    metrics; which one a view needs is part of its documented contract."""
    operation = operation_of(current_app.view_functions.get(request.endpoint or ""))
    if operation is None or operation.access is None:
        return
    keys, admin = current_app.config["BTI_API_KEY_HASHES"], current_app.config["BTI_ADMIN_KEY_HASHES"]
    if operation.access is Access.DECISIONS:
        require(request, keys, admin)
    else:
        require(request, admin, keys)


_request_schema = DecisionRequestSchema()
_batch_schema = BatchRequestSchema()


def _guide(municipality: str, registry: Registry | None = None) -> Guide:
    return _prepared(municipality, registry).guide


def _prepared(municipality: str, registry: Registry | None = None) -> PreparedGuide:
    registry = registry or store_of(current_app).registry
    prepared = registry.prepared.get(municipality)
    if prepared is None:
        raise unknown_guide(municipality, registry.prepared, registry.errors)
    return prepared


def _lang_problems() -> list[dict[str, Any]]:
    return list(getattr(g, "lang_problems", []))


def _check_lang() -> None:
    if _lang_problems():
        raise ApiError(ErrorCode.INVALID_REQUEST, details=_lang_problems())


def parse_case(guide: Guide, body: Any, prefix: str = "") -> Case:
    """One request body validated against ``guide``; ApiError 422 lists every problem."""
    case = fast_case(guide, body)  # a valid body skips marshmallow, and usually the scan (schemas/fastpath.py)
    if case is not None and not scan_needed(guide):
        return case
    suspicious = list(identity_numbers(body))
    if suspicious:  # reported alone, so no other message echoes the number back
        details = [{"field": redact(field_path(path, prefix)), "message": Msg("identity_number"), "suggestions": []}
                   for path in suspicious]
        raise ApiError(ErrorCode.INVALID_REQUEST, details=details)
    if case is not None:
        return case
    try:
        with Context({"guide": guide}):
            loaded: Case = _request_schema.load(
                body if isinstance(body, dict) else {"_": body} if body is not None else {})
    except ValidationError as exc:
        messages = exc.messages if isinstance(body, dict) else {"_schema": [Msg("object")]}
        raise ApiError(ErrorCode.INVALID_REQUEST, details=details_from(messages, prefix)) from None
    return loaded


def _decision(prepared: PreparedGuide, case: Case, lang: str) -> Decision:
    """The engine's decision of a validated case, or the ApiError that answers it."""
    try:
        # the rule files' texts are in nb, nn and en; a language added to the catalogues only
        # (docs/translation.md) gets the guide's texts in bokmål, and the decision says so in `lang`
        return evaluate(prepared, case, lang if lang in RULE_LANGUAGES else DEFAULT_LANGUAGE)
    except StepError as exc:
        raise ApiError(ErrorCode.INVALID_REQUEST, details=[
            {"field": exc.field, "message": exc.message, "suggestions": list(exc.suggestions)}]) from None
    except EngineError:
        guide = prepared.guide
        log.exception("engine error", extra={"fields": {"event": "engine_error", "municipality": guide.id,
                                                           "digest": guide.digest}})
        raise ApiError(ErrorCode.INTERNAL_ERROR) from None


def decide(prepared: PreparedGuide, case: Case, lang: str) -> dict[str, Any]:
    """Decide a validated case: the response body, counted and logged as a decision given."""
    return _given(prepared, case, lang, present)


def decide_json(prepared: PreparedGuide, case: Case, lang: str) -> bytes:
    """:func:`decide`, as the response's JSON bytes (each entry encoded once per guide: service/wire.py)."""
    return _given(prepared, case, lang, present_json)


def _given(prepared: PreparedGuide, case: Case, lang: str, form: Callable[[Decision, str], T]) -> T:
    """The decision in the ``form`` given (an object or its JSON), counted and logged."""
    started = time.perf_counter()
    decision = _decision(prepared, case, lang)
    decided_id = decision_id()
    body_out = form(decision, decided_id)
    observe_decision(prepared.guide, decision, decided_id, started)
    return body_out


_decision_counters: dict[tuple[str, int], Any] = {}  # (guide, level) → its labelled counter, looked up once


def observe_decision(guide: Guide, decision: Decision, decided_id: str, started: float) -> None:
    """A decision given: counted, and logged with codes only (never the request's content).

    The record is made and handled directly: ``log.info`` would first walk the stack for the
    caller's file and line, which no handler here prints (a sixth of the log line's cost)."""
    key = (guide.id, decision.level)
    counter = _decision_counters.get(key)
    if counter is None:
        counter = _decision_counters[key] = metrics().decisions.labels(guide.id, str(key[1]))
    counter.inc()
    if log.isEnabledFor(logging.INFO):
        log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, "decision", (), None, extra={"fields": {
            "event": "decision", "decision_id": decided_id, "municipality": guide.id,
            "version": guide.version, "decided_level": decision.level, "urgent": decision.urgent,
            "ms": round((time.perf_counter() - started) * 1000, 3)}}))


@api.post("/v1/municipalities/<municipality>/decisions")
@documented(operation_id="decide", summary="Decide one case", tag="decisions", response=DecisionSchema,
            description="The decision", body=DecisionRequestSchema, example=EXAMPLE, languages=True,
            errors=DECISION_ERRORS, access=Access.DECISIONS)
def post_decision(municipality: str) -> Any:
    return decide_request(municipality)


def decide_request(municipality: str) -> Response:
    """The decision for this request's body (and ?lang=), or the ApiError that answers it."""
    prepared = _prepared(municipality)
    case = body_case(prepared, read_json(request), _lang_problems())
    return Response(decide_json(prepared, case, current_language()) + b"\n", mimetype="application/json")


def body_case(prepared: PreparedGuide, body: Any, lang_problems: list[dict[str, Any]]) -> Case:
    """The case of one request body (the HTTP view and :class:`service.embed.Decider` both call
    this); ApiError 422 lists the body's problems together with ``lang_problems`` (a bad ``?lang=``)."""
    try:
        case = parse_case(prepared.guide, body)
    except ApiError as exc:
        raise ApiError(ErrorCode.INVALID_REQUEST, details=lang_problems + exc.details) from None
    if lang_problems:  # before deciding: a request answered with 422 is never decided, counted or logged
        raise ApiError(ErrorCode.INVALID_REQUEST, details=lang_problems)
    return case


@api.post("/v1/municipalities/<municipality>/decisions/batch")
@documented(operation_id="decideBatch", summary="Decide 1 to 100 cases; a bad case does not fail the others",
            tag="decisions", response=BatchResponseSchema, description="One decision or error per case, by index",
            body=BatchRequestSchema, example={"cases": [EXAMPLE]}, languages=True, errors=DECISION_ERRORS,
            access=Access.DECISIONS)
def post_batch(municipality: str) -> Any:
    prepared = _prepared(municipality)
    body = read_json(request)
    _check_lang()
    if isinstance(body, dict):
        outside = [path for path in identity_numbers({k: v for k, v in body.items() if k != "cases"})]
        if outside:
            raise ApiError(ErrorCode.INVALID_REQUEST, details=[
                {"field": redact(field_path(path)), "message": Msg("identity_number"), "suggestions": []}
                for path in outside])
    if not isinstance(body, dict):
        raise ApiError(ErrorCode.INVALID_REQUEST, details=details_from({"_schema": [Msg("object")]}))
    try:
        cases = _batch_schema.load(body)["cases"]
    except ValidationError as exc:
        raise ApiError(ErrorCode.INVALID_REQUEST, details=details_from(exc.messages)) from None
    lang = current_language()
    results: list[dict[str, Any]] = []
    for index, case in enumerate(cases):
        try:
            decided = decide_json(prepared, parse_case(prepared.guide, case), lang)
            results.append({"index": index, "decision": as_fragment(decided)})
        except ApiError as exc:
            results.append({"index": index, **exc.body(lang)})
    return {"decisions": results}


@api.get("/v1/municipalities")
@documented(operation_id="listMunicipalities", summary="The guides served", tag="guides",
            response=MunicipalityListSchema, description="Guides with version and digest", languages=True,
            errors=(ErrorCode.INVALID_REQUEST,))
def list_municipalities() -> Any:
    _check_lang()
    lang = current_language()
    registry = store_of(current_app).registry
    return read_cache().response(registry, ("municipalities", lang), lambda: MunicipalityListSchema().dump(
        {"municipalities": [{"id": gd.id, "name": gd.name.in_lang(lang), "version": gd.version, "digest": gd.digest,
                             "status": gd.status} for gd in registry.guides.values()]}))


@api.get("/v1/municipalities/<municipality>")
@documented(operation_id="getMunicipality", summary="One guide: settings, levels, rules", tag="guides",
            response=MunicipalitySchema, description="The guide", languages=True,
            errors=(ErrorCode.UNKNOWN_MUNICIPALITY, ErrorCode.INVALID_REQUEST, ErrorCode.GUIDE_UNAVAILABLE))
def get_municipality(municipality: str) -> Any:
    registry = store_of(current_app).registry
    guide = _guide(municipality, registry)
    _check_lang()
    lang = current_language()
    return read_cache().response(registry, ("municipality", guide.id, lang),
                                 lambda: MunicipalitySchema().dump(municipality_body(guide, lang)))


@api.get("/v1/catalog")
@documented(operation_id="getCatalog", summary="Every code with its label, steps with text and legal basis",
            tag="guides", response=CatalogSchema, description="The national catalog", languages=True,
            errors=(ErrorCode.INVALID_REQUEST, ErrorCode.GUIDE_UNAVAILABLE))
def get_catalog() -> Any:
    _check_lang()
    registry = store_of(current_app).registry
    guide = _guide(NATIONAL, registry)
    lang = current_language()
    return read_cache().response(registry, ("catalog", lang), lambda: catalog_body(guide.catalog, lang))


@api.get("/healthz")
@documented(operation_id="healthz", summary="The process is up", tag="operations", response=HealthSchema,
            description="up")
def healthz() -> Any:
    return {"status": "ok"}


@api.get("/v1/status")
@documented(operation_id="getStatus", summary="Per guide: version, digest, when it was loaded, the last reload error",
            tag="operations", response=ServiceStatusSchema, description="The guides and their reloads",
            access=Access.ADMIN)
def get_status() -> Any:
    """Per guide: version, digest, when it was loaded, and the last reload error."""
    store = store_of(current_app)

    def when(t: float | None) -> str | None:
        return None if t is None else datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")

    guides = {}
    for gid, st in sorted(store.status.items()):
        guides[gid] = {
            "version": st.version, "digest": st.digest, "loaded_at": when(st.loaded_at), "reloads": st.reloads,
            "serving": gid in store.registry.guides,
            "last_reload_error": None if st.last_error is None else {"at": when(st.last_error_at),
                                                                     "problems": st.last_error},
        }
    return {"ready": store.ready, "reload_interval": current_app.config["BTI_RELOAD_INTERVAL"],
            "reload_errors": store.reload_errors, "guides": guides,
            "refused_folders": [{"folder": name, "reason": reason} for name, reason in sorted(store.refused.items())]}


@api.get("/metrics")
@documented(operation_id="getMetrics", summary="Prometheus metrics, summed over the workers", tag="operations",
            media_type="text/plain", description="The Prometheus text exposition format",
            access=Access.ADMIN)
def get_metrics() -> Any:
    return metrics_response()


@api.get("/readyz")
@documented(operation_id="readyz", summary="The national guide and every guide with a good version are served",
            tag="operations", response=ReadinessSchema, description="ready",
            also={503: "the national guide is not served, or a version another worker accepted is not served yet"})
def readyz() -> Any:
    store = store_of(current_app)
    registry = store.registry
    body = {
        "status": "ready" if store.ready else "not_ready",
        "guides": {gid: {"version": gd.version, "digest": gd.digest} for gid, gd in registry.guides.items()},
        "failed": sorted(registry.errors),
    }
    return body, 200 if store.ready else 503
