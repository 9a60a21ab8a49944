"""What a rule condition can test: request fields and facts derived while deciding.

Each field has a path as the rule file writes it (``subject.age``), the attribute the engine's
fact carries, its type, and the phase in which it is known:

1. the case as requested;
2. derived from what phase 1 decided (ladder level, urgency, suspected parents, whose consent);
3. the decided level, after the pause and the consent gate.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules.model import (
    CONSENT_ANSWERS,
    CONSENT_PARTIES,
    MEASURES,
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
    help: str = ""


FIELDS: dict[str, FieldSpec] = {
    f.path: f
    for f in (
        FieldSpec("subject.kind", "kind", "enum", 1, SUBJECT_KINDS, help="child or pregnant"),
        FieldSpec("subject.age", "age", "int", 1, minimum=0, maximum=55, help="whole years"),
        FieldSpec("reporter.service", "rep", "enum", 1, help="a service code"),
        FieldSpec("reporter.health_service", "rep_health", "bool", 1,
                  help="true when the reporter is a health service (journal duty)"),
        FieldSpec("family.parental_responsibility", "resp", "enum", 1, RESPONSIBILITIES),
        FieldSpec("consent.parents", "c_par", "enum", 1, CONSENT_ANSWERS),
        FieldSpec("consent.subject", "c_sub", "enum", 1, CONSENT_ANSWERS[:4]),
        FieldSpec("status.current_level", "cur", "int", 1, minimum=0, maximum=3, absent=NO_LEVEL),
        FieldSpec("status.measures_effective", "meff", "enum", 1, MEASURES, absent=NOT_EVALUATED),
        FieldSpec("status.services_involved", "inv", "services", 1),
        FieldSpec("status.complex_long_term_needs", "cx", "bool", 1),
        FieldSpec("decision.ladder_level", "d_ladder", "int", 2, minimum=0, maximum=3,
                  help="the level the ladder and level rules call for, before the pause and the consent gate"),
        FieldSpec("decision.urgent", "d_urgent", "bool", 2,
                  help="phase-1 rules gave an urgent notification step"),
        FieldSpec("decision.parents_suspected", "d_susp", "bool", 2,
                  help="a rule set parents_suspected (national rules 3 and 4, docs/national-guide.md)"),
        FieldSpec("consent.required_from", "c_from", "enum", 2, CONSENT_PARTIES, absent=NO_PARTY),
        FieldSpec("consent.answer", "c_ans", "enum", 2, CONSENT_ANSWERS,
                  help="the answer of whoever consent is required from"),
        FieldSpec("decision.level", "d_level", "int", 3, minimum=0, maximum=3,
                  help="the decided level, after the pause and the consent gate"),
    )
}

# Operators a field test may use, by field type.
OPERATORS = {
    "int": ("equals", "one_of", "not_one_of", "at_least", "at_most", "above", "below", "between", "present"),
    "enum": ("equals", "one_of", "not_one_of", "present"),
    "bool": ("equals",),
    "services": ("contains", "count_at_least"),
}

SIGNAL_ATTR_PREFIX = "s__"
SERVICE_ATTR_PREFIX = "inv__"
MAX_STRENGTH_ATTR = "smax"
INVOLVED_COUNT_ATTR = "n_inv"
PHASE_ATTR = "t"
