"""A reference evaluator: the test oracle for :func:`rules.evaluate.evaluate`.

It decides which rules apply by reading each rule's condition tree directly on the case, in plain
Python, without durable_rules, the compiler or the analysis. It shares with the engine path only
the validated rule model and the final merge (:func:`rules.resolve.resolve`, with the guide's
response texts made once). Written to be obviously correct first, and then without needless work,
as the plain-Python baseline ``make bench`` compares the engine with: per guide, once, its rules
are put in file order by phase and the settings its conditions name are filled in; per case, each
condition is read once. It assumes a valid case (the request schema has passed it).

The three phases (docs/national-guide.md, rules.fields): phase 1 reads the request and gives the ladder
level, urgency, suspicion and whose consent is needed; phase 2 reads those too (pause, consent
gate) and caps the level; phase 3 reads the decided level (steps, participation, actors).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from rules.case import Case
from rules.decision import Decision
from rules.fields import FIELDS
from rules.model import (
    URGENT_STEPS,
    AllOf,
    AnyOf,
    Condition,
    FieldTest,
    Guide,
    LevelCall,
    NotOf,
    Rule,
    SettingRef,
    Settings,
    SignalTest,
)
from rules.pathway_resolve import check_step
from rules.resolve import Levels, Outputs, resolve


def request_values(guide: Guide, case: Case) -> dict[str, Any]:
    """The value of every request path a condition can test; ``None`` when the request leaves
    an optional field out."""
    reporter = guide.catalog.services.get(case.reporter)
    return {
        "subject.kind": case.subject_kind,
        "subject.age": case.age,
        "reporter.service": case.reporter,
        "reporter.health_service": bool(reporter and reporter.health),
        "family.parental_responsibility": case.parental_responsibility,
        "consent.parents": case.consent_parents,
        "consent.subject": case.consent_subject,
        "status.current_level": case.current_level,
        "status.measures_effective": case.measures_effective,
        "status.services_involved": tuple(case.services_involved),
        "status.complex_long_term_needs": case.complex_long_term_needs,
    }


def holds(cond: Condition, values: Mapping[str, Any], case: Case, guide: Guide) -> bool:
    """Whether ``cond`` is true of the case, given the known ``values`` of its paths (settings
    in it already filled in, see :func:`with_settings`)."""
    if isinstance(cond, FieldTest):
        return field_holds(cond, values[cond.path])
    if isinstance(cond, SignalTest):
        codes = guide.catalog.signals if cond.codes is None else cond.codes
        signals = case.signals
        return any(signals.get(code, 0) in cond.ranks for code in codes)  # absent: rank 0
    if isinstance(cond, AllOf):
        return all(holds(c, values, case, guide) for c in cond.items)
    if isinstance(cond, AnyOf):
        return any(holds(c, values, case, guide) for c in cond.items)
    if isinstance(cond, NotOf):
        return not holds(cond.item, values, case, guide)
    raise TypeError(f"unknown condition {cond!r}")


def field_holds(test: FieldTest, actual: Any) -> bool:
    op, arg = test.op, test.value
    if op == "present":
        return (actual is not None) is arg
    if op == "contains":
        return arg in actual
    if op == "count_at_least":
        return len(actual) >= arg
    if actual is None and FIELDS[test.path].type == "int":
        return False  # an absent number (no current level) is not compared: not even "not one of"
    if op == "equals":
        return actual == arg
    if op == "one_of":
        return actual in arg
    if op == "not_one_of":  # an absent enum (measures not yet evaluated) is none of the values
        return actual not in arg
    if op == "at_least":
        return bool(actual >= arg)
    if op == "at_most":
        return bool(actual <= arg)
    if op == "above":
        return bool(actual > arg)
    if op == "below":
        return bool(actual < arg)
    if op == "between":
        return bool(arg[0] <= actual <= arg[1])
    raise ValueError(f"unknown operator {op!r} in a condition on {test.path}")


def with_settings(cond: Condition, settings: Settings) -> Condition:
    """``cond`` with every setting it names replaced by the guide's value of it."""
    def value(v: Any) -> Any:
        return settings.value(v.name) if isinstance(v, SettingRef) else v

    if isinstance(cond, FieldTest):
        arg = cond.value
        filled = tuple(value(v) for v in arg) if isinstance(arg, list | tuple) else value(arg)
        return replace(cond, value=filled)
    if isinstance(cond, AllOf | AnyOf):
        return replace(cond, items=tuple(with_settings(c, settings) for c in cond.items))
    if isinstance(cond, NotOf):
        return replace(cond, item=with_settings(cond.item, settings))
    return cond


@dataclass(frozen=True)
class _Plain:
    """What the reference makes of a guide once: the rules of each phase in file order with their
    conditions, the pathway's conditions, settings filled in, and the guide's response texts."""

    phases: Mapping[int, tuple[tuple[Rule, Condition], ...]]
    pathway_conditions: tuple[Condition, ...]
    outputs: Outputs


_plain: dict[int, tuple[weakref.ref[Guide], _Plain]] = {}


def _plain_of(guide: Guide) -> _Plain:
    found = _plain.get(id(guide))
    if found is not None and found[0]() is guide:
        return found[1]
    settings = guide.settings
    ordered = sorted(guide.rules, key=lambda r: r.order)
    plain = _Plain(
        phases={phase: tuple((r, with_settings(r.when, settings)) for r in ordered if r.phase == phase)
                for phase in (1, 2, 3)},
        pathway_conditions=tuple(with_settings(c, settings) for c in guide.pathway.conditions),
        outputs=Outputs(guide),
    )
    key, table = id(guide), _plain
    table[key] = (weakref.ref(guide, lambda _: table.pop(key, None)), plain)
    return plain


def applying(guide: Guide, phase: int, values: Mapping[str, Any], case: Case) -> list[Rule]:
    """The rules of ``phase`` whose conditions hold, in guide order; of a ``hit: first`` group
    only its first."""
    kept: list[Rule] = []
    decided_groups: set[tuple[str, str]] = set()
    for rule, when in _plain_of(guide).phases[phase]:
        if rule.first_hit and (rule.guide, rule.group) in decided_groups:
            continue  # its group has its rule already: no need to read the condition
        if not holds(when, values, case, guide):
            continue
        if rule.first_hit:
            decided_groups.add((rule.guide, rule.group))
        kept.append(rule)
    return kept


def called_level(call: LevelCall, case: Case) -> int:
    if call.from_current:
        current = case.current_level if case.current_level is not None else 0
        return max(0, min(3, current + call.add))
    return call.value or 0


def decided_levels(ladder: int, rules: Iterable[Rule]) -> Levels:
    """The ladder's level under every cap the rules put on it; ``blocks_level`` is the ladder's
    level when a blocking cap (the consent gate) lowered it."""
    caps = [r.then for r in rules if r.then.level_at_most is not None]
    level = min([ladder, *(o.level_at_most for o in caps if o.level_at_most is not None)])
    blocked = any(o.blocks_level and o.level_at_most is not None and ladder > o.level_at_most for o in caps)
    return Levels(ladder, level, ladder if blocked else None)


def evaluate_reference(guide: Guide, case: Case, lang: str = "nb") -> Decision:
    """Decide ``case`` under ``guide`` without the engine."""
    plain = _plain_of(guide)
    values = request_values(guide, case)
    phase1 = applying(guide, 1, values, case)
    held = frozenset(i for i, cond in enumerate(plain.pathway_conditions) if holds(cond, values, case, guide))
    check_step(guide, case, held)
    ladder = max((called_level(r.then.level, case) for r in phase1 if r.then.level is not None), default=0)
    required_from = next((r.then.consent_from for r in phase1 if r.then.consent_from), None)
    values.update({
        "decision.ladder_level": ladder,
        "decision.urgent": any(not URGENT_STEPS.isdisjoint(r.then.steps) for r in phase1),
        "decision.parents_suspected": any("parents_suspected" in r.then.sets for r in phase1),
        "consent.required_from": required_from,
        "consent.answer": case.consent_subject if required_from == "subject" else case.consent_parents,
    })
    phase2 = applying(guide, 2, values, case)
    levels = decided_levels(ladder, [*phase1, *phase2])
    values["decision.level"] = levels.decided
    phase3 = applying(guide, 3, values, case)
    paused = bool(values["decision.urgent"] or values["decision.parents_suspected"])
    return resolve(guide, case, [*phase1, *phase2, *phase3], levels, required_from, lang, plain.outputs, held,
                   paused)
