"""The playground with API keys on: it decides through its own route, which needs no key but
answers only its own page, and an access problem is never shown as a problem of the case."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from rules.loader import Registry
from service.access import key_hash
from service.app import create_app
from service.playground import TOKEN_HEADER, TOKEN_SECONDS, issue_token

MUNICIPALITIES = Path(__file__).resolve().parent.parent / "municipalities"
KEY = "a-decision-key-for-tests"
CASE: dict[str, Any] = {"subject": {"kind": "child", "age": 9}, "reporter": {"service": "school"},
                        "signals": [{"code": "withdrawn", "strength": "concern"}]}


def _app(**config: Any) -> Flask:
    return create_app({"TESTING": True, "BTI_MUNICIPALITIES": str(MUNICIPALITIES),
                       "BTI_API_KEYS": key_hash(KEY), **config})


@pytest.fixture(scope="module")
def keyed() -> FlaskClient:
    return _app().test_client()


def page_data(client: FlaskClient, guide: str = "national", lang: str = "en") -> dict[str, Any]:
    html = client.get(f"/municipalities/{guide}/try?lang={lang}").get_data(as_text=True)
    found = re.search(r'<script[^>]*id="playground-data"[^>]*>(.*?)</script>', html, re.S)
    assert found, "the page carries its data"
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def ask(client: FlaskClient, data: dict[str, Any], body: Any = CASE, **headers: str) -> Any:
    return client.post(data["api"], json=body, headers={TOKEN_HEADER: data["token"], **headers})


def test_the_playground_decides_with_api_keys_on(keyed: FlaskClient) -> None:
    """Regression: with BTI_API_KEYS set the page called the decision API without a key and showed
    "the case cannot be decided: missing API key"."""
    assert keyed.post("/v1/municipalities/national/decisions", json=CASE).status_code == 401  # still protected
    data = page_data(keyed)
    assert not data["api"].startswith("/v1/")
    resp = ask(keyed, data, **{"Sec-Fetch-Site": "same-origin"})
    assert resp.status_code == 200, resp.get_json()
    by_api = keyed.post("/v1/municipalities/national/decisions?lang=en", json=CASE,
                        headers={"Authorization": f"Bearer {KEY}"}).get_json()
    decision = resp.get_json()
    assert {**decision, "decision_id": ""} == {**by_api, "decision_id": ""}


def test_the_playground_route_validates_like_the_api(keyed: FlaskClient) -> None:
    resp = ask(keyed, page_data(keyed), body={**CASE, "signals": ["nope"]})
    assert resp.status_code == 422
    assert resp.get_json()["error"]["details"][0]["field"] == "signals[0].code"


@pytest.mark.parametrize("how", ["no token", "another guide's token", "a forged token", "an old token",
                                 "a cross-site request", "a batch"])
def test_the_playground_route_answers_only_its_own_page(keyed: FlaskClient, how: str) -> None:
    app = keyed.application
    data = page_data(keyed)
    headers = {TOKEN_HEADER: data["token"]}
    path = data["api"]
    if how == "no token":
        headers = {}
    elif how == "another guide's token":
        headers = {TOKEN_HEADER: issue_token(app, "loten")}
    elif how == "a forged token":
        headers = {TOKEN_HEADER: data["token"][:-4] + "0000"}
    elif how == "an old token":
        headers = {TOKEN_HEADER: issue_token(app, "national", now=time.time() - TOKEN_SECONDS - 10)}
    elif how == "a cross-site request":
        headers["Sec-Fetch-Site"] = "cross-site"
    elif how == "a batch":
        path = path.replace("/decisions", "/decisions/batch")
    resp = keyed.post(path, json={"cases": [CASE]} if how == "a batch" else CASE, headers=headers)
    assert resp.status_code in (403, 404, 405), how
    if resp.status_code == 403:
        assert resp.get_json()["error"]["code"] == "forbidden"


def test_a_token_from_another_deployment_is_refused(keyed: FlaskClient) -> None:
    other = _app(BTI_PLAYGROUND_SECRET="another-secret")
    resp = keyed.post(page_data(keyed)["api"], json=CASE,
                      headers={TOKEN_HEADER: issue_token(other, "national")})
    assert resp.status_code == 403


def test_the_token_is_the_same_in_every_worker_of_a_deployment() -> None:
    """Two apps with the same configuration (two workers, two replicas) accept each other's pages."""
    first, second = _app().test_client(), _app().test_client()
    assert ask(second, page_data(first)).status_code == 200


def test_the_playground_can_be_turned_off() -> None:
    client = _app(BTI_PLAYGROUND="off").test_client()
    data = page_data(client)
    assert data["playgroundOff"] is True
    resp = ask(client, data)
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "forbidden"


def test_the_playground_works_with_keys_off_too(client: FlaskClient) -> None:
    data = page_data(client)
    assert data["playgroundOff"] is False
    assert ask(client, data).status_code == 200


def test_the_script_never_shows_an_access_problem_as_a_problem_of_the_case() -> None:
    """Only a 422 is rendered as "the case cannot be decided"; 401/403 and every other status get a
    notice that says it is not about the case (the browser test drives this for real)."""
    script = (Path(__file__).resolve().parent.parent / "service" / "static" / "playground.js").read_text()
    assert 'answer.status === 422' in script
    assert "T.access_refused" in script and "T.service_problem" in script


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_the_page_lists_each_levels_steps_for_the_step_choice(client: FlaskClient, registry: Registry,
                                                              lang: str) -> None:
    """The choice of status.step offers the guide's steps of each level, in the guide's titles and
    order, each with the reporters it can apply to; the script counts days in the language's forms."""
    data = page_data(client, "loten" if "loten" in registry.guides else "national", lang)
    guide = registry.guides[data["municipality"]]
    for level, path in guide.pathway.levels.items():
        listed = data["pathway"][str(level)]
        assert [(s["id"], s["title"]) for s in listed] == [(s.id, s.title.in_lang(lang)) for s in path.steps]
        assert all("school" in s["reporters"] for s in listed)
    one, more = data["dueWithin"]
    assert "{n}" in one and "{n}" in more and one != more
