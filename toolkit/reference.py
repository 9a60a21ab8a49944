"""A reference evaluator: the test oracle for :func:`rules.evaluate.evaluate`.

It decides which rules apply by reading each rule's condition tree directly on the case, in plain
Python, without durable_rules, the compiler or the analysis. It shares with the engine path only
the validated rule model and the final merge (:func:`rules.resolve.resolve`). Written to be
obviously correct, not fast; it assumes a valid case (the request schema has passed it).

The three phases (docs/national-guide.md, rules.fields): phase 1 reads the request and gives the ladder
level, urgency, suspicion and whose consent is needed; phase 2 reads those too (pause, consent
gate) and caps the level; phase 3 reads the decided level (steps, participation, actors).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
from rules.resolve import Levels, resolve


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
    """Whether ``cond`` is true of the case, given the known ``values`` of its paths."""
    if isinstance(cond, AllOf):
        return all(holds(c, values, case, guide) for c in cond.items)
    if isinstance(cond, AnyOf):
        return any(holds(c, values, case, guide) for c in cond.items)
    if isinstance(cond, NotOf):
        return not holds(cond.item, values, case, guide)
    if isinstance(cond, SignalTest):
        codes = guide.catalog.signals if cond.codes is None else cond.codes
        return any(case.signals.get(code, 0) in cond.ranks for code in codes)  # absent: rank 0
    return field_holds(cond, values[cond.path], guide.settings)


def field_holds(test: FieldTest, actual: Any, settings: Settings) -> bool:
    def value(v: Any) -> Any:
        return settings.value(v.name) if isinstance(v, SettingRef) else v

    op, arg = test.op, test.value
    if op == "present":
        return (actual is not None) is arg
    if op == "contains":
        return arg in actual
    if op == "count_at_least":
        return len(actual) >= value(arg)
    if actual is None and FIELDS[test.path].type == "int":
        return False  # an absent number (no current level) is not compared: not even "not one of"
    if op == "equals":
        return actual == value(arg)
    if op == "one_of":
        return actual in [value(v) for v in arg]
    if op == "not_one_of":  # an absent enum (measures not yet evaluated) is none of the values
        return actual not in [value(v) for v in arg]
    if op == "at_least":
        return bool(actual >= value(arg))
    if op == "at_most":
        return bool(actual <= value(arg))
    if op == "above":
        return bool(actual > value(arg))
    if op == "below":
        return bool(actual < value(arg))
    if op == "between":
        return bool(value(arg[0]) <= actual <= value(arg[1]))
    raise ValueError(f"unknown operator {op!r} in a condition on {test.path}")


def applying(guide: Guide, phase: int, values: Mapping[str, Any], case: Case) -> list[Rule]:
    """The rules of ``phase`` whose conditions hold, in guide order; of a ``hit: first`` group
    only its first."""
    kept: list[Rule] = []
    decided_groups: set[tuple[str, str]] = set()
    for rule in sorted(guide.rules, key=lambda r: r.order):
        if rule.phase != phase or not holds(rule.when, values, case, guide):
            continue
        if rule.first_hit:
            if (rule.guide, rule.group) in decided_groups:
                continue
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
    values = request_values(guide, case)
    phase1 = applying(guide, 1, values, case)
    held = frozenset(i for i, cond in enumerate(guide.pathway.conditions) if holds(cond, values, case, guide))
    check_step(guide, case, held)
    ladder = max((called_level(r.then.level, case) for r in phase1 if r.then.level is not None), default=0)
    required_from = next((r.then.consent_from for r in phase1 if r.then.consent_from), None)
    values.update({
        "decision.ladder_level": ladder,
        "decision.urgent": any(URGENT_STEPS & set(r.then.steps) for r in phase1),
        "decision.parents_suspected": any("parents_suspected" in r.then.sets for r in phase1),
        "consent.required_from": required_from,
        "consent.answer": case.consent_subject if required_from == "subject" else case.consent_parents,
    })
    phase2 = applying(guide, 2, values, case)
    levels = decided_levels(ladder, [*phase1, *phase2])
    values["decision.level"] = levels.decided
    phase3 = applying(guide, 3, values, case)
    paused = bool(values["decision.urgent"] or values["decision.parents_suspected"])
    return resolve(guide, case, [*phase1, *phase2, *phase3], levels, required_from, lang, None, held, paused)
