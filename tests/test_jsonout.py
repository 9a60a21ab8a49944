"""Responses encoded by orjson (service.jsonout) are the JSON Flask's own provider wrote with the
service's settings: the same bytes, key order and UTF-8 text included."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from service.embed import Decider, DecisionRefused
from service.jsonout import OrjsonProvider, encode
from service.paths import BUNDLED
from toolkit.scenarios import discover


def _flask_bytes(value: Any) -> bytes:
    """What Flask's default provider answered with before (sort_keys and ensure_ascii off)."""
    return (json.dumps(value, ensure_ascii=False, sort_keys=False, separators=(",", ":")) + "\n").encode()


@pytest.fixture(scope="module")
def decider() -> Decider:
    return Decider()


def test_every_scenario_response_encodes_to_the_same_bytes(decider: Decider) -> None:
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    compared = non_ascii = 0
    for scenario in discover(BUNDLED):
        try:
            body = decider.decide(scenario.guide, scenario.request, lang=scenario.lang)
        except DecisionRefused as refused:
            body = refused.envelope
        sent = app.json.response(body).get_data()
        assert sent == _flask_bytes(body), scenario.id
        compared += 1
        non_ascii += any(c in sent.decode() for c in "æøåÆØÅ")
    assert compared > 200
    assert non_ascii > 100  # the Norwegian texts went through as UTF-8, not \\u escapes


def test_decide_json_is_the_decision_in_key_order(decider: Decider) -> None:
    request = {"subject": {"kind": "child", "age": 9}, "reporter": {"service": "school"}, "signals": ["withdrawn"]}
    sent = json.loads(decider.decide_json("national", request, lang="nn"))
    decided = decider.decide("national", request, lang="nn")
    assert list(sent) == list(decided)
    assert {k: v for k, v in sent.items() if k != "decision_id"} == \
        {k: v for k, v in decided.items() if k != "decision_id"}


@pytest.mark.parametrize("value", [
    {"b": 1, "a": [None, True, False, 0, -3, 2.5, "ÆØÅ æøå – “quotes” \\ \u2028 \x01"]},
    {1: "an integer key", "nested": {"z": {}, "y": []}},
    [], "", None,
])
def test_odd_values_encode_as_flask_did(value: Any) -> None:
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    assert app.json.response(value).get_data() == _flask_bytes(value)
    assert encode(value) + b"\n" == _flask_bytes(value)


def test_debug_mode_still_pretty_prints() -> None:
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    app.debug = True
    assert app.json.response({"a": 1}).get_data() == b'{\n  "a": 1\n}\n'
