"""The decision's two wire forms (service/wire.py): the JSON bytes built from entries encoded once
are the bytes of the fresh JSON object, for every scenario, in every language, the first time an
entry is seen and every time after; the table of encoded entries stays bounded and never hands
out another entry's JSON."""

from __future__ import annotations

import json

import orjson
import pytest

import service.wire as wire
from rules.decision import ActorOut, Decision
from rules.evaluate import evaluate
from rules.loader import load_registry
from rules.model import LANGUAGES
from schemas.fastpath import fast_case
from service.paths import BUNDLED
from toolkit.scenarios import discover, parse_request


@pytest.fixture(scope="module")
def decided() -> list[tuple[str, Decision]]:
    """(scenario id, decision) of every scenario request its guide accepts, in each language."""
    registry = load_registry(BUNDLED)
    out = []
    for scenario in discover(BUNDLED):
        prepared = registry.prepared[scenario.guide]
        if "error" in scenario.expect or not isinstance(scenario.request, dict):
            continue
        case = fast_case(prepared.guide, scenario.request) or parse_request(prepared.guide, scenario.request)
        for lang in LANGUAGES:
            out.append((f"{scenario.id} [{lang}]", evaluate(prepared, case, lang)))
    return out


def test_encoded_entries_give_the_bytes_of_the_fresh_object(decided: list[tuple[str, Decision]]) -> None:
    wire._fragments.clear()
    for rounds in ("first", "again"):  # entries encoded on first sight, then taken from the table
        for name, decision in decided:
            expected = orjson.dumps(wire.present(decision, "d1"))
            assert wire.present_json(decision, "d1") == expected, f"{name} ({rounds})"
    assert len(decided) > 600
    assert len(wire._fragments) > 100


def test_the_endpoint_form_ends_with_a_newline_and_is_the_object(decided: list[tuple[str, Decision]]) -> None:
    decision = decided[0][1]
    sent = wire.present_json(decision, newline=True)
    assert sent.endswith(b"}\n")
    body = json.loads(sent)
    assert len(body["decision_id"]) == 32
    assert {k: v for k, v in body.items() if k != "decision_id"} == \
        {k: v for k, v in wire.present(decision).items() if k != "decision_id"}


def test_the_table_stays_bounded(decided: list[tuple[str, Decision]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire, "FRAGMENTS_LIMIT", 50)
    wire._fragments.clear()
    for name, decision in decided:
        assert wire.present_json(decision, "d1") == orjson.dumps(wire.present(decision, "d1")), name
        assert len(wire._fragments) <= 50


def test_an_entry_never_gets_the_json_of_another_that_had_its_id() -> None:
    """The table is keyed by id(entry) and keeps the entry alive beside its JSON; should an id come
    back for another object all the same, the object is checked, not trusted."""
    actor = ActorOut("school", "reporter", "Skole")
    impostor = ActorOut("police", "involve", "Politiet")
    wire._fragments[id(actor)] = (impostor, orjson.Fragment(orjson.dumps({"service": "police"})))
    assert orjson.loads(orjson.dumps([wire._encoded(actor, wire._actor)])) == \
        [{"service": "school", "role": "reporter", "label": "Skole"}]
