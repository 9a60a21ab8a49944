"""The HTTP contract (docs/api.md) as tables: statuses and the error envelope, their precedence,
validation with field paths and suggestions, language negotiation, the decision response, batches
and the read-only endpoints.

Expected results are reasoned from the contract, not copied from the service's output. Cases are
invented: no names, no identifiers.
"""

from __future__ import annotations

import copy
import io
import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header
from werkzeug.test import TestResponse

from service.http import accept_language

NATIONAL = "/v1/municipalities/national"
DECISIONS = f"{NATIONAL}/decisions"
BATCH = f"{DECISIONS}/batch"
UNKNOWN = "/v1/municipalities/nowhere"
LIMIT = 1024 * 1024  # 1 MiB, docs/api.md, Errors

# a plain valid case: a 9-year-old the school is concerned about (rule 15 → level 1)
CASE: dict[str, Any] = {
    "subject": {"kind": "child", "age": 9},
    "reporter": {"service": "school"},
    "signals": ["withdrawn"],
}
# the request of docs/api.md, Request, every field given
FULL_CASE: dict[str, Any] = {
    "subject": {"kind": "child", "age": 9},
    "reporter": {"service": "school"},
    "signals": [{"code": "school_absence", "strength": "concern"}, "withdrawn"],
    "family": {"parental_responsibility": "shared"},
    "consent": {"parents": "given", "subject": "not_asked"},
    "status": {"current_level": 1, "measures_effective": "no",
               "services_involved": ["ppt"], "complex_long_term_needs": False},
}

URGENT_STEPS = {"call_emergency_112", "call_medical_emergency_113", "contact_child_welfare_emergency", "notify_police",
                "report_to_child_welfare"}
# docs/api.md, Vocabulary: the fixed order of steps
STEP_ORDER = [
    "call_emergency_112", "call_medical_emergency_113", "contact_child_welfare_emergency", "notify_police",
    "report_to_child_welfare", "notify_municipal_health_service", "inform_parents_necessary_health_info",
    "talk_with_child", "talk_with_pregnant_woman", "record_childs_own_words", "inform_child", "talk_with_parents",
    "child_joins_meeting",
    "discuss_with_leader", "anonymous_consultation", "contact_expert_team", "contact_slt",
    "obtain_consent_parents", "obtain_consent_subject", "record_consent_refusal",
    "write_concern_note", "record_in_journal", "open_relay_log", "close_relay_log",
    "plan_measures", "set_evaluation_date", "call_cooperation_meeting", "establish_responsibility_group",
    "consider_individual_plan", "appoint_coordinator", "offer_child_coordinator", "refer_to_coordinating_unit",
]
STEP_KINDS = {"notification", "participation", "consultation", "consent", "documentation", "coordination"}
HEALTH_SERVICES = ["health_station", "school_health", "midwife", "gp", "dental", "bup",
                   "mental_health_substance", "habilitation", "physio_ot"]
DECISION_KEYS = {"decision_id", "municipality", "ruleset", "lang", "level", "level_name", "urgent", "actors",
                 "steps", "forbidden", "consent", "explanation", "pathway"}


def case(**changes: Any) -> dict[str, Any]:
    """CASE with top-level fields replaced (a value of ``...`` removes the field)."""
    body = copy.deepcopy(CASE)
    for key, value in changes.items():
        if value is ...:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def child(age: Any = 9, *signals: Any, reporter: str = "school", **changes: Any) -> dict[str, Any]:
    return case(subject={"kind": "child", "age": age}, reporter={"service": reporter},
                signals=list(signals) or ["withdrawn"], **changes)


def post_json(client: FlaskClient, path: str, body: Any, *, query: str = "",
              headers: dict[str, str] | None = None) -> TestResponse:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path + query, data=data, headers={"Content-Type": "application/json", **(headers or {})})


def envelope(resp: TestResponse, status: int, code: str) -> dict[str, Any]:
    """The response is an error of ``status``/``code`` in the contract's envelope; returns ``error``."""
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"].strip()
    assert isinstance(error["details"], list)
    for detail in error["details"]:
        assert set(detail) == {"field", "message", "suggestions"}
        assert isinstance(detail["field"], str)
        assert isinstance(detail["message"], str) and detail["message"].strip()
        assert isinstance(detail["suggestions"], list) and len(detail["suggestions"]) <= 3
        assert all(isinstance(s, str) for s in detail["suggestions"])
    assert resp.headers.get("Content-Language") in {"nb", "nn", "en"}
    return error  # type: ignore[no-any-return]


def fields_of(error: dict[str, Any]) -> list[str]:
    return [d["field"] for d in error["details"]]


def detail(error: dict[str, Any], field: str) -> dict[str, Any]:
    found = [d for d in error["details"] if d["field"] == field]
    assert found, f"no detail for {field!r} in {fields_of(error)}"
    return found[0]  # type: ignore[no-any-return]


def decision(resp: TestResponse) -> dict[str, Any]:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:800]
    body = resp.get_json()
    assert set(body) == DECISION_KEYS
    return body  # type: ignore[no-any-return]


def without_id(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "decision_id"}


def padded(body: Any, size: int) -> bytes:
    """``body`` as JSON followed by spaces up to exactly ``size`` bytes (still valid JSON)."""
    raw = json.dumps(body).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


# --- 400 malformed_json ----------------------------------------------------------------------

MALFORMED = [
    pytest.param(b'{"subject": ', id="truncated"),
    pytest.param(b'{"subject": {"kind": "child", "age": 9},}', id="trailing-comma"),
    pytest.param(b"{'subject': 1}", id="single-quotes"),
    pytest.param(b'{"signals": ["withdrawn"]} x', id="trailing-garbage"),
    pytest.param(b"not json", id="not-json"),
    pytest.param(b'{"subject": {"kind": "child", "age": NaN}}', id="nan-nested"),
    pytest.param(b'{"x": NaN}', id="nan-top"),
    pytest.param(b'{"x": Infinity}', id="infinity"),
    pytest.param(b'{"x": -Infinity}', id="minus-infinity"),
    pytest.param(b'{"signals": ["withdraw\xffn"]}', id="invalid-utf8-in-string"),
    pytest.param(b'\xff\xfe{}', id="invalid-utf8-start"),
    pytest.param(b'{"a": "\xc3\x28"}', id="invalid-utf8-sequence"),
    pytest.param(json.dumps(CASE).encode("utf-16"), id="utf16-body"),
    pytest.param(json.dumps(CASE).encode("latin-1")[:-1] + b', "x": "\xe6\xf8\xe5"}', id="latin1-bytes"),
    pytest.param(b"", id="empty-body"),
    pytest.param(b"   \n\t ", id="whitespace-only-body"),
    pytest.param(b'{"subject": {"kind": "child", "age": ' + b"9" * 5000 + b"}}", id="integer-5000-digits"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-too-deeply"),
    pytest.param(
        b'{"subject": {"kind": "child", "age": 9}, "subject": {"kind": "child", "age": 9},'
        b' "reporter": {"service": "school"}, "signals": ["withdrawn"]}',
        id="duplicate-key-top-level"),
    pytest.param(
        b'{"subject": {"kind": "child", "age": 9, "age": 10},'
        b' "reporter": {"service": "school"}, "signals": ["withdrawn"]}',
        id="duplicate-key-nested"),
    pytest.param(
        b'{"subject": {"kind": "child", "age": 9}, "reporter": {"service": "school"},'
        b' "signals": [{"code": "withdrawn", "code": "low_mood"}]}',
        id="duplicate-key-in-list-item"),
]


@pytest.mark.parametrize("path", [DECISIONS, BATCH], ids=["decisions", "batch"])
@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_json_is_400(client: FlaskClient, path: str, raw: bytes) -> None:
    error = envelope(post_json(client, path, raw), 400, "malformed_json")
    assert error["details"] == []


# --- 404 -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "code"), [
    ("POST", f"{UNKNOWN}/decisions", "unknown_municipality"),
    ("POST", f"{UNKNOWN}/decisions/batch", "unknown_municipality"),
    ("GET", UNKNOWN, "unknown_municipality"),
    ("GET", "/nope", "not_found"),
    ("GET", "/v2/catalog", "not_found"),
    ("GET", f"{DECISIONS}/extra/parts", "not_found"),
    ("POST", "/v1/decisions", "not_found"),
    ("GET", "/v1/catalogue", "not_found"),
])
def test_not_found(client: FlaskClient, method: str, path: str, code: str) -> None:
    body = {"cases": [CASE]} if path.endswith("batch") else CASE
    resp = client.open(path, method=method, json=body if method == "POST" else None)
    envelope(resp, 404, code)


# --- 405 -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("GET", DECISIONS, "POST"),
    ("PUT", DECISIONS, "POST"),
    ("GET", BATCH, "POST"),
    ("DELETE", "/v1/catalog", "GET"),
    ("POST", "/v1/catalog", "GET"),
    ("PUT", NATIONAL, "GET"),
    ("DELETE", "/v1/municipalities", "GET"),
    ("POST", "/healthz", "GET"),
    ("POST", "/readyz", "GET"),
    ("POST", "/openapi.json", "GET"),
    ("PATCH", "/docs", "GET"),
])
def test_method_not_allowed_has_allow(client: FlaskClient, method: str, path: str, allowed: str) -> None:
    resp = client.open(path, method=method)
    envelope(resp, 405, "method_not_allowed")
    allow = {m.strip() for m in resp.headers.get("Allow", "").split(",")}
    assert allowed in allow
    assert method not in allow


# --- 413 -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "body"), [(DECISIONS, CASE), (BATCH, {"cases": [CASE]})],
                         ids=["decisions", "batch"])
def test_body_over_one_mib_is_413(client: FlaskClient, path: str, body: Any) -> None:
    envelope(post_json(client, path, padded(body, LIMIT + 1)), 413, "payload_too_large")


@pytest.mark.parametrize(("path", "body"), [(DECISIONS, CASE), (BATCH, {"cases": [CASE]})],
                         ids=["decisions", "batch"])
def test_body_of_exactly_one_mib_is_accepted(client: FlaskClient, path: str, body: Any) -> None:
    resp = post_json(client, path, padded(body, LIMIT))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]


@pytest.mark.parametrize(("size", "status"), [(LIMIT - 1, 200), (LIMIT, 200), (LIMIT + 1, 413), (2 * LIMIT, 413)])
def test_limit_holds_without_content_length(client: FlaskClient, size: int, status: int) -> None:
    """A chunked body announces no length; the limit is on the bytes actually read."""
    resp = client.post(DECISIONS, input_stream=io.BytesIO(padded(CASE, size)),
                       headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                       environ_overrides={"wsgi.input_terminated": True})
    assert resp.status_code == status
    if status == 413:
        envelope(resp, 413, "payload_too_large")


def test_big_invalid_request_under_the_limit_is_422_not_413(client: FlaskClient) -> None:
    body = case(pad="x" * (LIMIT - 200))
    raw = json.dumps(body).encode()
    assert len(raw) <= LIMIT
    error = envelope(post_json(client, DECISIONS, raw), 422, "invalid_request")
    assert fields_of(error) == ["pad"]


# --- 415 -------------------------------------------------------------------------------------

@pytest.mark.parametrize("content_type", [
    "text/plain",
    None,
    "application/json; charset=latin-1",
    "application/json; charset=iso-8859-1",
    "application/json; charset=utf-16",
    "application/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
])
@pytest.mark.parametrize("path", [DECISIONS, BATCH], ids=["decisions", "batch"])
def test_unsupported_media_type(client: FlaskClient, path: str, content_type: str | None) -> None:
    body = json.dumps({"cases": [CASE]} if path == BATCH else CASE)
    headers = {"Content-Type": content_type} if content_type else {}
    envelope(client.post(path, data=body, headers=headers), 415, "unsupported_media_type")


@pytest.mark.parametrize("content_type", [
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=UTF-8",
    'application/json; charset="utf-8"',
    "application/problem+json",
    "application/merge-patch+json",
])
def test_accepted_media_types(client: FlaskClient, content_type: str) -> None:
    resp = client.post(DECISIONS, data=json.dumps(CASE), headers={"Content-Type": content_type})
    decision(resp)


# --- precedence: 404, then 405, 415, 413, 400, 422 -----------------------------------------------

PRECEDENCE = [
    # (id, method, path, content type, body, status, code)
    ("404-before-405", "GET", f"{UNKNOWN}/decisions", None, None, 404, "unknown_municipality"),
    ("404-before-405-batch", "GET", f"{UNKNOWN}/decisions/batch", None, None, 404, "unknown_municipality"),
    ("404-before-405-municipality", "DELETE", UNKNOWN, None, None, 404, "unknown_municipality"),
    ("404-before-415", "POST", f"{UNKNOWN}/decisions", "text/plain", json.dumps(CASE).encode(), 404,
     "unknown_municipality"),
    ("404-before-413", "POST", f"{UNKNOWN}/decisions", "application/json", padded(CASE, LIMIT + 1), 404,
     "unknown_municipality"),
    ("404-before-400", "POST", f"{UNKNOWN}/decisions", "application/json", b"{", 404, "unknown_municipality"),
    ("405-before-415", "PUT", DECISIONS, "text/plain", b"{", 405, "method_not_allowed"),
    ("415-before-413", "POST", DECISIONS, "text/plain", padded(CASE, LIMIT + 1), 415, "unsupported_media_type"),
    ("415-before-400", "POST", DECISIONS, "text/plain", b"{", 415, "unsupported_media_type"),
    ("413-before-400", "POST", DECISIONS, "application/json", b"{" * (LIMIT + 1), 413, "payload_too_large"),
    ("413-before-400-utf8", "POST", DECISIONS, "application/json", b"\xff" * (LIMIT + 1), 413,
     "payload_too_large"),
    ("400-before-422", "POST", DECISIONS, "application/json",
     b'{"subject": {"kind": "adult", "age": "x"}, "extra": 1,}', 400, "malformed_json"),
    ("400-before-422-nan", "POST", DECISIONS, "application/json",
     b'{"subject": {"kind": "child", "age": NaN}, "signals": []}', 400, "malformed_json"),
    ("400-before-422-batch", "POST", BATCH, "application/json", b'{"cases": []', 400, "malformed_json"),
]


@pytest.mark.parametrize(("method", "path", "content_type", "data", "status", "code"),
                         [pytest.param(*row[1:], id=row[0]) for row in PRECEDENCE])
def test_precedence(client: FlaskClient, method: str, path: str, content_type: str | None, data: bytes | None,
                    status: int, code: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    envelope(client.open(path, method=method, data=data, headers=headers), status, code)


@pytest.mark.parametrize("path", [DECISIONS, BATCH], ids=["decisions", "batch"])
def test_malformed_json_with_bad_lang_is_400(client: FlaskClient, path: str) -> None:
    envelope(post_json(client, path, b"{", query="?lang=de"), 400, "malformed_json")


# --- 422 invalid_request: every problem, with field paths ---------------------------------------

INVALID = [
    # (id, body, the fields every problem is reported under)
    ("body-is-list", [CASE], [""]),
    ("body-is-string", "\"a string\"", [""]),
    ("body-is-number", "5", [""]),
    ("body-is-null", "null", [""]),
    ("body-is-true", "true", [""]),
    ("empty-object", {}, ["subject", "reporter", "signals"]),
    ("age-float", child(age=9.0), ["subject.age"]),
    ("age-string", child(age="9"), ["subject.age"]),
    ("age-bool", child(age=True), ["subject.age"]),
    ("age-fraction", child(age=9.5), ["subject.age"]),
    ("age-null", child(age=None), ["subject.age"]),
    ("age-list", child(age=[9]), ["subject.age"]),
    ("age-missing", case(subject={"kind": "child"}), ["subject.age"]),
    ("kind-missing", case(subject={"age": 9}), ["subject.kind"]),
    ("kind-unknown", case(subject={"kind": "adult", "age": 30}), ["subject.kind"]),
    ("child-age-minus-1", child(age=-1), ["subject.age"]),
    ("child-age-26", child(age=26), ["subject.age"]),
    ("child-age-40", child(age=40), ["subject.age"]),
    ("pregnant-age-11", case(subject={"kind": "pregnant", "age": 11}), ["subject.age"]),
    ("pregnant-age-56", case(subject={"kind": "pregnant", "age": 56}), ["subject.age"]),
    ("pregnant-age-minus-1", case(subject={"kind": "pregnant", "age": -1}), ["subject.age"]),
    ("subject-not-object", case(subject="child"), ["subject"]),
    ("subject-null", case(subject=None), ["subject"]),
    ("reporter-missing", case(reporter=...), ["reporter"]),
    ("reporter-unknown", case(reporter={"service": "scool"}), ["reporter.service"]),
    ("reporter-not-object", case(reporter="school"), ["reporter"]),
    ("reporter-service-number", case(reporter={"service": 1}), ["reporter.service"]),
    ("signals-missing", case(signals=...), ["signals"]),
    ("signals-null", case(signals=None), ["signals"]),
    ("signals-empty", case(signals=[]), ["signals"]),
    ("signals-51", case(signals=["withdrawn"] * 51), ["signals"]),
    ("signals-not-list", case(signals="withdrawn"), ["signals"]),
    ("signal-unknown-code", case(signals=["withdrawn", "scool_absence"]), ["signals[1].code"]),
    ("signal-unknown-code-object", case(signals=["withdrawn", {"code": "scool_absence"}]), ["signals[1].code"]),
    ("signal-unknown-strength", case(signals=[{"code": "withdrawn", "strength": "strong"}]),
     ["signals[0].strength"]),
    ("signal-code-missing", case(signals=[{"strength": "concern"}]), ["signals[0].code"]),
    ("signal-unknown-field", case(signals=[{"code": "withdrawn", "note": "x"}]), ["signals[0].note"]),
    ("signal-number", case(signals=["withdrawn", 7]), ["signals[1]"]),
    ("signal-null", case(signals=[None]), ["signals[0]"]),
    ("pregnancy-signal-for-child", case(signals=["withdrawn", "pregnancy_violence"]), ["signals[1].code"]),
    ("pregnancy-signal-for-child-object",
     case(signals=[{"code": "pregnancy_substance_use", "strength": "reason_to_believe"}]), ["signals[0].code"]),
    ("family-unknown-responsibility", case(family={"parental_responsibility": "both"}),
     ["family.parental_responsibility"]),
    ("family-not-object", case(family="shared"), ["family"]),
    ("consent-unknown-answer", case(consent={"parents": "yes"}), ["consent.parents"]),
    ("consent-subject-partial", case(consent={"subject": "partial"}), ["consent.subject"]),
    ("partial-one-parent", case(family={"parental_responsibility": "one_parent"}, consent={"parents": "partial"}),
     ["consent.parents"]),
    ("partial-child-welfare",
     case(family={"parental_responsibility": "child_welfare"}, consent={"parents": "partial"}),
     ["consent.parents"]),
    ("measures-without-level", case(status={"measures_effective": "no"}), ["status.measures_effective"]),
    ("measures-with-null-level", case(status={"current_level": None, "measures_effective": "yes"}),
     ["status.measures_effective"]),
    ("measures-unknown", case(status={"current_level": 1, "measures_effective": "maybe"}),
     ["status.measures_effective"]),
    ("level-4", case(status={"current_level": 4}), ["status.current_level"]),
    ("level-minus-1", case(status={"current_level": -1}), ["status.current_level"]),
    ("level-float", case(status={"current_level": 1.0}), ["status.current_level"]),
    ("level-string", case(status={"current_level": "1"}), ["status.current_level"]),
    ("services-involved-unknown", case(status={"services_involved": ["ppt", "pp"]}),
     ["status.services_involved[1]"]),
    ("services-involved-not-list", case(status={"services_involved": "ppt"}), ["status.services_involved"]),
    ("complex-needs-string", case(status={"complex_long_term_needs": "yes"}), ["status.complex_long_term_needs"]),
    ("complex-needs-number", case(status={"complex_long_term_needs": 1}), ["status.complex_long_term_needs"]),
    ("unknown-top-level", case(note="x"), ["note"]),
    ("unknown-in-subject", case(subject={"kind": "child", "age": 9, "gender": "x"}), ["subject.gender"]),
    ("unknown-in-reporter", case(reporter={"service": "school", "person": "x"}), ["reporter.person"]),
    ("unknown-in-family", case(family={"siblings": 2}), ["family.siblings"]),
    ("unknown-in-consent", case(consent={"teacher": "given"}), ["consent.teacher"]),
    ("unknown-in-status", case(status={"level": 1}), ["status.level"]),
]


@pytest.mark.parametrize(("body", "expected"), [pytest.param(b, f, id=i) for i, b, f in INVALID])
def test_invalid_request_field_paths(client: FlaskClient, body: Any, expected: list[str]) -> None:
    error = envelope(post_json(client, DECISIONS, body), 422, "invalid_request")
    assert sorted(set(fields_of(error))) == sorted(expected)


def test_every_problem_is_listed_at_once(client: FlaskClient) -> None:
    body = {
        "subject": {"kind": "child", "age": 30},
        "reporter": {"service": "scool"},
        "signals": ["withdrawn", {"code": "scool_absence", "strength": "strong"}, 7, {"note": 1},
                    "pregnancy_violence"],
        "family": {"parental_responsibility": "one_parent", "siblings": 2},
        "consent": {"parents": "partial"},
        "status": {"measures_effective": "no", "services_involved": ["ppt", "pp"]},
        "extra": True,
    }
    error = envelope(post_json(client, DECISIONS, body), 422, "invalid_request")
    assert set(fields_of(error)) == {
        "subject.age", "reporter.service", "signals[1].code", "signals[1].strength", "signals[2]",
        "signals[3].note", "signals[3].code", "signals[4].code", "family.siblings", "consent.parents",
        "status.measures_effective", "status.services_involved[1]", "extra",
    }


@pytest.mark.parametrize(("body", "field", "suggestion"), [
    (case(signals=["withdrawn", "scool_absence"]), "signals[1].code", "school_absence"),
    (case(signals=[{"code": "withdrwn"}]), "signals[0].code", "withdrawn"),
    (case(signals=[{"code": "withdrawn", "strength": "concen"}]), "signals[0].strength", "concern"),
    (case(reporter={"service": "scool"}), "reporter.service", "school"),
    (case(reporter={"service": "kindergarden"}), "reporter.service", "kindergarten"),
    (case(subject={"kind": "chlid", "age": 9}), "subject.kind", "child"),
    (case(family={"parental_responsibility": "shard"}), "family.parental_responsibility", "shared"),
    (case(consent={"parents": "givn"}), "consent.parents", "given"),
    (case(status={"current_level": 1, "measures_effective": "partlly"}), "status.measures_effective", "partly"),
    (case(status={"services_involved": ["pp"]}), "status.services_involved[0]", "ppt"),
])
def test_suggestions_for_misspellings(client: FlaskClient, body: Any, field: str, suggestion: str) -> None:
    error = envelope(post_json(client, DECISIONS, body), 422, "invalid_request")
    assert suggestion in detail(error, field)["suggestions"]


@pytest.mark.parametrize("body", [
    pytest.param(child(0), id="child-age-0"),
    pytest.param(child(25), id="child-age-25"),
    pytest.param(case(subject={"kind": "pregnant", "age": 12}), id="pregnant-age-12"),
    pytest.param(case(subject={"kind": "pregnant", "age": 55}), id="pregnant-age-55"),
    pytest.param(case(signals=["withdrawn"] * 50), id="50-signals"),
    pytest.param(case(signals=[{"code": "withdrawn"}]), id="signal-without-strength"),
    pytest.param(case(signals=[{"code": "withdrawn", "strength": None}]), id="signal-strength-null"),
    pytest.param(case(subject={"kind": "pregnant", "age": 30}, signals=["pregnancy_violence"]),
                 id="pregnancy-signal-for-pregnant"),
    pytest.param(case(consent={"parents": "partial"}), id="partial-default-shared"),
    pytest.param(case(family={"parental_responsibility": "shared"}, consent={"parents": "partial"}),
                 id="partial-shared"),
    pytest.param(case(status={"current_level": 1, "measures_effective": "no"}), id="measures-with-level"),
    pytest.param(case(family=None, consent=None, status=None), id="null-sections"),
    pytest.param(case(family={"parental_responsibility": None}, consent={"parents": None, "subject": None},
                      status={"current_level": None, "measures_effective": None, "services_involved": None,
                              "complex_long_term_needs": None}), id="null-fields"),
    pytest.param(FULL_CASE, id="contract-example"),
])
def test_valid_requests_are_200(client: FlaskClient, body: Any) -> None:
    decision(post_json(client, DECISIONS, body))


@pytest.mark.parametrize("nulls", [
    {"family": None, "consent": None, "status": None},
    {"family": {"parental_responsibility": None}, "consent": {"parents": None, "subject": None},
     "status": {"current_level": None, "measures_effective": None, "services_involved": None,
                "complex_long_term_needs": None}},
], ids=["sections", "fields"])
def test_null_means_absent(client: FlaskClient, nulls: dict[str, Any]) -> None:
    absent = decision(post_json(client, DECISIONS, CASE))
    explicit = decision(post_json(client, DECISIONS, case(**nulls)))
    assert without_id(explicit) == without_id(absent)


# --- language --------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "accept", "lang"), [
    ("", None, "nb"),
    ("?lang=nb", None, "nb"),
    ("?lang=nn", None, "nn"),
    ("?lang=en", None, "en"),
    ("?lang=nn", "en", "nn"),
    ("?lang=nb", "en, nn;q=0.9", "nb"),
    ("", "en", "en"),
    ("", "nn", "nn"),
    ("", "nb", "nb"),
    ("", "en;q=0.9, nn;q=0.95", "nn"),
    ("", "nn;q=0.2, en;q=0.8", "en"),
    ("", "nb-NO", "nb"),
    ("", "no", "nb"),
    ("", "nb-NO, en;q=0.5", "nb"),
    ("", "no;q=0.9, en;q=0.3", "nb"),
    ("", "nn-NO", "nn"),
    ("", "en-GB,en;q=0.9", "en"),
    ("", "de", "nb"),
    ("", "de, fr;q=0.5", "nb"),
    ("", "de, en;q=0.1", "en"),
    ("", "", "nb"),
])
def test_language_negotiation(client: FlaskClient, query: str, accept: str | None, lang: str) -> None:
    headers = {"Accept-Language": accept} if accept is not None else {}
    body = decision(post_json(client, DECISIONS, CASE, query=query, headers=headers))
    assert body["lang"] == lang
    resp = post_json(client, DECISIONS, CASE, query=query, headers=headers)
    assert resp.headers["Content-Language"] == lang
    # the GET endpoints negotiate the same way
    catalog = client.get("/v1/catalog" + query, headers=headers)
    assert catalog.status_code == 200
    assert catalog.headers["Content-Language"] == lang
    assert catalog.get_json()["lang"] == lang


_ALIASES = {"nb": "nb", "no": "nb", "nob": "nb", "nn": "nn", "nno": "nn", "en": "en", "eng": "en"}


def _reference_accept_language(header: str) -> str:
    """The hand-written parser the service used before werkzeug's, kept as the oracle: the highest
    q-value wins, the earlier of equal ones, a region is ignored, nothing supported means nb."""
    best, best_q = "nb", 0.0
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                q = float(value)
        lang = _ALIASES.get(tag.strip().lower().split("-")[0])
        if lang and q > best_q and 0 < q <= 1:
            best, best_q = lang, q
    return best


_TAGS = st.sampled_from(["nb", "nn", "en", "no", "nob", "nno", "eng", "nb-NO", "nn-NO", "en-GB", "En-us", "NB",
                         "da", "sv", "de-DE", "*", "zh-Hant-TW", "x"])
_QS = st.sampled_from(["", ";q=1", ";q=1.0", ";q=1.000", ";q=0", ";q=0.", ";q=0.000", ";q=0.5", ";q=0.50",
                       ";q=0.001", ";q=0.999", " ; q=0.7", "; q=0.3", ";level=1"])


@given(st.lists(st.tuples(_TAGS, _QS), max_size=6), st.sampled_from([",", ", ", " , "]))
def test_accept_language_gives_the_answers_of_the_former_parser(items: list[tuple[str, str]], sep: str) -> None:
    header = sep.join(tag + q for tag, q in items)
    assert accept_language(parse_accept_header(header, LanguageAccept)) == _reference_accept_language(header)


@pytest.mark.parametrize(("accept", "lang"), [
    ("nn;q=0.8, en;q=0.8, nb;q=0.8", "nn"),
    ("x, en, nn", "en"),
    ("de;q=0.9, nno;q=0.5, no;q=0.5", "nn"),
])
def test_accept_language_tie_goes_to_the_earlier_language(client: FlaskClient, accept: str, lang: str) -> None:
    """The former parser let a later language of equal q win over any but the first item."""
    assert client.get("/v1/catalog", headers={"Accept-Language": accept}).headers["Content-Language"] == lang


@pytest.mark.parametrize(("method", "path"), [
    ("POST", DECISIONS),
    ("POST", BATCH),
    ("GET", "/v1/catalog"),
    ("GET", "/v1/municipalities"),
    ("GET", NATIONAL),
])
@pytest.mark.parametrize("value", ["de", "", "NB-x", "english"])
def test_unsupported_lang_parameter_is_422(client: FlaskClient, method: str, path: str, value: str) -> None:
    body = {"cases": [CASE]} if path == BATCH else CASE
    resp = client.open(f"{path}?lang={value}", method=method, json=body if method == "POST" else None)
    error = envelope(resp, 422, "invalid_request")
    assert "lang" in fields_of(error)


def test_bad_lang_is_listed_with_the_body_problems(client: FlaskClient) -> None:
    error = envelope(post_json(client, DECISIONS, case(note="x", signals=["scool_absence"]), query="?lang=de"),
                     422, "invalid_request")
    assert set(fields_of(error)) == {"lang", "note", "signals[0].code"}


# (method, path, body or None, status) — every kind of response, each must carry Content-Language
RESPONSES = [
    ("POST", DECISIONS, CASE, 200),
    ("POST", BATCH, {"cases": [CASE]}, 200),
    ("GET", "/v1/municipalities", None, 200),
    ("GET", NATIONAL, None, 200),
    ("GET", "/v1/catalog", None, 200),
    ("GET", "/healthz", None, 200),
    ("GET", "/readyz", None, 200),
    ("GET", "/openapi.json", None, 200),
    ("GET", "/docs", None, 200),
    ("POST", DECISIONS, b"{", 400),
    ("POST", f"{UNKNOWN}/decisions", CASE, 404),
    ("GET", UNKNOWN, None, 404),
    ("GET", "/nope", None, 404),
    ("GET", DECISIONS, None, 405),
    ("DELETE", "/v1/catalog", None, 405),
    ("POST", DECISIONS, padded(CASE, LIMIT + 1), 413),
    ("POST", DECISIONS, "text/plain", 415),
    ("POST", DECISIONS, case(note="x"), 422),
    ("POST", BATCH, {"cases": []}, 422),
]


ENGLISH_ONLY = ("/openapi.json", "/docs")


def _send(client: FlaskClient, method: str, path: str, body: Any,
          headers: dict[str, str] | None = None) -> TestResponse:
    """One request of RESPONSES; ``"text/plain"`` as body means a valid case sent as text/plain."""
    headers = dict(headers or {})
    if body is None:
        return client.open(path, method=method, headers=headers)
    if body == "text/plain":
        data: bytes | str = json.dumps(CASE)
        headers["Content-Type"] = "text/plain"
    else:
        data = body if isinstance(body, bytes) else json.dumps(body)
        headers["Content-Type"] = "application/json"
    return client.open(path, method=method, data=data, headers=headers)


@pytest.mark.parametrize(("method", "path", "body", "status"),
                         [pytest.param(*r, id=f"{r[3]}-{r[0]}-{r[1]}") for r in RESPONSES])
@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_every_response_has_content_language(client: FlaskClient, method: str, path: str, body: Any,
                                             status: int, lang: str) -> None:
    written_in = "en" if path in ENGLISH_ONLY else lang  # the API's documentation is written in English
    by_query = _send(client, method, f"{path}?lang={lang}", body)
    assert by_query.status_code == status
    assert by_query.headers.get("Content-Language") == written_in
    by_header = _send(client, method, path, body, headers={"Accept-Language": lang})
    assert by_header.status_code == status
    assert by_header.headers.get("Content-Language") == written_in


@pytest.mark.parametrize(("method", "path", "body", "status"),
                         [pytest.param(*r, id=f"{r[3]}-{r[0]}-{r[1]}") for r in RESPONSES if r[3] >= 400])
def test_error_messages_differ_between_nb_and_en(client: FlaskClient, method: str, path: str, body: Any,
                                                 status: int) -> None:
    nb = _send(client, method, f"{path}?lang=nb", body)
    en = _send(client, method, f"{path}?lang=en", body)
    assert nb.status_code == en.status_code == status
    assert nb.get_json()["error"]["message"] != en.get_json()["error"]["message"]
    assert nb.get_json()["error"]["code"] == en.get_json()["error"]["code"]


@pytest.mark.parametrize("body", [
    pytest.param(case(note="x"), id="unknown-field"),
    pytest.param({}, id="required"),
    pytest.param([], id="not-object"),
    pytest.param(case(signals=[]), id="signals-length"),
    pytest.param(case(signals="withdrawn"), id="signals-not-list"),
    pytest.param(case(signals=["scool_absence"]), id="unknown-signal-code"),
    pytest.param(case(reporter={"service": "scool"}), id="unknown-service-code"),
    pytest.param(child(age=9.0), id="age-not-whole"),
    pytest.param(child(age=26), id="age-out-of-range"),
    pytest.param(case(status={"current_level": 4}), id="level-out-of-range"),
    pytest.param(case(subject={"kind": "adult", "age": 9}), id="unknown-enum-value"),
    pytest.param(case(consent={"parents": "partial"}, family={"parental_responsibility": "one_parent"}),
                 id="partial-needs-shared"),
    pytest.param(case(status={"measures_effective": "no"}), id="measures-need-level"),
    pytest.param(case(signals=["pregnancy_violence"]), id="pregnancy-signal"),
    pytest.param(case(signals=[7]), id="signal-shape"),
    pytest.param(case(signals=[{"code": "withdrawn", "x": 1}]), id="unknown-field-in-signal"),
    pytest.param(case(status={"complex_long_term_needs": "yes"}), id="boolean"),
])
def test_detail_messages_are_in_the_response_language(client: FlaskClient, body: Any) -> None:
    nb = envelope(post_json(client, DECISIONS, body, query="?lang=nb"), 422, "invalid_request")
    en = envelope(post_json(client, DECISIONS, body, query="?lang=en"), 422, "invalid_request")
    assert fields_of(nb) == fields_of(en)
    for nb_detail, en_detail in zip(nb["details"], en["details"], strict=True):
        assert nb_detail["message"] != en_detail["message"], nb_detail


# --- the decision (200) ----------------------------------------------------------------------

def test_decision_has_every_key_of_the_contract(client: FlaskClient) -> None:
    body = decision(post_json(client, DECISIONS, FULL_CASE))
    assert isinstance(body["decision_id"], str) and body["decision_id"]
    assert body["municipality"] == "national"
    assert set(body["ruleset"]) == {"version", "digest", "status"}
    assert body["ruleset"]["status"] == "draft"  # the national guide is the project's draft, adopted by no one
    assert body["lang"] == "nb"
    assert body["level"] in {0, 1, 2, 3}
    assert isinstance(body["level_name"], str) and body["level_name"]
    assert isinstance(body["urgent"], bool)
    assert set(body["consent"]) == {"required_from", "satisfied", "blocks_level"}
    assert body["consent"]["required_from"] in {"subject", "both_parents", "one_parent", "child_welfare"}
    assert isinstance(body["consent"]["satisfied"], bool)
    for actor in body["actors"]:
        assert set(actor) == {"service", "role", "label"}
        assert actor["role"] in {"relay_holder", "reporter", "involve", "notify", "emergency", "consult",
                                 "coordinator"}
        assert isinstance(actor["label"], str) and actor["label"]
    pairs = [(a["service"], a["role"]) for a in body["actors"]]
    assert len(pairs) == len(set(pairs))
    for forbidden in body["forbidden"]:
        assert set(forbidden) == {"code", "text", "legal_basis", "guidance"}
    assert body["explanation"]
    for entry in body["explanation"]:
        assert set(entry) == {"rule", "title", "because", "signals"}
        assert re.fullmatch(r"national\.[a-z0-9_]+\.[a-z0-9_]+", entry["rule"]), entry["rule"]
        assert isinstance(entry["signals"], list)


def test_ruleset_matches_the_municipality_list(client: FlaskClient) -> None:
    listed = {m["id"]: m for m in client.get("/v1/municipalities").get_json()["municipalities"]}
    body = decision(post_json(client, DECISIONS, CASE))
    keys = ("version", "digest", "status")
    assert body["ruleset"] == {key: listed["national"][key] for key in keys}
    one = client.get(NATIONAL).get_json()
    assert body["ruleset"] == {key: one[key] for key in keys}


@pytest.mark.parametrize("query", ["", "?lang=nn", "?lang=en"])
@pytest.mark.parametrize("body", [CASE, FULL_CASE, child(14, {"code": "violence_by_caregiver",
                                                              "strength": "reason_to_believe"})],
                         ids=["plain", "full", "urgent"])
def test_same_request_same_response_except_decision_id(client: FlaskClient, body: Any, query: str) -> None:
    first = decision(post_json(client, DECISIONS, body, query=query))
    second = decision(post_json(client, DECISIONS, body, query=query))
    assert first["decision_id"] != second["decision_id"]
    assert without_id(first) == without_id(second)


def test_languages_change_texts_not_the_decision(client: FlaskClient) -> None:
    nb = decision(post_json(client, DECISIONS, FULL_CASE, query="?lang=nb"))
    en = decision(post_json(client, DECISIONS, FULL_CASE, query="?lang=en"))
    assert (nb["level"], nb["urgent"], nb["consent"]) == (en["level"], en["urgent"], en["consent"])
    assert [s["code"] for s in nb["steps"]] == [s["code"] for s in en["steps"]]
    assert [(a["service"], a["role"]) for a in nb["actors"]] == [(a["service"], a["role"]) for a in en["actors"]]
    assert nb["level_name"] != en["level_name"]
    assert [s["text"] for s in nb["steps"]] != [s["text"] for s in en["steps"]]


@pytest.mark.parametrize(("body", "level", "name"), [
    (child(9, {"code": "withdrawn", "strength": "wondering"}), 0, "Nivå 0 – undring og bekymring"),
    (child(9, "withdrawn"), 1, "Nivå 1 – tiltak i egen tjeneste"),
])
def test_level_name_national(client: FlaskClient, body: Any, level: int, name: str) -> None:
    result = decision(post_json(client, DECISIONS, body))
    assert (result["level"], result["level_name"]) == (level, name)


URGENCY = [
    # (id, body, urgent) — reasoned from the national rules (docs/national-guide.md)
    ("concern-only", child(9, "withdrawn"), False),
    ("wondering-only", child(9, {"code": "low_mood", "strength": "wondering"}), False),
    ("acute-danger-wondering", child(9, {"code": "acute_danger", "strength": "wondering"}), True),
    ("acute-danger-adult", child(20, "acute_danger"), True),
    ("suicide-risk-acute", child(15, "suicide_risk_acute", reporter="school_health"), True),
    ("abuse-reason-to-believe", child(6, {"code": "sexual_abuse", "strength": "reason_to_believe"}), True),
    ("abuse-concern", child(6, {"code": "violence_by_caregiver", "strength": "concern"}), False),
    ("neglect-reason-to-believe", child(4, {"code": "serious_neglect", "strength": "reason_to_believe"},
                                        reporter="kindergarten"), True),
    ("neglect-concern", child(4, "serious_neglect", reporter="kindergarten"), False),
    ("forced-marriage", child(16, "forced_marriage"), True),
    ("nsc-under-18", child(14, "negative_social_control"), True),
    ("nsc-wondering", child(14, {"code": "negative_social_control", "strength": "wondering"}), False),
    ("threat-concern", child(15, "threat_of_serious_violence"), True),
    ("threat-wondering", child(15, {"code": "threat_of_serious_violence", "strength": "wondering"}), False),
    ("radicalisation", child(16, "radicalisation"), False),
    ("trafficking-adult", case(subject={"kind": "pregnant", "age": 30}, reporter={"service": "midwife"},
                               signals=[{"code": "trafficking", "strength": "reason_to_believe"}]), True),
    ("pregnancy-substance-use", case(subject={"kind": "pregnant", "age": 30}, reporter={"service": "midwife"},
                                     signals=["pregnancy_substance_use"]), False),
    ("level-3-complex", child(9, "developmental_delay", consent={"parents": "given"},
                              status={"complex_long_term_needs": True}), False),
]


@pytest.mark.parametrize(("body", "urgent"), [pytest.param(b, u, id=i) for i, b, u in URGENCY])
def test_urgent_exactly_with_an_urgent_step(client: FlaskClient, body: Any, urgent: bool) -> None:
    result = decision(post_json(client, DECISIONS, body))
    codes = [s["code"] for s in result["steps"]]
    assert result["urgent"] is urgent
    assert result["urgent"] is bool(URGENT_STEPS & set(codes))
    for step in result["steps"]:
        assert set(step) == {"code", "kind", "text", "legal_basis", "guidance", "due_days", "contact"}
        assert isinstance(step["guidance"], list) and all(isinstance(g, str) and g for g in step["guidance"])
        assert step["kind"] in STEP_KINDS
        assert isinstance(step["text"], str) and step["text"]
        assert isinstance(step["legal_basis"], list) and all(isinstance(b, str) and b for b in step["legal_basis"])
        assert not set(step["legal_basis"]) & set(step["guidance"])  # a guideline is never a legal basis
        assert step["due_days"] is None or (isinstance(step["due_days"], int) and step["due_days"] >= 0)
        if step["code"] in URGENT_STEPS:
            assert step["due_days"] == 0
            assert step["kind"] == "notification"
    # in the fixed order of docs/api.md, Vocabulary, each once
    assert codes == sorted(set(codes), key=STEP_ORDER.index)


def _report_basis(client: FlaskClient, reporter: str, subject: dict[str, Any]) -> list[str]:
    body = case(subject=subject, reporter={"service": reporter},
                signals=[{"code": "sexual_abuse", "strength": "reason_to_believe"}])
    steps = {s["code"]: s for s in decision(post_json(client, DECISIONS, body))["steps"]}
    assert "report_to_child_welfare" in steps
    return steps["report_to_child_welfare"]["legal_basis"]  # type: ignore[no-any-return]


OWN_DUTIES = {"barnehageloven § 46", "helsepersonelloven § 33", "opplæringslova § 24-3", "sosialtjenesteloven § 45"}


@pytest.mark.parametrize(("reporter", "age", "own_duty"), [
    ("kindergarten", 4, "barnehageloven § 46"),
    ("school", 10, "opplæringslova § 24-3"),
    ("upper_secondary", 17, "opplæringslova § 24-3"),
    ("ppt", 8, "opplæringslova § 24-3"),
    ("nav", 10, "sosialtjenesteloven § 45"),
    *[(service, 4 if service == "health_station" else 10, "helsepersonelloven § 33") for service in HEALTH_SERVICES],
])
def test_report_names_the_reporters_own_duty(client: FlaskClient, reporter: str, age: int, own_duty: str) -> None:
    basis = _report_basis(client, reporter, {"kind": "child", "age": age})
    assert "barnevernsloven § 13-2" in basis
    assert own_duty in basis
    assert basis[0] == "barnevernsloven § 13-2"
    assert not (OWN_DUTIES - {own_duty}) & set(basis)


@pytest.mark.parametrize("reporter", ["police", "child_welfare", "slt", "family_team", "leader"])
def test_report_without_an_own_duty_names_only_the_child_welfare_act(client: FlaskClient, reporter: str) -> None:
    basis = _report_basis(client, reporter, {"kind": "child", "age": 10})
    assert basis == ["barnevernsloven § 13-2"]


def test_emergency_medical_cannot_report(client: FlaskClient) -> None:
    resp = post_json(client, DECISIONS, case(reporter={"service": "emergency_medical"}))
    assert resp.status_code == 422
    fields = [d["field"] for d in resp.get_json()["error"]["details"]]
    assert fields == ["reporter.service"]


def test_report_for_a_pregnant_minor_by_a_midwife(client: FlaskClient) -> None:
    basis = _report_basis(client, "midwife", {"kind": "pregnant", "age": 16})
    assert {"barnevernsloven § 13-2", "helsepersonelloven § 33"} <= set(basis)


# --- batch -----------------------------------------------------------------------------------

def test_batch_one_entry_per_case_by_index(client: FlaskClient) -> None:
    cases = [
        CASE,
        case(signals=["withdrawn", "scool_absence"]),
        "not a case",
        FULL_CASE,
        case(subject={"kind": "child", "age": 9, "x": 1}, status={"measures_effective": "no"}),
        [],
    ]
    resp = post_json(client, BATCH, {"cases": cases}, query="?lang=en")
    assert resp.status_code == 200
    assert resp.headers["Content-Language"] == "en"
    entries = resp.get_json()["decisions"]
    assert [e["index"] for e in entries] == list(range(len(cases)))
    kinds = ["decision" if "decision" in e else "error" for e in entries]
    assert kinds == ["decision", "error", "error", "decision", "error", "error"]
    for entry in entries:
        assert set(entry) in ({"index", "decision"}, {"index", "error"})
        if "decision" in entry:
            assert set(entry["decision"]) == DECISION_KEYS
            assert entry["decision"]["lang"] == "en"
    errors = {e["index"]: e["error"] for e in entries if "error" in e}
    for error in errors.values():
        assert error["code"] == "invalid_request"
        assert isinstance(error["message"], str) and error["message"]
    # field paths relative to the case
    assert [d["field"] for d in errors[1]["details"]] == ["signals[1].code"]
    assert "school_absence" in errors[1]["details"][0]["suggestions"]
    assert [d["field"] for d in errors[2]["details"]] == [""]
    assert {d["field"] for d in errors[4]["details"]} == {"subject.x", "status.measures_effective"}
    assert [d["field"] for d in errors[5]["details"]] == [""]


def test_batch_decisions_equal_single_decisions(client: FlaskClient) -> None:
    cases = [CASE, FULL_CASE, child(14, {"code": "violence_by_caregiver", "strength": "reason_to_believe"})]
    entries = post_json(client, BATCH, {"cases": cases}).get_json()["decisions"]
    for entry, one in zip(entries, cases, strict=True):
        single = decision(post_json(client, DECISIONS, one))
        assert without_id(entry["decision"]) == without_id(single)


@pytest.mark.parametrize("size", [1, 100])
def test_batch_sizes_accepted(client: FlaskClient, size: int) -> None:
    resp = post_json(client, BATCH, {"cases": [CASE] * size})
    assert resp.status_code == 200
    entries = resp.get_json()["decisions"]
    assert [e["index"] for e in entries] == list(range(size))
    assert all("decision" in e for e in entries)
    assert len({e["decision"]["decision_id"] for e in entries}) == size


@pytest.mark.parametrize(("body", "field"), [
    pytest.param({"cases": []}, "cases", id="0-cases"),
    pytest.param({"cases": [CASE] * 101}, "cases", id="101-cases"),
    pytest.param({}, "cases", id="no-cases"),
    pytest.param({"cases": None}, "cases", id="cases-null"),
    pytest.param({"cases": CASE}, "cases", id="cases-object"),
    pytest.param({"cases": "x"}, "cases", id="cases-string"),
    pytest.param({"cases": [CASE], "mode": "fast"}, "mode", id="unknown-field"),
    pytest.param([CASE], "", id="body-list"),
    pytest.param("\"cases\"", "", id="body-string"),
    pytest.param("null", "", id="body-null"),
    pytest.param("3", "", id="body-number"),
])
def test_malformed_batch_fails_whole_batch(client: FlaskClient, body: Any, field: str) -> None:
    error = envelope(post_json(client, BATCH, body), 422, "invalid_request")
    assert field in fields_of(error)


def test_bad_lang_fails_the_whole_batch(client: FlaskClient) -> None:
    error = envelope(post_json(client, BATCH, {"cases": [CASE, FULL_CASE]}, query="?lang=de"),
                     422, "invalid_request")
    assert "lang" in fields_of(error)


# --- read-only endpoints ---------------------------------------------------------------------

def test_municipality_list(client: FlaskClient) -> None:
    resp = client.get("/v1/municipalities")
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {"municipalities"}
    for entry in body["municipalities"]:
        assert set(entry) == {"id", "name", "version", "digest", "status"}  # docs/api.md, reading guides
        assert all(isinstance(entry[k], str) and entry[k] for k in entry)
        assert entry["digest"].startswith("sha256:")
    assert "national" in [m["id"] for m in body["municipalities"]]


@pytest.mark.parametrize("query", ["", "?lang=nn", "?lang=en"])
def test_national_municipality(client: FlaskClient, query: str) -> None:
    resp = client.get(NATIONAL + query)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["id"] == "national"
    listed = {m["id"]: m for m in client.get("/v1/municipalities" + query).get_json()["municipalities"]}
    assert {k: body[k] for k in ("id", "name", "version", "digest", "status")} == listed["national"]


@pytest.mark.parametrize(("section", "count"), [("services", 25), ("signals", 38), ("steps", 32),
                                                ("forbidden", 3)])
def test_catalog_sizes(client: FlaskClient, section: str, count: int) -> None:
    body = client.get("/v1/catalog").get_json()
    assert len(body[section]) == count
    codes = [item["code"] for item in body[section]]
    assert len(set(codes)) == count
    if section == "steps":
        assert codes == STEP_ORDER


@pytest.mark.parametrize("section", ["services", "signals", "steps", "forbidden"])
def test_catalog_labels_follow_the_language(client: FlaskClient, section: str) -> None:
    labels = {}
    for lang in ("nb", "nn", "en"):
        resp = client.get(f"/v1/catalog?lang={lang}")
        assert resp.status_code == 200
        assert resp.get_json()["lang"] == lang
        labels[lang] = {item["code"]: item["label"] for item in resp.get_json()[section]}
        assert all(isinstance(v, str) and v for v in labels[lang].values())
    assert labels["nb"].keys() == labels["en"].keys() == labels["nn"].keys()
    assert labels["nb"] != labels["en"]
    assert labels["nn"] != labels["en"]
    by_header = client.get("/v1/catalog", headers={"Accept-Language": "en"}).get_json()[section]
    assert {item["code"]: item["label"] for item in by_header} == labels["en"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_endpoints(client: FlaskClient, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"


API_PATHS = [
    "/v1/municipalities/{municipality}/decisions",
    "/v1/municipalities/{municipality}/decisions/batch",
    "/v1/municipalities",
    "/v1/municipalities/{municipality}",
    "/v1/catalog",
    "/healthz",
    "/readyz",
]


def test_openapi_document(client: FlaskClient) -> None:
    resp = client.get("/openapi.json")
    assert resp.status_code == 200
    spec = resp.get_json()
    assert spec["openapi"].startswith("3.1")
    assert set(API_PATHS) <= set(spec["paths"])
    assert "post" in spec["paths"]["/v1/municipalities/{municipality}/decisions"]
    assert "post" in spec["paths"]["/v1/municipalities/{municipality}/decisions/batch"]
    for path in API_PATHS[2:]:
        assert "get" in spec["paths"][path]
    assert {"DecisionRequest", "Decision", "Error"} <= set(spec["components"]["schemas"])


def test_docs_page(client: FlaskClient) -> None:
    resp = client.get("/docs")
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    spec = client.get("/openapi.json").get_json()
    for path in spec["paths"]:
        assert path in html, path
    external = r"""(?:https?:)?//"""
    assert not re.search(rf"""<script[^>]*\bsrc\s*=\s*["']?{external}""", html, re.I)
    assert not re.search(rf"""<link[^>]*\bhref\s*=\s*["']?{external}""", html, re.I)
    assert not re.search(rf"""url\(\s*["']?{external}""", html, re.I)
    assert not re.search(rf"""@import\s+["']?{external}""", html, re.I)


def test_hand_built_response_equals_the_schema_dump(registry: Any) -> None:
    """present() builds the JSON by hand for speed; DecisionSchema defines it (and the OpenAPI
    document): over every scenario request of every guide, in every language, they agree."""
    from rules.evaluate import evaluate
    from rules.model import LANGUAGES
    from schemas.decision import DecisionSchema
    from service.api import present
    from service.paths import BUNDLED as MUNICIPALITIES
    from toolkit.scenarios import discover, parse_request

    def present_with_schema(decision: Any, decision_id: str) -> dict[str, Any]:
        return DecisionSchema().dump({  # type: ignore[no-any-return]
            "decision_id": decision_id, "municipality": decision.municipality,
            "ruleset": {"version": decision.version, "digest": decision.digest, "status": decision.status},
            "lang": decision.lang,
            "level": decision.level, "level_name": decision.level_name, "urgent": decision.urgent,
            "actors": decision.actors, "steps": decision.steps, "forbidden": decision.forbidden,
            "consent": decision.consent, "explanation": decision.explanation, "pathway": decision.pathway,
        })

    compared = 0
    for scenario in discover(MUNICIPALITIES):
        if "error" in scenario.expect:
            continue
        prepared = registry.prepared[scenario.guide]
        for lang in LANGUAGES:
            decision = evaluate(prepared, parse_request(prepared.guide, scenario.request), lang)
            by_hand = present(decision)
            assert by_hand == present_with_schema(decision, by_hand["decision_id"])
            compared += 1
    assert compared > 600
