"""The embedding API (service.embed.Decider) gives what the HTTP endpoint gives: the same JSON for
a decision, the same envelope and status for a refused request."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from rules.errors import BTIError
from service.embed import Decider, DecisionRefused
from service.paths import BUNDLED
from toolkit.scenarios import discover


@pytest.fixture(scope="module")
def decider() -> Decider:
    return Decider()


def _without_id(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "decision_id"}


def test_every_scenario_decides_as_over_http(decider: Decider, client: FlaskClient) -> None:
    compared = 0
    for scenario in discover(BUNDLED):
        if "error" in scenario.expect or scenario.todo:
            continue
        url = f"/v1/municipalities/{scenario.guide}/decisions?lang={scenario.lang}"
        response = client.post(url, json=scenario.request)
        assert response.status_code == 200, scenario.id
        embedded = decider.decide(scenario.guide, scenario.request, lang=scenario.lang)
        assert len(embedded["decision_id"]) == 32
        assert _without_id(embedded) == _without_id(response.get_json()), scenario.id
        compared += 1
    assert compared > 200


def test_a_fresh_decision_id_each_call(decider: Decider) -> None:
    body = {"subject": {"kind": "child", "age": 9}, "reporter": {"service": "school"}, "signals": ["withdrawn"]}
    assert decider.decide("national", body)["decision_id"] != decider.decide("national", body)["decision_id"]


@pytest.mark.parametrize(("guide", "body", "lang", "status", "code"), [
    ("national", {"subject": {"kind": "child", "age": "nine"}, "signals": ["no_such_signal"], "extra": 1},
     "nb", 422, "invalid_request"),
    ("national", {"subject": {"kind": "child", "age": 9}, "reporter": {"service": "school"}, "signals": []},
     "de", 422, "invalid_request"),
    ("national", [1, 2], "en", 422, "invalid_request"),
    ("no_such_town", {}, "nn", 404, "unknown_municipality"),
])
def test_a_refused_request_raises_the_http_envelope(decider: Decider, client: FlaskClient, guide: str, body: Any,
                                                    lang: str, status: int, code: str) -> None:
    response = client.post(f"/v1/municipalities/{guide}/decisions?lang={lang}", json=body,
                           headers={"Accept-Language": "nb"})
    assert response.status_code == status
    with pytest.raises(DecisionRefused) as raised:
        decider.decide(guide, body, lang=lang)
    assert isinstance(raised.value, BTIError)
    assert raised.value.status == status
    assert raised.value.code == code
    assert raised.value.envelope == response.get_json()
