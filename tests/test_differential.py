"""Differential test: the engine path (rules.evaluate) and the plain-Python reference evaluator
(toolkit.reference) give the same decision, field by field, for random valid requests to every
bundled guide, for every scenario, and for a probe guide whose rules use every operator on every
field (the bundled guides use only some).

The requests go through the request schema like HTTP ones. ``BTI_DIFF_EXAMPLES`` sets how many
per guide (300 by default; a soak run uses many more); the run is derandomized, so a failure
repeats. Any difference is a bug in one of the two: the regression tests at the end keep each one.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from rules.case import Case
from rules.decision import Decision
from rules.evaluate import evaluate
from rules.loader import Registry, load_guide
from rules.model import CONSENT_ANSWERS, MEASURES, RESPONSIBILITIES, STRENGTHS, SUBJECT_KINDS, Guide
from rules.prepare import PreparedGuide, prepare
from service.paths import BUNDLED as MUNICIPALITIES
from toolkit.reference import evaluate_reference
from toolkit.scenarios import Scenario, discover, parse_request

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("BTI_DIFF_EXAMPLES", "300"))
GUIDES = sorted(p.name for p in MUNICIPALITIES.iterdir() if (p / "guide.yaml").is_file())
SCENARIOS = [s for s in discover(MUNICIPALITIES) if "error" not in s.expect]  # the valid requests


def optional(values: list[Any] | tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """One of ``values`` or None (absent), each as likely."""
    return st.sampled_from([None, *values])


@st.composite
def requests(draw: st.DrawFn, guide: Guide) -> dict[str, Any]:
    """A valid decision request for ``guide`` (docs/api.md, Request): ages in the guide's range, signals
    that fit the subject, ``partial`` only with shared responsibility, ``measures_effective``
    only with a current level; optional fields left out, null, or given."""
    s, catalog = guide.settings, guide.catalog
    kind = draw(st.sampled_from(SUBJECT_KINDS))
    lo, hi = (s.child_age_min, s.child_age_max) if kind == "child" else (s.pregnant_age_min, s.pregnant_age_max)
    fitting = [code for code, info in catalog.signals.items() if kind in info.subjects]
    # serious signals pause the ladder; in most cases leave them out, so levels 2-3 come up often
    if draw(st.sampled_from([True, True, False])):
        fitting = [code for code in fitting if catalog.signals[code].group != "serious"]
    services = list(catalog.services)
    reporters = [code for code, service in catalog.services.items() if service.reports]  # not emergency_medical
    signal = st.one_of(
        st.sampled_from(fitting),  # a bare code: strength concern
        st.fixed_dictionaries({"code": st.sampled_from(fitting), "strength": st.sampled_from(STRENGTHS)}),
    )
    body: dict[str, Any] = {
        "subject": {"kind": kind, "age": draw(st.integers(lo, hi))},
        "reporter": {"service": draw(st.sampled_from(reporters))},
        "signals": draw(st.lists(signal, min_size=1, max_size=6)),
    }
    responsibility = draw(optional(RESPONSIBILITIES))
    # "given" more often: the consent gate would otherwise hold most cases at level 1
    answers = ["given", "given", "given", *CONSENT_ANSWERS]
    parents = draw(optional([a for a in answers if a != "partial" or responsibility in (None, "shared")]))
    current_level = draw(st.one_of(st.none(), st.integers(0, 3)))
    status = {
        "current_level": current_level,
        "measures_effective": None if current_level is None else draw(optional(MEASURES)),
        "services_involved": draw(st.one_of(st.none(), st.lists(st.sampled_from(services), max_size=3))),
        "complex_long_term_needs": draw(optional([False, False, True])),
    }
    sections = {
        "family": {"parental_responsibility": responsibility},
        "consent": {"parents": parents, "subject": draw(optional([a for a in answers if a != "partial"]))},
        "status": status,
    }
    for name, section in sections.items():
        given_fields = {k: v for k, v in section.items() if v is not None or draw(st.booleans())}
        if given_fields or draw(st.booleans()):
            body[name] = given_fields
    return body


def differences(engine: Decision, reference: Decision) -> list[str]:
    """Each field in which the two decisions differ; of a list, the entries only one side has."""
    out = []
    for f in dataclasses.fields(Decision):
        a, b = getattr(engine, f.name), getattr(reference, f.name)
        if a == b:
            continue
        if isinstance(a, tuple) and isinstance(b, tuple):
            out.append(f"{f.name}:\n  only from the engine:    {[x for x in a if x not in b]!r}"
                       f"\n  only from the reference: {[x for x in b if x not in a]!r}"
                       + ("\n  (same entries, another order)" if set(a) == set(b) else ""))
        else:
            out.append(f"{f.name}:\n  engine:    {a!r}\n  reference: {b!r}")
    return out


def assert_same(prepared: PreparedGuide, case: Case, lang: str = "nb") -> None:
    guide = prepared.guide
    engine, reference = evaluate(prepared, case, lang), evaluate_reference(guide, case, lang)
    found = differences(engine, reference)
    assert not found, f"{guide.id}: engine and reference differ for {case!r}\n" + "\n".join(found)


def assert_agrees_on_random_cases(prepared: PreparedGuide) -> int:
    """Compare the two on EXAMPLES random requests; how many were compared."""
    guide = prepared.guide
    compared = 0

    # an inner test, so that Hypothesis reports the request, not the whole registry
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(body=requests(guide))
    def agrees(body: dict[str, Any]) -> None:
        nonlocal compared
        case = parse_request(guide, body)
        note(f"case: {case!r}")
        assert_same(prepared, case)
        compared += 1

    agrees()
    print(f"{guide.id}: {compared} cases compared")  # shown with -s or -rP
    return compared


@pytest.mark.parametrize("guide_id", GUIDES)
def test_engine_agrees_with_reference(registry: Registry, guide_id: str) -> None:
    assert assert_agrees_on_random_cases(registry.prepared[guide_id]) == EXAMPLES


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_engine_agrees_with_reference_on_scenarios(registry: Registry, scenario: Scenario) -> None:
    """The hand-picked cases of the scenario suites (edges of every rule) decide the same way too."""
    prepared = registry.prepared[scenario.guide]
    assert_same(prepared, parse_request(prepared.guide, scenario.request), scenario.lang)


# --- every operator on every field -----------------------------------------------------------

S = {"setting": "youth_consent_age"}
PROBES: list[dict[str, Any]] = [
    {"subject.age": 16}, {"subject.age": {"one_of": [3, S]}}, {"subject.age": {"not_one_of": [0, 18]}},
    {"subject.age": {"at_least": S}}, {"subject.age": {"at_most": 6}}, {"subject.age": {"above": 12}},
    {"subject.age": {"below": 7}}, {"subject.age": {"between": [6, 19]}},
    {"subject.age": {"present": True}}, {"subject.age": {"present": False}},
    {"subject.kind": "pregnant"}, {"subject.kind": {"one_of": ["child"]}}, {"subject.kind": {"not_one_of": ["child"]}},
    {"subject.kind": {"present": False}},
    {"reporter.service": "school"}, {"reporter.service": {"one_of": ["gp", "midwife"]}},
    {"reporter.service": {"not_one_of": ["school"]}}, {"reporter.service": {"present": True}},
    {"reporter.health_service": True}, {"reporter.health_service": False},
    {"family.parental_responsibility": "one_parent"}, {"family.parental_responsibility": {"not_one_of": ["shared"]}},
    {"consent.parents": {"one_of": ["partial", "withdrawn"]}}, {"consent.parents": {"present": True}},
    {"consent.subject": "refused"}, {"consent.subject": {"not_one_of": ["given", "not_asked"]}},
    {"status.current_level": 0}, {"status.current_level": {"one_of": [0, 3]}},
    {"status.current_level": {"not_one_of": [1]}}, {"status.current_level": {"at_least": 1}},
    {"status.current_level": {"at_most": 1}}, {"status.current_level": {"above": 0}},
    {"status.current_level": {"below": 2}}, {"status.current_level": {"between": [0, 1]}},
    {"status.current_level": {"present": True}}, {"status.current_level": {"present": False}},
    {"status.measures_effective": "no"}, {"status.measures_effective": {"one_of": ["yes", "partly"]}},
    {"status.measures_effective": {"not_one_of": ["yes"]}}, {"status.measures_effective": {"present": False}},
    {"status.services_involved": {"contains": "ppt"}}, {"status.services_involved": {"count_at_least": 1}},
    {"status.services_involved": {"count_at_least": {"setting": "services_for_level_3"}}},
    {"status.complex_long_term_needs": True}, {"status.complex_long_term_needs": False},
    {"decision.ladder_level": 2}, {"decision.ladder_level": {"below": 2}},
    {"decision.ladder_level": {"between": [1, 2]}}, {"decision.ladder_level": {"not_one_of": [0]}},
    {"decision.urgent": True}, {"decision.parents_suspected": False},
    {"consent.required_from": "subject"}, {"consent.required_from": {"one_of": ["both_parents", "one_parent"]}},
    {"consent.required_from": {"not_one_of": ["child_welfare"]}}, {"consent.required_from": {"present": True}},
    {"consent.answer": "partial"}, {"consent.answer": {"one_of": ["refused", "withdrawn"]}},
    {"decision.level": 0}, {"decision.level": {"at_most": 1}}, {"decision.level": {"above": 1}},
    {"decision.level": {"between": [2, 3]}}, {"decision.level": {"not_one_of": [1]}},
    {"decision.level": {"at_least": {"setting": "relay_log_from_level"}}},
    {"signal": "any", "strength": "any"}, {"signal": "any", "strength": {"exactly": "concern"}},
    {"signal": "any", "strength": {"one_of": ["wondering", "reason_to_believe"]}},
    {"signal": "any", "strength": {"below": "concern"}}, {"signal": "any", "strength": {"below": "wondering"}},
    {"signal": {"other_than": ["school_absence", "withdrawn"]}, "strength": "reason_to_believe"},
    {"signal": {"one_of": ["school_absence", "withdrawn"]}, "strength": {"exactly": "wondering"}},
    {"signal": "poverty_housing", "strength": {"one_of": ["wondering", "reason_to_believe"]}},
    {"not": {"any": [{"status.current_level": {"below": 2}}, {"signal": "acute_danger"}]}},
    {"not": {"all": [{"status.current_level": {"between": [0, 1]}}, {"subject.age": {"below": S}}]}},
    {"not": {"signal": "any", "strength": {"one_of": ["wondering", "reason_to_believe"]}}},
    {"not": {"status.measures_effective": {"one_of": ["yes", "no"]}, "consent.answer": {"not_one_of": ["given"]}}},
    {"any": [{"decision.level": 3}, {"not": {"decision.urgent": False}}]},
]
# A municipal level group decided by its first hit, with levels relative to the current one.
PROBE_LEVELS: list[tuple[dict[str, Any], Any]] = [
    ({"status.current_level": 1, "status.measures_effective": "partly"}, {"from": "status.current_level", "add": 2}),
    ({"signal": "developmental_delay", "strength": "reason_to_believe"}, 2),
    ({"status.current_level": {"present": True}}, {"from": "status.current_level", "add": -1}),
]


def probe_rules(group: str, rules: list[tuple[dict[str, Any], dict[str, Any]]], hit: str = "all") -> str:
    text = {"nb": "probe"}
    return yaml.safe_dump({"group": group, "hit": hit, "rules": [
        {"id": f"p{i}", "title": text, "because": text, "when": when, "then": then}
        for i, (when, then) in enumerate(rules)]})


@pytest.fixture(scope="module")
def probe_guide(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PreparedGuide]:
    """A municipality whose rules test every field with every operator (each rule adds the
    leader as a consulted actor, so whether it fired shows in the decision)."""
    folder: Path = tmp_path_factory.mktemp("municipalities") / "probe"
    (folder / "rules").mkdir(parents=True)
    (folder / "guide.yaml").write_text(yaml.safe_dump({
        "id": "probe", "name": {"nb": "Probe"}, "version": "1", "extends": "national",
        "settings": {"youth_consent_age": 15, "services_for_level_3": 2, "relay_log_from_level": 1}}))
    actor = {"actors": [{"service": "leader", "role": "consult"}]}
    (folder / "rules" / "probes.yaml").write_text(probe_rules("probes", [(when, actor) for when in PROBES]))
    (folder / "rules" / "probe_levels.yaml").write_text(
        probe_rules("probe_levels", [(when, {"level": level}) for when, level in PROBE_LEVELS], hit="first"))
    prepared = prepare(load_guide(folder, registry.guides["national"]))
    yield prepared
    prepared.close()


def test_engine_agrees_with_reference_on_every_operator(probe_guide: PreparedGuide) -> None:
    assert assert_agrees_on_random_cases(probe_guide) == EXAMPLES


# --- regression tests: cases where the two disagreed -----------------------------------------


def test_not_one_of_is_false_without_a_current_level(probe_guide: PreparedGuide) -> None:
    """The reference took ``status.current_level: {not_one_of: [1]}`` as true for a new concern;
    like every comparison of a number, it holds only when the request gives a current level
    (rules.compiler). ``status.measures_effective: {not_one_of: [yes]}`` does hold when the
    measures are not yet evaluated: that is a state of its own, not a missing number."""
    case = parse_request(probe_guide.guide, {"subject": {"kind": "child", "age": 9}, "reporter": {"service": "school"},
                                       "signals": ["withdrawn"]})
    assert_same(probe_guide, case)
    fired = {e.rule for e in evaluate_reference(probe_guide.guide, case).explanation}
    assert f"probe.probes.p{PROBES.index({'status.current_level': {'not_one_of': [1]}})}" not in fired
    assert f"probe.probes.p{PROBES.index({'status.measures_effective': {'not_one_of': ['yes']}})}" in fired
