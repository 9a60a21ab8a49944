"""Regression tests for the HTTP layer's edge cases: what broke, and stays fixed.

Each test is named after what was wrong. Tests that need a real server (gunicorn's socket
handling, chunked bodies) start ``bti serve`` on a free port of 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, abort
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from schemas.errors import ErrorCode
from service.app import create_app
from service.observe import metrics
from tests.servers import bti_serve

MUNICIPALITIES = Path(__file__).resolve().parent.parent / "municipalities"
LIMIT = 1024 * 1024

DECISIONS = "/v1/municipalities/national/decisions"
CASE: dict[str, Any] = {"subject": {"kind": "child", "age": 9}, "reporter": {"service": "school"},
                        "signals": ["withdrawn"]}


def decisions_counted() -> float:
    return sum(sample.value for family in metrics().decisions.collect() for sample in family.samples
               if sample.name == "bti_decisions_total")


# --- a bad ?lang= ----------------------------------------------------------------------------

def test_bad_lang_with_a_valid_body_is_not_decided_counted_or_logged(
        client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    """The body was decided (and counted in bti_decisions_total, and logged as a decision) before
    the bad language turned the answer into a 422."""
    before = decisions_counted()
    with caplog.at_level(logging.INFO, logger="bti"):
        resp = client.post(f"{DECISIONS}?lang=xx", json=CASE)
    assert resp.status_code == 422
    assert [d["field"] for d in resp.get_json()["error"]["details"]] == ["lang"]
    assert decisions_counted() == before
    assert not [r for r in caplog.records if r.getMessage() == "decision"]
    # the same request with a good language is decided, counted and logged once
    with caplog.at_level(logging.INFO, logger="bti"):
        assert client.post(f"{DECISIONS}?lang=en", json=CASE).status_code == 200
    assert decisions_counted() == before + 1
    assert len([r for r in caplog.records if r.getMessage() == "decision"]) == 1


def test_bad_lang_with_a_bad_body_still_lists_both(client: FlaskClient) -> None:
    resp = client.post(f"{DECISIONS}?lang=xx", json={**CASE, "signals": ["nope"]})
    assert resp.status_code == 422
    assert [d["field"] for d in resp.get_json()["error"]["details"]] == ["lang", "signals[0].code"]


# --- other client errors ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def bare_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app without guides, with one route that raises whatever HTTP error it is asked for."""
    app = create_app({"TESTING": True, "BTI_MUNICIPALITIES": str(tmp_path_factory.mktemp("empty"))})

    @app.get("/raise/<int:status>")
    def raise_status(status: int) -> Any:
        abort(status)

    yield app


WERKZEUG_ERRORS = [
    (400, ErrorCode.BAD_REQUEST), (401, ErrorCode.UNAUTHORIZED), (403, ErrorCode.FORBIDDEN),
    (404, ErrorCode.NOT_FOUND), (406, ErrorCode.BAD_REQUEST), (408, ErrorCode.BAD_REQUEST),
    (409, ErrorCode.BAD_REQUEST), (411, ErrorCode.BAD_REQUEST), (413, ErrorCode.PAYLOAD_TOO_LARGE),
    (415, ErrorCode.UNSUPPORTED_MEDIA_TYPE), (416, ErrorCode.RANGE_NOT_SATISFIABLE), (429, ErrorCode.BAD_REQUEST),
    (431, ErrorCode.BAD_REQUEST), (500, ErrorCode.INTERNAL_ERROR), (501, ErrorCode.INTERNAL_ERROR),
]


@pytest.mark.parametrize(("status", "code"), WERKZEUG_ERRORS, ids=[str(s) for s, _ in WERKZEUG_ERRORS])
def test_client_errors_other_than_404_405_413_are_not_answered_as_not_found(
        bare_app: Flask, status: int, code: ErrorCode) -> None:
    """Every 4xx the HTTP layer raised, other than 404, 405 and 413, came back as ``not_found``."""
    resp = bare_app.test_client().get(f"/raise/{status}")
    assert resp.status_code == status
    error = resp.get_json()["error"]
    assert error["code"] == code.value
    assert error["message"].strip()
    if status == 401:
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_range_outside_a_static_file_is_416_range_not_satisfiable(client: FlaskClient) -> None:
    resp = client.get("/assets/pages.css", headers={"Range": "bytes=99999999-"})
    assert resp.status_code == 416
    assert resp.get_json()["error"]["code"] == "range_not_satisfiable"
    assert resp.headers["Content-Range"].startswith("bytes */")


def test_every_error_code_has_a_status_and_a_message_in_every_language() -> None:
    from schemas.i18n import render

    params = {"id": "x", "path": "/x", "method": "GET", "allow": "POST", "limit": 1, "got": "-", "reason": "x"}
    for code in ErrorCode:
        assert 400 <= code.status < 600, code
        assert code.meaning.strip(), code
        texts = {lang: render(code.value, lang, **params) for lang in ("nb", "nn", "en")}
        assert all(text.strip() for text in texts.values()), code
        assert texts["nb"] != texts["en"], code


def test_unknown_error_codes_cannot_be_raised() -> None:
    from service.http import ApiError

    with pytest.raises(ValueError):
        ApiError("no_such_code")  # type: ignore[arg-type]



# --- bodies a client sends carelessly (against gunicorn: the test client never breaks a pipe) --------

@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with bti_serve(MUNICIPALITIES, workers=1) as url:
        yield url


def _raw_exchange(url: str, request: bytes, timeout: float = 20, then_close: bool = False) -> bytes:
    """Send ``request`` as it is on a fresh connection (``then_close``: and say that nothing more
    comes); everything the server answered."""
    parsed = urllib.parse.urlsplit(url)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=timeout) as sock:
        sock.sendall(request)
        if then_close:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def _status_and_body(answer: bytes) -> tuple[int, Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        decoded, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            decoded, rest = decoded + rest[:size], rest[size + 2:]
        body = decoded
    return status, json.loads(body)


@pytest.mark.parametrize("size", [2 * LIMIT, 10 * LIMIT])
def test_a_body_over_1_mib_sent_without_expect_continue_gets_the_413_envelope(server: str, size: int) -> None:
    """urllib sends the whole body before it reads the answer: the server answered 413 at once and
    closed, and the client got a broken pipe (or a reset) instead of the envelope."""
    request = urllib.request.Request(f"{server}{DECISIONS}", data=b"[" + b" " * (size - 2) + b"]",
                                     headers={"Content-Type": "application/json"}, method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 413
    assert json.loads(caught.value.read())["error"]["code"] == "payload_too_large"


def test_a_chunked_body_over_1_mib_gets_the_413_envelope(server: str) -> None:
    chunk = b" " * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(40)) + b"0\r\n\r\n"  # 2.5 MiB
    answer = _raw_exchange(server, b"POST " + DECISIONS.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    status, error = _status_and_body(answer)
    assert (status, error["error"]["code"]) == (413, "payload_too_large")


@pytest.fixture(scope="module")
def dev_server() -> Iterator[str]:
    """The app under werkzeug's development server (as the browser tests run it)."""
    httpd = make_server("127.0.0.1", 0, create_app({"BTI_MUNICIPALITIES": str(MUNICIPALITIES)}), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join()


@pytest.mark.parametrize("serving", ["server", "dev_server"])
@pytest.mark.parametrize("chunk_size", [b"zz", b"-1", b"1x", b"\xff", b"1" * 70000, b"2;\xff", b"2 2"])
def test_a_chunked_body_with_a_bad_chunk_size_is_400_not_500(request: pytest.FixtureRequest, serving: str,
                                                             chunk_size: bytes) -> None:
    url = request.getfixturevalue(serving)
    answer = _raw_exchange(url, b"POST " + DECISIONS.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                           b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                           + chunk_size + b"\r\n{}\r\n0\r\n\r\n", then_close=True)
    status, error = _status_and_body(answer)
    assert (status, error["error"]["code"]) == (400, "bad_request")


@pytest.mark.parametrize("serving", ["server", "dev_server"])
def test_a_chunk_shorter_than_its_declared_size_is_400_and_crashes_nothing(request: pytest.FixtureRequest,
                                                                          serving: str) -> None:
    """Regression: under werkzeug's development server a chunk that ended before its declared size
    (a 70,000-digit size, or a client gone mid-chunk) made the read copy past its buffer: a 413
    built on bytes that never arrived, or a segmentation fault of the whole test process."""
    url = request.getfixturevalue(serving)
    for size in (b"1" * 100, b"ffff", b"10"):
        answer = _raw_exchange(url, b"POST " + DECISIONS.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                               b"Connection: close\r\nContent-Type: application/json\r\n"
                               b"Transfer-Encoding: chunked\r\n\r\n" + size + b"\r\n{}", then_close=True)
        status, error = _status_and_body(answer)
        assert (status, error["error"]["code"]) == (400, "bad_request")
    assert _raw_exchange(url, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").startswith(
        b"HTTP/1.1 200")


# --- headers ----------------------------------------------------------------------------------

def test_metrics_content_type_names_its_charset_once(client: FlaskClient) -> None:
    """Regression: ``text/plain; version=…; charset=utf-8; charset=utf-8``."""
    content_type = client.get("/metrics").headers["Content-Type"]
    assert content_type.lower().count("charset") == 1, content_type
    assert content_type.startswith("text/plain")


@pytest.mark.parametrize("path", ["/docs", "/openapi.json"])
@pytest.mark.parametrize("asked", ["", "?lang=nb", "?lang=nn", "?lang=en"])
def test_docs_answer_content_language_en_because_they_are_english(client: FlaskClient, path: str, asked: str) -> None:
    """Regression: /docs is written in English but answered ``Content-Language: nb``."""
    resp = client.get(path + asked, headers={"Accept-Language": "nb"})
    assert resp.status_code == 200
    assert resp.headers["Content-Language"] == "en"
    if path == "/docs":
        assert '<html lang="en">' in resp.get_data(as_text=True)


# --- what an error repeats of the request -------------------------------------------------------

def test_an_error_message_quotes_at_most_64_characters_of_an_unknown_value(client: FlaskClient) -> None:
    """Regression: 50 unknown signals of 10 KB each gave a 516 KB answer, each message repeating its value."""
    long = "x" * 10_000
    body = {**CASE, "signals": [long + str(i) for i in range(50)], "reporter": {"service": long},
            "subject": {"kind": long, "age": 9}, "consent": {"parents": long}}
    resp = client.post(DECISIONS, json=body)
    assert resp.status_code == 422
    details = resp.get_json()["error"]["details"]
    assert len(details) == 53
    for detail in details:
        assert "x" * 65 not in detail["message"], detail["field"]
        assert "x" * 60 in detail["message"], detail["field"]  # it still says which value
    assert len(resp.get_data()) < 40_000



@pytest.mark.parametrize("where", ["body", "subject"])
def test_an_unknown_field_name_is_not_echoed_whole_in_the_field_path(client: FlaskClient, where: str) -> None:
    """Regression: a 10 KB unknown key gave a 10 KB 422, its name repeated whole as the field."""
    key = "x" * 10_000
    body = {**CASE, key: 1} if where == "body" else {**CASE, "subject": {"kind": "child", "age": 9, key: 1}}
    resp = client.post(DECISIONS, json=body)
    assert resp.status_code == 422
    [detail] = resp.get_json()["error"]["details"]
    prefix = "" if where == "body" else "subject."
    assert detail["field"] == prefix + "x" * (63 - len(prefix)) + "…"  # 64 characters, as a quoted value
    assert len(resp.get_data()) < 1000


def test_ten_thousand_unknown_fields_list_a_hundred_problems_and_count_the_rest(client: FlaskClient) -> None:
    """Regression: 10,000 unknown keys gave a 1.3 MB 422 listing each of them."""
    body = {**CASE, **{f"k{i}": 1 for i in range(10_000)}}
    resp = client.post(f"{DECISIONS}?lang=en", json=body)
    assert resp.status_code == 422
    details = resp.get_json()["error"]["details"]
    assert len(details) == 101
    assert all(d["message"].startswith("unknown field") for d in details[:100])
    assert {d["field"] for d in details[:100]} <= set(body) - set(CASE)
    assert details[100] == {"field": "", "message": "and 9900 more not listed here", "suggestions": []}
    assert len(resp.get_data()) < 20_000
    # one problem over the bound is counted too; exactly the bound is listed whole
    for extra, listed in ((101, 101), (100, 100)):
        resp = client.post(f"{DECISIONS}?lang=en", json={**CASE, **{f"k{i}": 1 for i in range(extra)}})
        details = resp.get_json()["error"]["details"]
        assert len(details) == listed
        assert (details[-1]["message"] == "and 1 more not listed here") == (extra == 101)

@pytest.mark.parametrize(("method", "path", "headers"), [
    ("GET", "/v1/municipalities/" + "y" * 10_000, {}),
    ("POST", "/v1/municipalities/" + "y" * 10_000 + "/decisions", {}),
    ("GET", "/" + "y" * 10_000, {}),
    ("POST", DECISIONS, {"Content-Type": "text/" + "y" * 10_000}),
])
def test_an_error_message_quotes_at_most_64_characters_of_a_path_or_header(
        client: FlaskClient, method: str, path: str, headers: dict[str, str]) -> None:
    resp = client.open(path, method=method, headers=headers, data=b"{}" if method == "POST" else None)
    assert 400 <= resp.status_code < 500
    message = resp.get_json()["error"]["message"]
    assert "y" * 65 not in message and "y" * 50 in message, message


# --- suggestions ------------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "suggested"), [
    ("tromsø", "tromso"), ("Tromsø", "tromso"), ("løten", "loten"), ("Øygarden", "oygarden"), ("overhala", "overhalla"),
    ("nasjonal", "national"),
])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_unknown_municipality_gets_the_closest_ids(client: FlaskClient, given: str, suggested: str,
                                                     method: str) -> None:
    """Regression: ``/v1/municipalities/tromsø`` said only "unknown municipality"."""
    path = f"/v1/municipalities/{given}" + ("/decisions" if method == "POST" else "")
    resp = client.open(path, method=method, json=CASE if method == "POST" else None)
    assert resp.status_code == 404
    error = resp.get_json()["error"]
    assert error["code"] == "unknown_municipality"
    assert error["details"][0]["field"] == "municipality"
    assert error["details"][0]["suggestions"][0] == suggested
    assert given in error["message"]


def test_an_unknown_municipality_with_a_wrong_method_gets_the_closest_ids_too(client: FlaskClient) -> None:
    resp = client.get("/v1/municipalities/tromsø/decisions")
    assert resp.status_code == 404
    assert resp.get_json()["error"]["details"][0]["suggestions"] == ["tromso"]


@pytest.mark.parametrize(("body", "field", "valid", "suggestion"), [
    ({**CASE, "subject": {"kind": "child", "age": 9, "agee": 1}}, "subject.agee", ["kind", "age"], "age"),
    ({**CASE, "signal": ["withdrawn"]}, "signal",
     ["subject", "reporter", "signals", "family", "consent", "status"], "signals"),
    ({**CASE, "status": {"current_lvl": 1}}, "status.current_lvl",
     ["current_level", "measures_effective", "services_involved", "complex_long_term_needs"], "current_level"),
    ({**CASE, "signals": [{"code": "withdrawn", "strenght": "concern"}]}, "signals[0].strenght",
     ["code", "strength"], "strength"),
])
@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_unknown_field_lists_the_valid_fields(client: FlaskClient, body: Any, field: str, valid: list[str],
                                              suggestion: str, lang: str) -> None:
    """Regression: "unknown field" without a word on which fields there are."""
    resp = client.post(f"{DECISIONS}?lang={lang}", json=body)
    assert resp.status_code == 422
    detail = next(d for d in resp.get_json()["error"]["details"] if d["field"] == field)
    for name in valid:
        assert name in detail["message"], (name, detail["message"])
    assert detail["suggestions"][0] == suggestion


def test_batch_with_an_unknown_key_lists_cases(client: FlaskClient) -> None:
    resp = client.post(f"{DECISIONS}/batch", json={"cases": [CASE], "case": []})
    assert resp.status_code == 422
    detail = resp.get_json()["error"]["details"][0]
    assert detail["field"] == "case" and "cases" in detail["message"] and detail["suggestions"] == ["cases"]


# --- a guide that did not load -------------------------------------------------------------------

@pytest.fixture(scope="module")
def broken_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    root = tmp_path_factory.mktemp("guides")
    for guide in ("national", "overhalla"):
        shutil.copytree(MUNICIPALITIES / guide, root / guide)
    pathway = root / "overhalla" / "pathway.yaml"
    pathway.write_text(pathway.read_text(encoding="utf-8") + "\n  - this is: [not a step\n", encoding="utf-8")
    app = create_app({"TESTING": True, "BTI_MUNICIPALITIES": str(root)})
    assert "overhalla" in app.extensions["bti_store"].registry.errors
    return app


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v1/municipalities/overhalla"),
    ("POST", "/v1/municipalities/overhalla/decisions"),
    ("POST", "/v1/municipalities/overhalla/decisions/batch"),
])
@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_a_guide_that_failed_to_load_answers_503_guide_unavailable_not_404(
        broken_app: Flask, method: str, path: str, lang: str) -> None:
    """Regression: a guide whose files did not load was answered 404 "unknown municipality"."""
    body = {"cases": [CASE]} if path.endswith("batch") else CASE
    resp = broken_app.test_client().open(f"{path}?lang={lang}", method=method,
                                         json=body if method == "POST" else None)
    assert resp.status_code == 503
    error = resp.get_json()["error"]
    assert error["code"] == "guide_unavailable"
    assert "overhalla" in error["message"]


def test_a_wrong_method_on_a_guide_that_failed_to_load_is_405(broken_app: Flask) -> None:
    resp = broken_app.test_client().get("/v1/municipalities/overhalla/decisions")
    assert resp.status_code == 405


def test_the_other_guides_serve_beside_one_that_failed(broken_app: Flask) -> None:
    assert broken_app.test_client().post(DECISIONS, json=CASE).status_code == 200
