"""What a rule condition can test — request fields and facts derived while deciding — and what
each operator of a condition means; the compiler, the analysis, the descriptions and the case
facts all derive from these tables.

Each field has a path as the rule file writes it (``subject.age``), the attribute the engine's
fact carries, its type, and the phase in which it is known:

1. the case as requested;
2. derived from what phase 1 decided (ladder level, urgency, suspected parents, whose consent);
3. the decided level, after the pause and the consent gate.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rules.model import (
    CONSENT_ANSWERS,
    CONSENT_PARTIES,
    INVOLVED_REF,
    MEASURES,
    REPORTER_REF,
    RESPONSIBILITIES,
    SUBJECT_KINDS,
)

NO_LEVEL = -1  # the fact's value when the request gives no current level
NOT_EVALUATED = "not_evaluated"  # ... and when it gives no measures_effective
NO_PARTY = "none"  # consent.required_from when no consent rule said whose consent is needed


@dataclass(frozen=True)
class FieldSpec:
    path: str
    attr: str
    type: str  # int | enum | bool | services
    phase: int
    values: tuple[str, ...] = ()  # for enum; services are checked against the catalog
    minimum: int | None = None
    maximum: int | None = None
    absent: object = None  # the fact's value when the request leaves the field out


FIELDS: dict[str, FieldSpec] = {
    f.path: f
    for f in (
        FieldSpec("subject.kind", "kind", "enum", 1, SUBJECT_KINDS),
        FieldSpec("subject.age", "age", "int", 1, minimum=0, maximum=55),
        FieldSpec(REPORTER_REF, "rep", "enum", 1),  # a service code of the catalog
        FieldSpec("reporter.health_service", "rep_health", "bool", 1),
        FieldSpec("family.parental_responsibility", "resp", "enum", 1, RESPONSIBILITIES),
        FieldSpec("consent.parents", "c_par", "enum", 1, CONSENT_ANSWERS),
        FieldSpec("consent.subject", "c_sub", "enum", 1, CONSENT_ANSWERS[:4]),
        FieldSpec("status.current_level", "cur", "int", 1, minimum=0, maximum=3, absent=NO_LEVEL),
        FieldSpec("status.measures_effective", "meff", "enum", 1, MEASURES, absent=NOT_EVALUATED),
        FieldSpec(INVOLVED_REF, "inv", "services", 1),  # in the fact: inv__<code> and n_inv
        FieldSpec("status.complex_long_term_needs", "cx", "bool", 1),
        # before the pause and the consent gate
        FieldSpec("decision.ladder_level", "d_ladder", "int", 2, minimum=0, maximum=3),
        FieldSpec("decision.urgent", "d_urgent", "bool", 2),  # a phase-1 rule gave an urgent step
        FieldSpec("decision.parents_suspected", "d_susp", "bool", 2),  # national rules 3, 3 b and 4
        FieldSpec("consent.required_from", "c_from", "enum", 2, CONSENT_PARTIES, absent=NO_PARTY),
        FieldSpec("consent.answer", "c_ans", "enum", 2, CONSENT_ANSWERS),  # of whoever must consent
        # after the pause and the consent gate
        FieldSpec("decision.level", "d_level", "int", 3, minimum=0, maximum=3),
    )
}


_ATTR_ABSENT = {path: (spec.attr, spec.absent) for path, spec in FIELDS.items()}  # what fact_attributes reads


def fact_attributes(values: Mapping[str, Any]) -> dict[str, Any]:
    """Field values by path as the engine's fact carries them: by attribute, an absent value as
    the field's ``absent``, booleans as 0/1 (durable_rules compares mixed types as strings, so
    every attribute keeps one type)."""
    out: dict[str, Any] = {}
    for path, value in values.items():
        attr, absent = _ATTR_ABSENT[path]
        out[attr] = absent if value is None else int(value) if value is True or value is False else value
    return out


# --- operators -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """A comparison of a fact attribute with a constant, as compiled conditions make it."""

    name: str  # eq | neq | lt | lte | gt | gte
    negation: str
    test: Callable[[Any, Any], bool]
    durable: str  # durable_rules' operator ("" for eq, written {attr: value})


COMPARISONS = {
    c.name: c
    for c in (
        Comparison("eq", "neq", operator.eq, ""),
        Comparison("neq", "eq", operator.ne, "$neq"),
        Comparison("lt", "gte", operator.lt, "$lt"),
        Comparison("lte", "gt", operator.le, "$lte"),
        Comparison("gt", "lte", operator.gt, "$gt"),
        Comparison("gte", "lt", operator.ge, "$gte"),
    )
}


@dataclass(frozen=True)
class Operator:
    """An operator of a field test as a rule file writes it (``subject.age: {at_least: 12}``)."""

    name: str
    types: tuple[str, ...]  # the field types it applies to
    words: str  # how a condition is described (rules.describe)
    comparison: str | None = None  # the one comparison it means, for the plain comparisons


OPERATORS = {
    o.name: o
    for o in (
        Operator("equals", ("int", "enum", "bool"), "is", "eq"),
        Operator("one_of", ("int", "enum"), "is one of"),
        Operator("not_one_of", ("int", "enum"), "is not one of"),
        Operator("at_least", ("int",), "≥", "gte"),
        Operator("at_most", ("int",), "≤", "lte"),
        Operator("above", ("int",), ">", "gt"),
        Operator("below", ("int",), "<", "lt"),
        Operator("between", ("int",), "between"),
        Operator("present", ("int", "enum"), "is given"),
        Operator("contains", ("services",), "contains"),
        Operator("count_at_least", ("services",), "count ≥"),
    )
}


def operators_for(field_type: str) -> tuple[str, ...]:
    """The operators a field of ``field_type`` may use, in the order error messages list them."""
    return tuple(name for name, op in OPERATORS.items() if field_type in op.types)


def compare(op: str, actual: Any, value: Any) -> bool:
    """Whether ``actual`` stands to ``value`` as the plain comparison ``op`` says (at_least …)."""
    comparison = OPERATORS[op].comparison
    if comparison is None:
        raise ValueError(f"{op} is not a plain comparison")
    return COMPARISONS[comparison].test(actual, value)


SIGNAL_ATTR_PREFIX = "s__"
SERVICE_ATTR_PREFIX = "inv__"
MAX_STRENGTH_ATTR = "smax"
INVOLVED_COUNT_ATTR = "n_inv"
PHASE_ATTR = "t"
