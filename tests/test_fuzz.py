"""Hostile and malformed input (issue 5, item 4): the API fuzzed from its own OpenAPI document, then
hand-written hostile requests beyond the one-by-one status tests of test_http.py.

Part 1 drives schemathesis in-process against the Flask app (no server): every operation of
``/openapi.json`` gets ``BTI_FUZZ_EXAMPLES`` (default 50) schema-conforming and as many schema-violating
requests from a fixed seed (``BTI_FUZZ_SEED``), plus schemathesis' deterministic coverage cases
(boundary values, each keyword violated once, unspecified methods). Whatever it sends: never a 5xx;
every 4xx is the contract's envelope with a stable code for its status; 200s conform to the response
schema (schemathesis' own checks). Path parameters and codes are steered towards the bundled guides and
catalog so that a good share of requests get past validation into the engine.

Part 2 is a table of hostile requests; the expected status is part of each test id.

A test marked ``xfail(strict=True, reason="BUG: ...")`` pins a defect found here; it turns into a
failure (XPASS) the moment the defect is fixed, so the mark can be removed then.
"""

from __future__ import annotations

import io
import json
import os
import string
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from werkzeug.test import TestResponse

from schemas.errors import codes_for
from service.app import create_app
from service.http import DRAIN_LIMIT
from service.openapi import build_spec

EXAMPLES = int(os.environ.get("BTI_FUZZ_EXAMPLES", "50"))
SEED = int(os.environ.get("BTI_FUZZ_SEED", "20260115"))

NATIONAL = "/v1/municipalities/national"
DECISIONS = f"{NATIONAL}/decisions"
BATCH = f"{DECISIONS}/batch"
LIMIT = 1024 * 1024
# synthetic: valid check digits, and month 81 (01 + 80) marks a test number no real person can have
IDENTITY_NUMBER = "01819010192"
CASE: dict[str, Any] = {"subject": {"kind": "child", "age": 9}, "reporter": {"service": "school"},
                        "signals": ["withdrawn"]}

# docs/api.md, Errors: the stable codes each error status may carry (API keys are off in the test app)
CODES_BY_STATUS = {status: {code.value for code in codes_for(status)}
                   for status in (400, 404, 405, 413, 415, 422)}
LANGUAGES = {"nb", "nn", "en"}

# every JSON operation of the document, by operationId (the operations do not depend on the guides, so
# an app without any lists them at collection time); the HTML pages and static files are tested elsewhere
_BARE_APP = create_app({"TESTING": True, "BTI_MUNICIPALITIES": str(Path(__file__).parent / "no-guides")})
_SPEC_OPERATIONS = [(path, method.upper(), op) for path, item in build_spec(_BARE_APP)["paths"].items()
                    for method, op in item.items()
                    if "application/json" in op["responses"]["200"].get("content", {}) and op["tags"] != ["pages"]]
OPERATIONS = [pytest.param(path, method, id=op["operationId"]) for path, method, op in _SPEC_OPERATIONS]
# (operation, mode); an operation without parameters or body has nothing to make invalid
FUZZ_RUNS = [pytest.param(path, method, mode, id=f"{op['operationId']}-{mode.value}")
             for path, method, op in _SPEC_OPERATIONS
             for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
             if mode is GenerationMode.POSITIVE or op.get("parameters") or op.get("requestBody")]


# --- the envelope ----------------------------------------------------------------------------

def check_error(status: int, body: Any, where: str = "") -> None:
    """``body`` is the error envelope with a stable code for ``status`` (docs/api.md, Errors)."""
    assert isinstance(body, dict) and set(body) == {"error"}, f"{where}: not an envelope: {str(body)[:300]}"
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message", "details"}, f"{where}: {error}"
    assert error["code"] in CODES_BY_STATUS.get(status, set()), f"{where}: {status} with code {error['code']!r}"
    assert isinstance(error["message"], str) and error["message"].strip(), where
    assert isinstance(error["details"], list), where
    for detail in error["details"]:
        assert isinstance(detail, dict) and set(detail) == {"field", "message", "suggestions"}, f"{where}: {detail}"
        assert isinstance(detail["field"], str), where
        assert isinstance(detail["message"], str) and detail["message"].strip(), where
        suggestions = detail["suggestions"]
        assert isinstance(suggestions, list) and len(suggestions) <= 3, where
        assert all(isinstance(s, str) for s in suggestions), where


def check_batch(body: Any, where: str) -> None:
    """A 200 batch answer: one entry per case in index order, a decision or an error in the envelope."""
    entries = body["decisions"]
    assert [e["index"] for e in entries] == list(range(len(entries))), where
    for entry in entries:
        assert set(entry) in ({"index", "decision"}, {"index", "error"}), f"{where}: {entry}"
        if "error" in entry:
            check_error(422, {"error": entry["error"]}, f"{where} case {entry['index']}")


def envelope(resp: TestResponse, status: int, code: str) -> dict[str, Any]:
    """A Flask test response is an error of ``status``/``code`` in the envelope; returns ``error``."""
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    check_error(status, body, f"{status}")
    assert body["error"]["code"] == code
    assert resp.headers.get("Content-Language") in LANGUAGES
    return body["error"]


# --- part 1: schemathesis ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def guide_ids(app: Flask) -> list[str]:
    with app.test_client() as client:
        return [m["id"] for m in client.get("/v1/municipalities").get_json()["municipalities"]]


@pytest.fixture(scope="module")
def api_schema(app: Flask, guide_ids: list[str]) -> Any:
    """The served /openapi.json loaded by schemathesis, bound to the app (requests stay in-process)."""
    with app.test_client() as client:
        catalog = client.get("/v1/catalog").get_json()
    config = schemathesis.Config.from_dict({
        "seed": SEED,
        "generation": {"max-examples": EXAMPLES, "database": "none"},
        "checks": {
            # the spec cannot list the codes (they depend on the guide) nor the age range per guide, so a
            # schema-valid body may well be a 422; it must never be a 400, 413 or 415
            "positive_data_acceptance": {"expected-statuses": ["2xx", "404", "422"]},
        },
        # steer most generated values to real guides, codes and ages so requests reach the engine
        "dictionaries": {
            "guides": {"values": guide_ids},
            "services": {"values": [s["code"] for s in catalog["services"]]},
            "signals": {"values": [s["code"] for s in catalog["signals"]]},
            "ages": {"values": [*range(26), 30, 40, 55]},
        },
        "parameters": {
            "path.municipality": {"dictionary": "guides", "probability": 0.9},
            "body.subject.age": {"dictionary": "ages", "probability": 0.8},
            "body.reporter.service": {"dictionary": "services", "probability": 0.9},
            "body.status.services_involved[*]": {"dictionary": "services", "probability": 0.9},
            "body.signals[*]": {"dictionary": "signals", "probability": 0.9},
            "body.signals[*].code": {"dictionary": "signals", "probability": 0.9},
        },
    })
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=config)


def exercise(case: Any) -> int:
    """Send one generated case; every property of the module docstring; returns the status."""
    response = case.call()
    status = response.status_code
    where = f"{status} for\n{case.as_curl_command()}"
    assert status < 500, f"server error {where}\n{response.text[:500]}"
    assert response.headers.get("content-language", [None])[0] in LANGUAGES, where
    if case.method.upper() != case.operation.method.upper():
        # a coverage case trying a method the document does not list (Flask answers OPTIONS itself)
        assert status in (200, 405) if case.method.upper() == "OPTIONS" else status == 405, where
    if 400 <= status < 500:
        check_error(status, response.json(), where)
        if status == 405:
            assert response.headers.get("allow"), where
    elif status == 200 and case.method.upper() == "POST" and case.operation.path.endswith("/batch"):
        check_batch(response.json(), where)
    case.validate_response(response)  # schemathesis: status, content type, response schema, pos./neg. data
    return status


@pytest.mark.slow
@pytest.mark.parametrize(("path", "method", "mode"), FUZZ_RUNS)
def test_fuzz(api_schema: Any, path: str, method: str, mode: GenerationMode,
              record_property: Any) -> None:
    """EXAMPLES generated requests per operation and mode, from a fixed seed."""
    operation = api_schema[path][method]
    statuses: Counter[int] = Counter()

    @hypothesis.seed(SEED)
    @hypothesis.settings(max_examples=EXAMPLES, database=None, deadline=None, print_blob=False,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                HealthCheck.filter_too_much])
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        statuses[exercise(case)] += 1

    run()
    record_property("statuses", dict(statuses))
    assert not any(s >= 500 for s in statuses)
    if mode is GenerationMode.POSITIVE and operation.method.upper() == "POST":
        # the steering works: valid requests reach the engine and are answered
        assert statuses[200] > 0, statuses


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_coverage_cases(api_schema: Any, guide_ids: list[str], path: str, method: str,
                        record_property: Any) -> None:
    """schemathesis' deterministic coverage cases: boundaries, each keyword violated once, other methods."""
    operation = api_schema[path][method]
    cases = list(api_schema.iter_coverage_cases(
        operation, generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        generation_config=api_schema.config.generation_for(operation=operation)))
    assert cases
    statuses: Counter[int] = Counter()
    for index, case in enumerate(cases):
        path_info = case.meta.components.get(ParameterLocation.PATH) if case.meta else None
        if "municipality" in (case.path_parameters or {}) and path_info and path_info.mode is GenerationMode.POSITIVE:
            # coverage cases use one placeholder id; a valid one makes them reach the body checks
            case.path_parameters["municipality"] = guide_ids[index % len(guide_ids)]
        statuses[exercise(case)] += 1
    record_property("statuses", dict(statuses))


# --- part 2: hand-written hostile requests ----------------------------------------------------------

def _b36(n: int) -> str:
    digits = string.digits + string.ascii_lowercase
    out = ""
    while True:
        n, rest = divmod(n, 36)
        out = digits[rest] + out
        if not n:
            return out


def _nest(depth: int, inner: str, open_: str = "[", close: str = "]") -> str:
    return open_ * depth + inner + close * depth


def _body(**changes: Any) -> str:
    """CASE with top-level fields replaced, as compact JSON text."""
    return json.dumps({**CASE, **changes}, separators=(",", ":"), ensure_ascii=False)


def _raw(**changes: str) -> str:
    """CASE with top-level fields replaced by raw JSON text (for numbers json.dumps cannot write)."""
    parts = {k: json.dumps(v) for k, v in CASE.items()}
    parts.update(changes)
    return "{" + ",".join(f'"{k}":{v}' for k, v in parts.items()) + "}"


def _batch(*cases: str) -> str:
    return '{"cases":[' + ",".join(cases) + "]}"


SUBJECT_AGE = '{{"kind":"child","age":{}}}'
LEVEL = '{{"current_level":{}}}'
HUGE = str(10**100)
KEYS_100000 = "{" + ",".join(f'"{_b36(i)}":0' for i in range(100_000)) + "}"

# (id, path, body, expected status, expected code, fields the 422 must name (None: not checked))
HOSTILE: list[tuple[str, str, str | bytes, int, str, list[str] | None]] = [
    # nesting: the parser's depth limit answers, not a stack overflow
    ("nested-10000-brackets", DECISIONS, _nest(10_000, ""), 400, "malformed_json", None),
    ("nested-10000-brackets-batch", BATCH, _nest(10_000, ""), 400, "malformed_json", None),
    ("nested-10000-unclosed", DECISIONS, "[" * 10_000, 400, "malformed_json", None),
    ("nested-10000-objects", DECISIONS, _nest(10_000, "1", '{"a":', "}"), 400, "malformed_json", None),
    ("nested-10000-in-signals", DECISIONS, _raw(signals=_nest(10_000, '"withdrawn"')), 400, "malformed_json", None),
    ("nested-10000-in-batch-case", BATCH, _batch(_raw(signals=_nest(10_000, '"withdrawn"'))), 400,
     "malformed_json", None),
    ("nested-500-in-signals", DECISIONS, _raw(signals=_nest(500, '"withdrawn"')), 422, "invalid_request",
     ["signals[0]"]),
    ("nested-500-objects-in-unknown-field", DECISIONS, _raw(x=_nest(500, "1", '{"a":', "}")), 422,
     "invalid_request", ["x"]),
    # arrays
    ("signals-50000", DECISIONS, _body(signals=["withdrawn"] * 50_000), 422, "invalid_request", ["signals"]),
    ("signals-50000-in-batch-case", BATCH, _batch(_body(signals=["withdrawn"] * 50_000)), 200, "", None),
    # docs/api.md, Request: services_involved takes at most 100 codes (duplicates count); a longer list is
    # refused before its items are looked at
    ("services-involved-50000", DECISIONS, _body(status={"services_involved": ["ppt"] * 50_000}), 422,
     "invalid_request", None),
    ("batch-cases-100000", BATCH, _batch(*["{}"] * 100_000), 422, "invalid_request", ["cases"]),
    # long strings (just under the body limit)
    ("code-1mib", DECISIONS, _body(signals=["x" * (LIMIT - 200)]), 422, "invalid_request", ["signals[0].code"]),
    ("service-1mib", DECISIONS, _body(reporter={"service": "s" * (LIMIT - 200)}), 422, "invalid_request",
     ["reporter.service"]),
    ("key-1mib", DECISIONS, _body(**{"k" * (LIMIT - 200): 1}), 422, "invalid_request", None),
    # numbers
    ("age-1e308", DECISIONS, _raw(subject=SUBJECT_AGE.format("1e308")), 422, "invalid_request", ["subject.age"]),
    ("age-1e400", DECISIONS, _raw(subject=SUBJECT_AGE.format("1e400")), 422, "invalid_request", ["subject.age"]),
    ("age-minus-1e400", DECISIONS, _raw(subject=SUBJECT_AGE.format("-1e400")), 422, "invalid_request",
     ["subject.age"]),
    ("age-10e-400", DECISIONS, _raw(subject=SUBJECT_AGE.format("10e-400")), 422, "invalid_request", ["subject.age"]),
    ("age-minus-0.0", DECISIONS, _raw(subject=SUBJECT_AGE.format("-0.0")), 422, "invalid_request", ["subject.age"]),
    ("age-10-pow-100", DECISIONS, _raw(subject=SUBJECT_AGE.format(HUGE)), 422, "invalid_request", ["subject.age"]),
    ("age-minus-10-pow-100", DECISIONS, _raw(subject=SUBJECT_AGE.format("-" + HUGE)), 422, "invalid_request",
     ["subject.age"]),
    ("age-9e0", DECISIONS, _raw(subject=SUBJECT_AGE.format("9e0")), 422, "invalid_request", ["subject.age"]),
    # JSON -0 is the integer zero: a valid age and level
    ("age-minus-0", DECISIONS, _raw(subject=SUBJECT_AGE.format("-0")), 200, "", None),
    ("level-minus-0", DECISIONS, _raw(status=LEVEL.format("-0")), 200, "", None),
    ("level-1e308", DECISIONS, _raw(status=LEVEL.format("1e308")), 422, "invalid_request", ["status.current_level"]),
    ("level-1e400", DECISIONS, _raw(status=LEVEL.format("1e400")), 422, "invalid_request", ["status.current_level"]),
    ("level-10-pow-100", DECISIONS, _raw(status=LEVEL.format(HUGE)), 422, "invalid_request",
     ["status.current_level"]),
    ("level-minus-10-pow-100", DECISIONS, _raw(status=LEVEL.format("-" + HUGE)), 422, "invalid_request",
     ["status.current_level"]),
    ("level-10-pow-100-in-batch", BATCH, _batch(_raw(status=LEVEL.format(HUGE))), 200, "", None),
    # unicode in codes and keys (escaped and raw)
    ("code-nul-escaped", DECISIONS, _raw(signals='["with\\u0000drawn"]'), 422, "invalid_request",
     ["signals[0].code"]),
    ("code-nul-only", DECISIONS, _body(signals=["\x00"]), 422, "invalid_request", ["signals[0].code"]),
    ("code-rtl-override", DECISIONS, _body(signals=["\u202enwardhtiw"]), 422, "invalid_request",
     ["signals[0].code"]),
    ("code-rtl-mark", DECISIONS, _body(signals=["withdrawn\u200f"]), 422, "invalid_request", ["signals[0].code"]),
    ("code-zero-width", DECISIONS, _body(signals=["with\u200bdrawn"]), 422, "invalid_request", ["signals[0].code"]),
    ("code-emoji", DECISIONS, _body(signals=["withdrawn\U0001f600"]), 422, "invalid_request", ["signals[0].code"]),
    ("code-surrogate-pair-escaped", DECISIONS, _raw(signals='["\\ud83d\\ude00"]'), 422, "invalid_request",
     ["signals[0].code"]),
    ("code-fullwidth", DECISIONS, _body(signals=["ｗｉｔｈｄｒａｗｎ"]), 422, "invalid_request", ["signals[0].code"]),
    ("service-combining", DECISIONS, _body(reporter={"service": "school\u0301"}), 422, "invalid_request",
     ["reporter.service"]),
    ("key-nul", DECISIONS, _body(**{"\x00": 1}), 422, "invalid_request", ["\x00"]),
    ("key-emoji", DECISIONS, _body(**{"\U0001f600": 1}), 422, "invalid_request", ["\U0001f600"]),
    ("key-rtl", DECISIONS, _body(**{"\u202esignals": 1}), 422, "invalid_request", ["\u202esignals"]),
    ("key-empty", DECISIONS, _body(**{"": 1}), 422, "invalid_request", [""]),
    ("key-empty-nested", DECISIONS, _body(subject={"kind": "child", "age": 9, "": 1}), 422, "invalid_request",
     ["subject."]),
    ("key-empty-in-signal", DECISIONS, _body(signals=[{"code": "withdrawn", "": 1}]), 422, "invalid_request",
     ["signals[0]."]),
    ("key-empty-batch", BATCH, '{"cases":[{}],"":1}', 422, "invalid_request", [""]),
    # a case that is not an object fails only itself; a null case fails the whole batch (cases[i] must not be null)
    ("batch-case-true", BATCH, _batch(json.dumps(CASE), "true"), 200, "", None),
    ("batch-case-0", BATCH, _batch(json.dumps(CASE), "0"), 200, "", None),
    ("batch-case-string", BATCH, _batch(json.dumps(CASE), '"x"'), 200, "", None),
    ("batch-case-null", BATCH, _batch(json.dumps(CASE), "null"), 422, "invalid_request", ["cases[1]"]),
    # many keys (short ones, so the body stays under 1 MiB)
    ("keys-100000", DECISIONS, KEYS_100000, 422, "invalid_request", None),
    # duplicate keys deep inside signals
    ("duplicate-strength-in-signal", DECISIONS,
     _raw(signals='["withdrawn",{"code":"withdrawn","strength":"concern","strength":"wondering"}]'),
     400, "malformed_json", None),
    ("duplicate-key-in-nested-junk", DECISIONS, _raw(signals='[{"code":"withdrawn","x":{"y":{"z":1,"z":1}}}]'),
     400, "malformed_json", None),
    ("duplicate-key-in-batch-case", BATCH, _batch(_raw(signals='[{"code":"low_mood","code":"low_mood"}]')),
     400, "malformed_json", None),
    ("duplicate-empty-key", DECISIONS, '{"":1,"":2}', 400, "malformed_json", None),
    # byte order mark: not JSON (RFC 8259 §8.1 forbids sending one)
    ("utf8-bom", DECISIONS, b"\xef\xbb\xbf" + json.dumps(CASE).encode(), 400, "malformed_json", None),
    ("utf8-bom-batch", BATCH, b"\xef\xbb\xbf" + _batch(json.dumps(CASE)).encode(), 400, "malformed_json", None),
    ("utf8-bom-in-string", DECISIONS, _body(signals=["\ufeffwithdrawn"]), 422, "invalid_request",
     ["signals[0].code"]),
    # over-long UTF-8 and an encoded surrogate are invalid UTF-8
    ("overlong-utf8", DECISIONS, b'{"signals":["\xc0\xaf"]}', 400, "malformed_json", None),
    ("encoded-surrogate-utf8", DECISIONS, b'{"signals":["\xed\xa0\x80"]}', 400, "malformed_json", None),
]


def _hostile_params() -> Iterator[Any]:
    for name, path, body, status, code, fields in HOSTILE:
        yield pytest.param(path, body, status, code, fields, id=f"{name}-{status}")


@pytest.mark.parametrize(("path", "body", "status", "code", "fields"), list(_hostile_params()))
def test_hostile_request(client: FlaskClient, path: str, body: str | bytes, status: int, code: str,
                         fields: list[str] | None) -> None:
    data = body.encode() if isinstance(body, str) else body
    assert len(data) <= LIMIT, "the body must stay under the limit to test what lies behind it"
    resp = client.post(path, data=data, headers={"Content-Type": "application/json"})
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    assert resp.headers.get("Content-Language") in LANGUAGES
    if status == 200:
        if path == BATCH:
            check_batch(resp.get_json(), "batch")
        else:
            assert "decision_id" in resp.get_json()
        return
    error = envelope(resp, status, code)
    if fields is not None:
        assert fields == sorted({d["field"] for d in error["details"]}), error["details"][:5]


@pytest.mark.parametrize("path", [DECISIONS, BATCH], ids=["decisions-415", "batch-415"])
@pytest.mark.parametrize("charset", ["UTF-16", "utf-16le", "UTF-32", "latin1", "us-ascii"])
def test_charset_other_than_utf8_is_415(client: FlaskClient, path: str, charset: str) -> None:
    """A body really encoded as announced: refused for the charset, before anything is decoded."""
    text = json.dumps({"cases": [CASE]} if path == BATCH else CASE)
    encoding = "utf-16" if charset.lower() == "utf-16" else charset
    resp = client.post(path, data=text.encode(encoding),
                       headers={"Content-Type": f"application/json; charset={charset}"})
    envelope(resp, 415, "unsupported_media_type")


@pytest.mark.parametrize("path", [DECISIONS, BATCH], ids=["decisions-413", "batch-413"])
@pytest.mark.parametrize("size", [LIMIT + 1, 4 * LIMIT, 24 * LIMIT], ids=["1MiB+1", "4MiB", "24MiB"])
def test_chunked_body_over_the_limit_is_413(client: FlaskClient, path: str, size: int) -> None:
    """Chunked: no Content-Length announces the size; a body of valid JSON that keeps coming is cut off.
    What follows the limit is read and discarded up to DRAIN_LIMIT (so that a client that sends it all
    before reading gets the answer, test_http_edges), never further."""
    head = json.dumps({"cases": [CASE]} if path == BATCH else CASE).encode()
    stream = io.BytesIO(head + b" " * (size - len(head)))
    started = time.perf_counter()
    resp = client.post(path, input_stream=stream,
                       headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                       environ_overrides={"wsgi.input_terminated": True})
    envelope(resp, 413, "payload_too_large")
    assert stream.tell() <= min(size, LIMIT + 1 + DRAIN_LIMIT + 65536), "the service read far past the limit"
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize("path", [DECISIONS, BATCH], ids=["decisions-400", "batch-400"])
def test_chunked_body_under_the_limit_is_read_whole(client: FlaskClient, path: str) -> None:
    """Chunked and under the limit: parsed like any body (here: broken JSON, so 400, not 413)."""
    stream = io.BytesIO(b'{"cases": [' + b" " * (LIMIT - 20))
    resp = client.post(path, input_stream=stream,
                       headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                       environ_overrides={"wsgi.input_terminated": True})
    envelope(resp, 400, "malformed_json")


# --- identity numbers: refused with a 422 that does not repeat them --------------------------------

IDENTITY = [
    # (id, path, body, field)
    ("unknown-field", DECISIONS, {**CASE, "note": IDENTITY_NUMBER}, "note"),
    ("unknown-field-inside-text", DECISIONS, {**CASE, "note": f"elev {IDENTITY_NUMBER}, 4B"}, "note"),
    ("signal-code", DECISIONS, {**CASE, "signals": [IDENTITY_NUMBER]}, "signals[0]"),
    ("signal-code-object", DECISIONS, {**CASE, "signals": ["withdrawn", {"code": IDENTITY_NUMBER}]},
     "signals[1].code"),
    ("signal-strength", DECISIONS, {**CASE, "signals": [{"code": "withdrawn", "strength": IDENTITY_NUMBER}]},
     "signals[0].strength"),
    ("nested-key", DECISIONS, {**CASE, "subject": {"kind": "child", "age": 9, IDENTITY_NUMBER: True}},
     "subject.***********"),
    ("top-level-key", DECISIONS, {**CASE, IDENTITY_NUMBER: 1}, "***********"),
    ("deep-key", DECISIONS, {**CASE, "status": {"x": {"y": [{IDENTITY_NUMBER: 1}]}}}, None),
    ("service-involved", DECISIONS, {**CASE, "status": {"services_involved": ["ppt", IDENTITY_NUMBER]}},
     "status.services_involved[1]"),
    ("batch-case-unknown-field", BATCH, {"cases": [CASE, {**CASE, "note": IDENTITY_NUMBER}]}, None),
    ("batch-case-signal-code", BATCH, {"cases": [{**CASE, "signals": [IDENTITY_NUMBER]}]}, None),
    ("batch-case-nested-key", BATCH, {"cases": [{**CASE, "reporter": {"service": "school", IDENTITY_NUMBER: 1}}]},
     None),
]


@pytest.mark.parametrize(("path", "body", "field"),
                         [pytest.param(p, b, f, id=f"{i}-{200 if p == BATCH else 422}") for i, p, b, f in IDENTITY])
def test_identity_number_is_refused_without_echo(client: FlaskClient, path: str, body: Any,
                                                  field: str | None) -> None:
    resp = client.post(path, json=body)
    text = resp.get_data(as_text=True)
    assert IDENTITY_NUMBER not in text
    if path == BATCH:  # the case with the number fails alone, inside a 200
        assert resp.status_code == 200, text[:300]
        check_batch(resp.get_json(), "batch")
        errors = [e["error"] for e in resp.get_json()["decisions"] if "error" in e]
        assert len(errors) == 1 and errors[0]["code"] == "invalid_request"
        details = errors[0]["details"]
    else:
        details = envelope(resp, 422, "invalid_request")["details"]
    assert len(details) == 1, details  # reported alone: no other message may echo the number
    if field is not None:
        assert details[0]["field"] == field


# --- defects found here (strict xfail: they fail loudly once fixed) --------------------------------

SURROGATES = [
    pytest.param(DECISIONS, _raw(signals='["\\ud800"]'), id="signal-code"),
    pytest.param(DECISIONS, _raw(x='"\\udfff"').replace('"x"', '"\\udfff"'), id="key"),
    pytest.param(DECISIONS, _raw(reporter='{"service":"\\udc00"}'), id="reporter-service"),
    pytest.param(DECISIONS, _raw(subject='{"kind":"\\ud800","age":9}'), id="subject-kind"),
    pytest.param(DECISIONS, '{"\\ud800":1,"\\ud800":2}', id="duplicate-key"),
    pytest.param(BATCH, _batch(_raw(signals='["\\ud800"]')), id="batch-case-signal-code"),
    pytest.param(BATCH, '{"cases":[{}],"\\ud800":1}', id="batch-key"),
]


# Regression (was a strict xfail until fixed):
# a lone UTF-16 surrogate escape (e.g. \"\\ud800\") is valid JSON syntax; the value is echoed into
# the error message or field path, and with app.json.ensure_ascii=False werkzeug's UTF-8 encoding of the
# body raises UnicodeEncodeError in make_response: 500 internal_error instead of 400 malformed_json
# (or a 422 with the value escaped).
@pytest.mark.parametrize(("path", "body"), SURROGATES)
def test_lone_surrogate_escape_is_a_4xx(app: Flask, monkeypatch: pytest.MonkeyPatch, path: str, body: str) -> None:
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # what a client sees (TESTING would re-raise)
    with app.test_client() as client:
        resp = client.post(path, data=body.encode(), headers={"Content-Type": "application/json"})
    assert resp.status_code in (400, 422), resp.get_data(as_text=True)[:300]
    envelope(resp, resp.status_code, "malformed_json" if resp.status_code == 400 else "invalid_request")


# Regression (was a strict xfail until fixed):
# post_batch checks identity numbers only inside each case (decide()); an unknown key of the batch
# object itself is reported by marshmallow with the key as field path, so the 422 repeats the number.
@pytest.mark.parametrize("key", [IDENTITY_NUMBER, f"x{IDENTITY_NUMBER}"], ids=["number-422", "prefixed-number-422"])
def test_identity_number_in_a_batch_key_is_not_echoed(client: FlaskClient, key: str) -> None:
    resp = client.post(BATCH, json={"cases": [CASE], key: 1})
    envelope(resp, 422, "invalid_request")
    assert IDENTITY_NUMBER not in resp.get_data(as_text=True)


# Regression (was a strict xfail until fixed):
# the 400 for a duplicate key names the key (reason_duplicate_key), so a duplicated key that is an
# identity number is sent back in the error message.
@pytest.mark.parametrize("path", [DECISIONS, BATCH], ids=["decisions-400", "batch-400"])
def test_identity_number_in_a_duplicate_key_is_not_echoed(client: FlaskClient, path: str) -> None:
    raw = f'{{"{IDENTITY_NUMBER}": 1, "{IDENTITY_NUMBER}": 2}}'
    resp = client.post(path, data=raw, headers={"Content-Type": "application/json"})
    envelope(resp, 400, "malformed_json")
    assert IDENTITY_NUMBER not in resp.get_data(as_text=True)


# Regression (was a strict xfail until fixed):
# the 404 messages repeat the path: unknown_municipality names the id («Ukjent kommune «…»») and
# not_found the whole path, so an identity number put in the URL comes back in the response.
@pytest.mark.parametrize(("method", "path"), [
    ("POST", f"/v1/municipalities/{IDENTITY_NUMBER}/decisions"),
    ("POST", f"/v1/municipalities/{IDENTITY_NUMBER}/decisions/batch"),
    ("GET", f"/v1/municipalities/{IDENTITY_NUMBER}"),
    ("GET", f"/v1/{IDENTITY_NUMBER}"),
], ids=["decisions-404", "batch-404", "municipality-404", "other-path-404"])
def test_identity_number_in_the_path_is_not_echoed(client: FlaskClient, method: str, path: str) -> None:
    resp = client.open(path, method=method, json=CASE if method == "POST" else None)
    assert resp.status_code in (404, 422)
    assert IDENTITY_NUMBER not in resp.get_data(as_text=True)


# Regression (was a strict xfail until fixed):
# no array limit before item validation: signals over the maximum of 50 are validated one by one,
# each unknown code with its own detail and suggestions, and then the length problem itself is missing
# (marshmallow runs List validators only when every item loaded). 50,000 misspelt codes (a 650 KB body)
# take about 20 s of CPU and return a 4.9 MB 422; here 2,000 give a 193 KB answer to a 24 KB request.
def test_signals_far_over_the_maximum_are_refused_cheaply(client: FlaskClient) -> None:
    raw = json.dumps({**CASE, "signals": ["withdrawm"] * 2_000}).encode()
    resp = client.post(DECISIONS, data=raw, headers={"Content-Type": "application/json"})
    error = envelope(resp, 422, "invalid_request")
    assert "signals" in {d["field"] for d in error["details"]}
    assert len(resp.get_data()) < len(raw), "the error answer is larger than the request"


# --- the document itself ---------------------------------------------------------------------------

def _request_validator(client: FlaskClient, name: str) -> Any:
    import jsonschema_rs  # a dependency of schemathesis

    components = client.get("/openapi.json").get_json()["components"]
    return jsonschema_rs.Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": components})


# Regression (was a strict xfail, fixed):
#  (OpenAPI document): the nullable enums render as type [string, null] with an enum that lacks null
# (and strength as plain string), so the document rejects the null that docs/api.md (Request) makes mean absent
# and the service accepts (test_http.test_null_means_absent).
@pytest.mark.parametrize("changes", [
    pytest.param({"family": {"parental_responsibility": None}}, id="family.parental_responsibility"),
    pytest.param({"consent": {"parents": None}}, id="consent.parents"),
    pytest.param({"consent": {"subject": None}}, id="consent.subject"),
    pytest.param({"status": {"current_level": 1, "measures_effective": None}}, id="status.measures_effective"),
    pytest.param({"signals": [{"code": "withdrawn", "strength": None}]}, id="signals[0].strength"),
])
def test_document_admits_null_for_optional_fields(client: FlaskClient, changes: dict[str, Any]) -> None:
    body = {**CASE, **changes}
    assert client.post(DECISIONS, json=body).status_code == 200  # the service accepts it
    assert _request_validator(client, "DecisionRequest").is_valid(body)


def test_document_describes_a_batch_case(client: FlaskClient) -> None:
    """Regression: the items of BatchRequest.cases said nothing. They cannot be a $ref to
    DecisionRequest: a bad case is answered at its index, not by failing the batch (docs/api.md, Batch decisions),
    so the document accepts any case and says in words what a case is."""
    components = client.get("/openapi.json").get_json()["components"]
    items = components["schemas"]["BatchRequest"]["properties"]["cases"]["items"]
    assert "DecisionRequest" in items["description"]
    assert _request_validator(client, "BatchRequest").is_valid({"cases": [1]})
