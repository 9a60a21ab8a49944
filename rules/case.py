"""A case: the normalised request the engine decides on, and the facts it asserts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rules.fields import (
    INVOLVED_COUNT_ATTR,
    MAX_STRENGTH_ATTR,
    NO_LEVEL,
    NOT_EVALUATED,
    SERVICE_ATTR_PREFIX,
    SIGNAL_ATTR_PREFIX,
)
from rules.model import Catalog


@dataclass(frozen=True)
class Case:
    """What the request says, normalised: signals as code → strength rank (the strongest of
    duplicates), services involved without duplicates and without the reporter's own."""

    subject_kind: str
    age: int
    reporter: str
    signals: Mapping[str, int]
    parental_responsibility: str = "shared"
    consent_parents: str = "not_asked"
    consent_subject: str = "not_asked"
    current_level: int | None = None
    measures_effective: str | None = None
    services_involved: tuple[str, ...] = ()
    complex_long_term_needs: bool = False
    step: str | None = None  # the id of the guide's pathway step the case is at (status.step)

    def consent_answer(self, required_from: str | None) -> str:
        return self.consent_subject if required_from == "subject" else self.consent_parents


def fact_template(catalog: Catalog) -> dict[str, Any]:
    """Every attribute a case fact carries, at its 'absent' value: comparisons on a missing
    attribute are always false in durable_rules, so every attribute is always present."""
    fact: dict[str, Any] = {f"{SIGNAL_ATTR_PREFIX}{code}": 0 for code in catalog.signals}
    fact.update({f"{SERVICE_ATTR_PREFIX}{code}": 0 for code in catalog.services})
    return fact


def case_fact(case: Case, catalog: Catalog, template: Mapping[str, Any]) -> dict[str, Any]:
    """The phase-1 fact: the case as flat attributes, booleans as 0/1 (durable_rules compares
    mixed types as strings, so every attribute keeps one type)."""
    fact = dict(template)
    for code, rank in case.signals.items():
        fact[SIGNAL_ATTR_PREFIX + code] = rank
    for code in case.services_involved:
        fact[SERVICE_ATTR_PREFIX + code] = 1
    service = catalog.services.get(case.reporter)
    fact.update(
        kind=case.subject_kind,
        age=case.age,
        rep=case.reporter,
        rep_health=int(bool(service and service.health)),
        resp=case.parental_responsibility,
        c_par=case.consent_parents,
        c_sub=case.consent_subject,
        cur=NO_LEVEL if case.current_level is None else case.current_level,
        meff=case.measures_effective or NOT_EVALUATED,
        cx=int(case.complex_long_term_needs),
    )
    fact[MAX_STRENGTH_ATTR] = max(case.signals.values(), default=0)
    fact[INVOLVED_COUNT_ATTR] = len(case.services_involved)
    return fact
