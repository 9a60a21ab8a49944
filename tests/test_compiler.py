"""The compiler: the national guide's ruleset against a golden file, and the lowering of
conditions to durable_rules expressions.

The golden file is regenerated only on purpose: ``BTI_UPDATE_GOLDEN=1 pytest tests/test_compiler.py``
rewrites it (and skips); read the diff before committing it.

Checked by eye against the YAML when the golden file was written (durable names are ``r`` + the
rule's index in the guide, so inserting a rule renames every later one; the indices below are
those of that day):

- consent.consent_gate (r29, phase 2): ``d_ladder >= 2`` (decision.ladder_level at_least 2),
  ``c_ans != "given"`` (consent.answer not_one_of [given]), ``d_urgent == 0`` and ``d_susp == 0``
  (decision.urgent / parents_suspected false, booleans as 0/1); pri 30 = index + 1.
  consent.ask_parents_for_consent (r30) repeats the gate (the YAML anchor ``*gate``), then
  ``c_ans`` not_asked or partial as an ``$or``, and ``c_from != "subject"``.
- routing.school_absence_school_health (r52, phase 3): ``d_level >= 2``, ``s__school_absence >= 2``
  (a bare signal means at least concern), ``age >= 6`` and ``age <= 19`` (between [6, 19], both
  ends included). routing.self_harm_gp (r57) negates that range: ``age < 6 or age > 19``.
- levels.wondering (r43): ``{signal: any, strength: any}`` is ``smax >= 1`` on the phase-1 fact;
  levels.new_concern (r42, strength concern) is ``smax >= 2``.
- participation.talk_with_parents (r48, phase 2): its ``not`` of (age at least the consent age and
  consent.subject one of refused/withdrawn) is ``age < 16 or (c_sub != refused and c_sub != withdrawn)``.
- levels.many_services (r37): count_at_least {setting: services_for_level_3} is ``n_inv >= 2``;
  steps.open_relay_log (r73): at_least {setting: relay_log_from_level} is ``d_level >= 2``.
- one ``phase_N`` sentinel per phase, ``{"t": N}`` at pri 1000000, after every rule.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rules.case import Case, case_fact, fact_template
from rules.compiler import FALSE, TRUE, CompiledGuide, compile_rules, lower, simplify, to_durable
from rules.engine import RuleEngine, fnv1a_32
from rules.fields import (
    FIELDS,
    INVOLVED_COUNT_ATTR,
    MAX_STRENGTH_ATTR,
    PHASE_ATTR,
    SERVICE_ATTR_PREFIX,
    SIGNAL_ATTR_PREFIX,
)
from rules.grammar import parse_condition
from rules.model import (
    CONSENT_ANSWERS,
    RESPONSIBILITIES,
    AllOf,
    AnyOf,
    Catalog,
    Condition,
    Guide,
    NotOf,
    Outcome,
    Rule,
    SignalTest,
    Text,
)
from rules.prepare import PreparedGuide

GOLDEN = Path(__file__).resolve().parent / "golden" / "national_ruleset.json"


def dump(ruleset: dict[str, Any]) -> str:
    return json.dumps(ruleset, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def test_national_ruleset_matches_golden(guide: Guide) -> None:
    ruleset = compile_rules(guide.rules, guide.catalog, guide.settings).ruleset
    if os.environ.get("BTI_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(dump(ruleset), encoding="utf-8")
        pytest.skip(f"rewrote {GOLDEN.name}; check its diff by eye")
    assert GOLDEN.is_file(), "no golden file: run once with BTI_UPDATE_GOLDEN=1"
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    actual = json.loads(dump(ruleset))
    changed = sorted(name for name in golden.keys() | actual.keys() if golden.get(name) != actual.get(name))
    ids = {f"r{i}": r.id for i, r in enumerate(guide.rules)}
    assert not changed, "compiled rules differ from the golden file: " + ", ".join(
        f"{name} ({ids.get(name, 'sentinel or gone')})" for name in changed)


def test_compiling_is_pure(guide: Guide, prepared: PreparedGuide) -> None:
    first = compile_rules(guide.rules, guide.catalog, guide.settings)
    assert compile_rules(guide.rules, guide.catalog, guide.settings) == first == prepared.compiled


# --- lowering ------------------------------------------------------------------------------


def cond(data: dict[str, Any], catalog: Catalog) -> Condition:
    """A condition as a rule file writes it."""
    return parse_condition(data, catalog)


def ir_of(data: dict[str, Any], guide: Guide) -> tuple[Any, ...]:
    return simplify(lower(cond(data, guide.catalog), guide.catalog, guide.settings))


def rule(when: Condition, index: int = 0, phase: int = 1) -> Rule:
    return Rule(id=f"test.t.r{index}", guide="test", group="t", name=f"r{index}", title=Text(nb="T"),
                because=Text(nb="B"), when=when, then=Outcome(steps=("talk_with_child",)), first_hit=False,
                order=index, file="t.yaml", line=1, phase=phase)


S = SIGNAL_ATTR_PREFIX + "school_absence"

NNF_CASES = [
    ("not over all", {"not": {"all": [{"signal": "school_absence"}, {"subject.age": {"at_least": 12}}]}},
     ("or", (("cmp", S, "lt", 2), ("cmp", "age", "lt", 12)))),
    ("not over any", {"not": {"any": [{"signal": "school_absence"}, {"subject.kind": "pregnant"}]}},
     ("and", (("cmp", S, "lt", 2), ("cmp", "kind", "neq", "pregnant")))),
    ("not not", {"not": {"not": {"subject.age": {"below": 18}}}}, ("cmp", "age", "lt", 18)),
    # a strength names "at least": not (concern or stronger) includes the absent signal (rank 0)
    ("not strength at least", {"not": {"signal": "school_absence", "strength": "concern"}}, ("cmp", S, "lt", 2)),
    ("not strength exactly", {"not": {"signal": "school_absence", "strength": {"exactly": "concern"}}},
     ("cmp", S, "neq", 2)),
    ("not strength range", {"not": {"signal": "school_absence", "strength": {"below": "reason_to_believe"}}},
     ("or", (("cmp", S, "lt", 1), ("cmp", S, "gt", 2)))),
    ("strength not contiguous",
     {"signal": "school_absence", "strength": {"one_of": ["wondering", "reason_to_believe"]}},
     ("or", (("cmp", S, "eq", 1), ("cmp", S, "eq", 3)))),
    ("no current level", {"status.current_level": {"present": False}}, ("cmp", "cur", "eq", -1)),
    ("not no current level", {"not": {"status.current_level": {"present": False}}}, ("cmp", "cur", "neq", -1)),
    # an absent current level (-1) is not "below 2" ...
    ("current level below", {"status.current_level": {"below": 2}},
     ("and", (("cmp", "cur", "neq", -1), ("cmp", "cur", "lt", 2)))),
    # ... so "not below 2" holds for it
    ("not current level below", {"not": {"status.current_level": {"below": 2}}},
     ("or", (("cmp", "cur", "eq", -1), ("cmp", "cur", "gte", 2)))),
    ("any signal at least wondering", {"signal": "any", "strength": "any"}, ("cmp", MAX_STRENGTH_ATTR, "gte", 1)),
    ("boolean as 0/1", {"reporter.health_service": True}, ("cmp", "rep_health", "eq", 1)),
]


@pytest.mark.parametrize(("data", "expected"), [pytest.param(d, e, id=n) for n, d, e in NNF_CASES])
def test_lowering_to_negation_normal_form(guide: Guide, data: dict[str, Any], expected: tuple[Any, ...]) -> None:
    assert ir_of(data, guide) == expected


def _keys(expr: Any) -> Iterator[str]:
    if isinstance(expr, dict):
        for key, value in expr.items():
            yield key
            yield from _keys(value)
    elif isinstance(expr, list):
        for item in expr:
            yield from _keys(item)


def test_compiled_expressions_have_no_negation(prepared: PreparedGuide) -> None:
    """durable_rules has no negation inside a fact expression: only $and/$or and comparisons."""
    operators = {key for r in prepared.compiled.ruleset.values() for key in _keys(r["all"]) if key.startswith("$")}
    assert operators <= {"$and", "$or", "$neq", "$lt", "$lte", "$gt", "$gte"}


# Request-phase conditions and their negations must split every case exactly in two, in the engine.
COMPLEMENT_CONDITIONS = [
    {"all": [{"signal": "school_absence"}, {"subject.age": {"at_least": 12}}]},
    {"any": [{"signal": "school_absence", "strength": "wondering"}, {"subject.kind": "pregnant"}]},
    {"signal": "school_absence", "strength": {"below": "reason_to_believe"}},
    {"signal": {"one_of": ["bullying", "low_mood"]}, "strength": {"exactly": "concern"}},
    {"signal": "any", "strength": "reason_to_believe"},
    {"status.current_level": {"below": 2}},
    {"status.current_level": {"at_most": 1}},
    {"status.current_level": {"present": False}},
    {"status.measures_effective": {"one_of": ["no", "partly"]}},
    {"status.services_involved": {"contains": "ppt"}},
    {"status.services_involved": {"count_at_least": 2}},
    {"subject.age": {"between": [6, 19]}, "family.parental_responsibility": {"not_one_of": ["shared"]}},
]


def _cases(guide: Guide, n: int, seed: int) -> list[Case]:
    rnd = random.Random(seed)
    signals = [c for c, s in guide.catalog.signals.items() if "child" in s.subjects]
    services = list(guide.catalog.services)
    return [
        Case("child", rnd.randint(0, 25), rnd.choice(services),
             {c: rnd.randint(1, 3) for c in rnd.sample(signals, rnd.randint(1, 3))},
             parental_responsibility=rnd.choice(RESPONSIBILITIES),
             consent_parents=rnd.choice(CONSENT_ANSWERS),
             current_level=rnd.choice([None, 0, 1, 2, 3]),
             measures_effective=rnd.choice([None, "yes", "partly", "no"]),
             services_involved=tuple(rnd.sample(services, rnd.randint(0, 3))))
        for _ in range(n)
    ]


def test_negation_is_the_exact_complement_in_the_engine(guide: Guide) -> None:
    rules: list[Rule] = []
    for data in COMPLEMENT_CONDITIONS:
        c = cond(data, guide.catalog)
        rules += [rule(c, len(rules)), rule(NotOf(c), len(rules) + 1)]
    compiled = compile_rules(rules, guide.catalog, guide.settings)
    engine = RuleEngine("test-complement", compiled.rulesets, frozenset({"phase_1", "phase_2", "phase_3"}))
    cases = _cases(guide, 150, seed=3)
    cases.append(dataclasses.replace(cases[0], current_level=None))  # the absent level for sure
    try:
        for case in cases:
            with engine.session() as session:
                fired = set(session.assert_fact(dict(case_fact(case, guide.catalog, fact_template(guide.catalog)),
                                                     **{PHASE_ATTR: 1})))
            for i, data in enumerate(COMPLEMENT_CONDITIONS):
                assert (f"r{2 * i}" in fired) != (f"r{2 * i + 1}" in fired), (data, case)
    finally:
        engine.close()


@pytest.mark.parametrize(("level", "fires"), [(None, False), (0, True), (1, True), (2, False), (3, False)])
def test_below_on_current_level_does_not_match_the_absent_level(guide: Guide, level: int | None,
                                                                fires: bool) -> None:
    compiled = compile_rules([rule(cond({"status.current_level": {"below": 2}}, guide.catalog))],
                             guide.catalog, guide.settings)
    engine = RuleEngine("test-below", compiled.rulesets, frozenset({"phase_1", "phase_2", "phase_3"}))
    case = Case("child", 10, "school", {"school_absence": 2}, current_level=level)
    try:
        with engine.session() as session:
            fired = session.assert_fact(dict(case_fact(case, guide.catalog, fact_template(guide.catalog)), t=1))
        assert fired == (["r0"] if fires else [])
    finally:
        engine.close()


@pytest.mark.parametrize(("data", "expected"), [
    ({"subject.kind": {"one_of": ["child", "pregnant"]}}, {"$or": [{"kind": "child"}, {"kind": "pregnant"}]}),
    ({"status.current_level": {"one_of": [0, 1]}}, {"$or": [{"cur": 0}, {"cur": 1}]}),
    ({"signal": {"one_of": ["bullying", "low_mood"]}},
     {"$or": [{"$gte": {SIGNAL_ATTR_PREFIX + "bullying": 2}}, {"$gte": {SIGNAL_ATTR_PREFIX + "low_mood": 2}}]}),
    ({"consent.parents": {"not_one_of": ["given", "partial"]}},
     {"$and": [{"$neq": {"c_par": "given"}}, {"$neq": {"c_par": "partial"}}]}),
])
def test_one_of_becomes_or(guide: Guide, data: dict[str, Any], expected: dict[str, Any]) -> None:
    """durable_rules has no $in: "one of" is an $or of equalities."""
    assert to_durable(ir_of(data, guide), 1) == {"$and": [{PHASE_ATTR: 1}, expected]}


def _expression(compiled: CompiledGuide, guide: Guide, rule_id: str) -> dict[str, Any]:
    index = next(i for i, r in enumerate(guide.rules) if r.id == rule_id)
    name = next(n for n, i in compiled.action_rules.items() if i == index)
    return compiled.ruleset[name]["all"][0]["m"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("age", [15, 16])
def test_setting_reference_is_filled_from_the_settings(guide: Guide, age: int) -> None:
    settings = dataclasses.replace(guide.settings, youth_consent_age=age)
    compiled = compile_rules(guide.rules, guide.catalog, settings)
    # subject.age: {at_least: {setting: youth_consent_age}}, or a pregnant woman of 18 or more
    assert _expression(compiled, guide, "national.consent.subject_consents") == {"$and": [{"t": 1}, {"$or": [
        {"$gte": {"age": age}}, {"$and": [{"kind": "pregnant"}, {"$gte": {"age": 18}}]}]}]}
    # subject.age: {below: {setting: youth_consent_age}} and shared responsibility
    assert _expression(compiled, guide, "national.consent.both_parents_consent") == {"$and": [{"t": 1}, {"$and": [
        {"$lt": {"age": age}}, {"resp": "shared"}]}]}


def test_condition_that_can_never_hold_is_reported(guide: Guide) -> None:
    never = cond({"signal": "school_absence", "strength": {"below": "wondering"}}, guide.catalog)
    assert never == SignalTest(("school_absence",), frozenset())
    fine = cond({"signal": "school_absence"}, guide.catalog)
    rules = [
        rule(fine, 0),
        rule(never, 1),
        rule(AllOf((fine, never)), 2),  # one part can never hold
        rule(AnyOf((never, fine)), 3),  # one branch still can
        rule(NotOf(never), 4),  # always holds: only the phase is tested
    ]
    compiled = compile_rules(rules, guide.catalog, guide.settings)
    assert compiled.action_rules == {"r0": 0, "r3": 3, "r4": 4}
    assert compiled.ruleset["r3"]["all"][0]["m"] == compiled.ruleset["r0"]["all"][0]["m"]
    assert compiled.ruleset["r4"]["all"][0]["m"] == {"t": 1}
    assert simplify(lower(never, guide.catalog, guide.settings)) == FALSE
    assert simplify(lower(NotOf(never), guide.catalog, guide.settings)) == TRUE


# --- attribute names and their hashes ------------------------------------------------------

# Names the engine reads itself: the fact's id and sid, and the keys of its ruleset format. The
# numbers are the engine's own constants (state.h, rete.c, events.c of durable_rules 2.0.28); an
# attribute whose name hashes to one of them would be taken for it.
ENGINE_NAMES = {
    "id": 926444256, "sid": 3593476751, "$i": 1622948014, "all": 321211332, "any": 740945997,
    "pri": 1450887882, "count": 967958004, "cap": 41178555, "dist": 1281379241, "$lt": 542787579,
    "$lte": 2350824890, "$gt": 507407960, "$gte": 3645344263, "$eq": 256037865, "$neq": 2488026869,
    "$mt": 576092554, "$imt": 1472564215, "$iall": 3261766877, "$iany": 3379504400, "$ex": 373481198,
    "$nex": 2605470202, "$or": 340911698, "$and": 3746487396, "$m": 1690058490, "name": 2369371622,
    "$add": 4081054038, "$sub": 1040718071, "$mul": 304370403, "$div": 130502, "$l": 1706836109,
    "$r": 1203507539,
}


def test_fnv1a_32_is_the_engines_hash() -> None:
    assert {name: fnv1a_32(name) for name in ENGINE_NAMES} == ENGINE_NAMES


def _attributes(catalog: Catalog) -> set[str]:
    """Every fact attribute name a compiled condition can test."""
    return ({spec.attr for spec in FIELDS.values() if spec.type != "services"}  # those: inv__*, n_inv
            | {SIGNAL_ATTR_PREFIX + code for code in catalog.signals}
            | {SERVICE_ATTR_PREFIX + code for code in catalog.services}
            | {MAX_STRENGTH_ATTR, INVOLVED_COUNT_ATTR, PHASE_ATTR})


def test_attribute_names_have_distinct_hashes(guide: Guide, prepared: PreparedGuide) -> None:
    names = _attributes(guide.catalog)
    emitted = {k for r in prepared.compiled.ruleset.values() for k in _keys(r["all"])
               if not k.startswith("$") and k != "m"}
    assert emitted <= names
    hashes = {fnv1a_32(name) for name in names}
    assert len(hashes) == len(names)
    assert not hashes & set(ENGINE_NAMES.values())


def test_case_fact_carries_every_attribute(guide: Guide) -> None:
    """Every request attribute is always present (a comparison on a missing one is always false;
    evaluate adds the phase and the derived ones), and the fact stays under the engine's 252
    properties with the derived attributes, its id and sid."""
    case = Case("child", 10, "school", {"school_absence": 2})
    fact = case_fact(case, guide.catalog, fact_template(guide.catalog))
    derived = {spec.attr for spec in FIELDS.values() if spec.phase > 1}
    assert set(fact) | {PHASE_ATTR} | derived == _attributes(guide.catalog)
    assert not set(fact) & derived
    assert len(_attributes(guide.catalog)) + 2 <= 252
