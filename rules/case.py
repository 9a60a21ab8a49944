"""A case: the normalised request the engine decides on, and the facts it asserts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rules.fields import (
    INVOLVED_COUNT_ATTR,
    MAX_STRENGTH_ATTR,
    SERVICE_ATTR_PREFIX,
    SIGNAL_ATTR_PREFIX,
    fact_attributes,
)
from rules.model import REPORTER_REF, Catalog


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


def request_values(case: Case, catalog: Catalog) -> dict[str, Any]:
    """The case's value of each request field a condition can test, by path (``None``: the
    request leaves it out); the services involved go into the fact apart (see case_fact)."""
    service = catalog.services.get(case.reporter)
    return {
        "subject.kind": case.subject_kind,
        "subject.age": case.age,
        REPORTER_REF: case.reporter,
        "reporter.health_service": bool(service and service.health),
        "family.parental_responsibility": case.parental_responsibility,
        "consent.parents": case.consent_parents,
        "consent.subject": case.consent_subject,
        "status.current_level": case.current_level,
        "status.measures_effective": case.measures_effective,
        "status.complex_long_term_needs": case.complex_long_term_needs,
    }


def case_changes(case: Case, catalog: Catalog) -> dict[str, Any]:
    """The attributes of the case's fact that differ from :func:`fact_template` (its signals, the
    services involved) or are not in it (the request's fields): the fact is the template with these."""
    fact: dict[str, Any] = {SIGNAL_ATTR_PREFIX + code: rank for code, rank in case.signals.items()}
    for code in case.services_involved:
        fact[SERVICE_ATTR_PREFIX + code] = 1
    fact.update(fact_attributes(request_values(case, catalog)))
    fact[MAX_STRENGTH_ATTR] = max(case.signals.values(), default=0)
    fact[INVOLVED_COUNT_ATTR] = len(case.services_involved)
    return fact


def case_fact(case: Case, catalog: Catalog, template: Mapping[str, Any]) -> dict[str, Any]:
    """The phase-1 fact: the case as flat attributes (see :func:`rules.fields.fact_attributes`)."""
    return {**template, **case_changes(case, catalog)}
