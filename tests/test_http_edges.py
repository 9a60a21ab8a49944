"""Regression tests for the HTTP layer's edge cases: what broke, and stays fixed.

Each test is named after what was wrong. Tests that need a real server (gunicorn's socket
handling, chunked bodies) start ``bti serve`` on a free port of 127.0.0.1.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, abort
from flask.testing import FlaskClient

from schemas.errors import ErrorCode
from service.app import create_app
from service.observe import metrics

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

