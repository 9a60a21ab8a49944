"""The cases ``bti diff`` decides under both versions of a guide: a systematic sample whose
dimensions come from the guides' own conditions.

Every value a condition tells apart gets cases of its own: one age per age band that a rule, a
pathway step, a step's minimum age or the guide's age range cuts (``rules.analysis.boundaries``), every service
that may report as reporter (local teams too), every consent answer of the parents and of the
subject with every kind of parental responsibility, every current level with every answer to
whether the measures work, complex needs, and as many services involved as a rule counts; only
combinations a request may have (``partial`` needs shared responsibility, ``measures_effective``
a current level). Every signal is sampled at every
strength. The full product of all of that is far too large, so the sample is built in layers:

1. every signal at every strength at every age, for the key reporters: the usual one for the
   subject kind, a health and a non-health service, and every service a condition names; each
   signal and strength also with a current level 1 and 2 whose measures did not work;
2. every reporter with every signal, the strength and the age turning;
3. every consent combination with every kind of responsibility at every age, with and without a
   level that did not work;
4. every status combination (current level, measures, complex needs, services involved) at
   every age.

An edit whose effect depends on one reporter names that reporter in its condition, which makes
it a key reporter of the sample: its cases are then sampled at every age, with every signal and
strength, and at levels 2 and 3.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rules.analysis import boundaries
from rules.case import Case
from rules.compiler import lower, simplify
from rules.fields import SERVICE_ATTR_PREFIX
from rules.model import CONSENT_ANSWERS, RESPONSIBILITIES, SUBJECT_KINDS, Guide

USUAL_REPORTER = {"child": "school", "pregnant": "gp"}
LEVELS: tuple[int | None, ...] = (None, 0, 1, 2, 3)
MEASURES: tuple[str | None, ...] = (None, "yes", "partly", "no")


@dataclass(frozen=True)
class Dimensions:
    """The values the sample takes along each dimension."""

    ages: Mapping[str, tuple[int, ...]]  # per subject kind: the first age of each band
    signals: Mapping[str, tuple[str, ...]]  # per subject kind: the signals that fit it
    reporters: tuple[str, ...]  # every service that may report, local teams included
    key_reporters: Mapping[str, tuple[str, ...]]  # per subject kind: sampled at every age and level
    consents: tuple[tuple[str, str], ...]  # (parents, subject)
    responsibilities: tuple[str, ...]
    involved: tuple[tuple[str, ...], ...]  # the services_involved lists tried
    local: tuple[str, ...] = ()  # the reporters that are local teams

    def describe(self) -> list[str]:
        local = [r for r in self.reporters if r in self.local]
        keys = "; ".join(f"{kind} {', '.join(names)}" for kind, names in self.key_reporters.items())
        return [
            "ages (one per band the rules, step ages and age ranges cut): "
            + "; ".join(f"{kind} {', '.join(map(str, ages))}" for kind, ages in self.ages.items()),
            f"reporters: all {len(self.reporters)} services that may report"
            + (f" (local teams: {', '.join(local)})" if local else "")
            + f", each with every signal; at every strength, age and at levels 2–3: {keys}",
            f"signals: {', '.join(f'{len(v)} {k}' for k, v in self.signals.items())}, each at all 3 strengths",
            f"consent: {len(self.consents)} parents × subject answers × {len(self.responsibilities)} kinds of "
            "parental responsibility, at every age",
            "status: current level none/0–3 × measures effective none/yes/partly/no × complex needs no/yes × "
            f"{len(self.involved)} lists of services involved ({', '.join(str(len(i)) for i in self.involved)} "
            "services), at every age",
        ]


def dimensions(*guides: Guide) -> Dimensions:
    """The dimensions that matter to any of ``guides`` (both versions of a guide, for a diff)."""
    cuts: dict[str, set[object]] = {}
    for guide in guides:  # the rules' conditions and those of the pathway's steps and deadlines
        for cond in (*(rule.when for rule in guide.rules), *guide.pathway.conditions):
            for attr, values in boundaries(simplify(lower(cond, guide.catalog, guide.settings))).items():
                cuts.setdefault(attr, set()).update(values)
    ages: dict[str, tuple[int, ...]] = {}
    age_cuts = {v for v in cuts.get("age", ()) if isinstance(v, int)}
    age_cuts |= {s.min_age for g in guides for s in g.catalog.steps.values() if s.min_age is not None}
    for kind in SUBJECT_KINDS:
        ranges = [(getattr(g.settings, f"{kind}_age_min"), getattr(g.settings, f"{kind}_age_max")) for g in guides]
        lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
        kind_cuts = age_cuts | {edge for r in ranges for edge in (r[0], r[1] + 1)}
        ages[kind] = tuple(sorted({lo} | {c for c in kind_cuts if lo < c <= hi}))
    services: dict[str, bool] = {}  # code → health, of the services that may report
    everyone: list[str] = []
    local: list[str] = []
    for guide in guides:
        for code, service in guide.catalog.services.items():
            if code not in everyone:
                everyone.append(code)
            if not service.reports:  # an emergency line answers calls; it is never the reporter
                continue
            services.setdefault(code, service.health)
            if service.local and code not in local:
                local.append(code)
    named = sorted(v for v in cuts.get("rep", ()) if isinstance(v, str) and v in services)
    signals = {kind: tuple(dict.fromkeys(code for g in guides for code, s in g.catalog.signals.items()
                                         if kind in s.subjects)) for kind in SUBJECT_KINDS}
    key: dict[str, tuple[str, ...]] = {}
    for kind in SUBJECT_KINDS:
        usual = USUAL_REPORTER[kind]
        other = next(c for c, health in services.items() if health != services[usual])  # reporter.health_service
        key[kind] = tuple(dict.fromkeys([usual, other, *named]))
    counts = {v for v in cuts.get("n_inv", ()) if isinstance(v, int)}
    named_involved = sorted(a[len(SERVICE_ATTR_PREFIX):] for a in cuts if a.startswith(SERVICE_ATTR_PREFIX))
    pool = [*named_involved, *(c for c in everyone if c not in named_involved and c not in USUAL_REPORTER.values())]
    involved = [tuple(pool[:n]) for n in sorted({0} | {c for c in counts if 0 < c <= len(pool)})]
    involved += [(code,) for code in named_involved if (code,) not in involved]
    consents = tuple(itertools.product(CONSENT_ANSWERS, CONSENT_ANSWERS[:4]))
    return Dimensions(ages, signals, tuple(services), key, consents, RESPONSIBILITIES, tuple(involved), tuple(local))


def sample_cases(*guides: Guide, dims: Dimensions | None = None) -> Iterator[tuple[str, Case]]:
    """The sample, each case with a label saying where it comes from (see the module's docstring)."""
    d = dims or dimensions(*guides)
    for kind in SUBJECT_KINDS:
        ages, signals, usual = d.ages[kind], d.signals[kind], USUAL_REPORTER[kind]
        # 1. the key reporters: every signal, strength and age; and levels 2 and 3 (the age turning)
        for reporter in d.key_reporters[kind]:
            for code, rank, age in itertools.product(signals, (1, 2, 3), ages):
                yield f"{code}@{rank} age {age} by {reporter}", _consented(kind, age, reporter, {code: rank})
            for (j, code), rank, level in itertools.product(enumerate(signals), (1, 2, 3), (1, 2)):
                age = ages[(j + rank + level) % len(ages)]
                yield (f"{code}@{rank} age {age} by {reporter}, level {level} not working",
                       _consented(kind, age, reporter, {code: rank}, current_level=level,
                                  measures_effective="no"))
        # 2. every reporter with every signal; the strength and the age turn
        for (i, reporter), (j, code) in itertools.product(enumerate(d.reporters), enumerate(signals)):
            rank, age = 1 + (i + j) % 3, ages[(i + 2 * j) % len(ages)]
            yield f"{code}@{rank} age {age} by {reporter}", _consented(kind, age, reporter, {code: rank})
        # 3. every consent combination, with and without a level whose measures did not work
        turn = itertools.cycle(itertools.product(signals, (2, 3)))
        for (parents, subject), responsibility, age in itertools.product(d.consents, d.responsibilities, ages):
            if parents == "partial" and responsibility != "shared":
                continue  # only one of two parents with shared responsibility can have said yes
            code, rank = next(turn)
            for current in (None, 1):
                yield (f"consent {parents}/{subject} {responsibility} age {age} {code}@{rank}"
                       + (", level 1 not working" if current else ""),
                       Case(kind, age, usual, {code: rank}, parental_responsibility=responsibility,
                            consent_parents=parents, consent_subject=subject, current_level=current,
                            measures_effective="no" if current else None))
        # 4. every status combination
        turn = itertools.cycle(itertools.product(signals, (1, 2, 3)))
        for current, measures, complex_needs, involved, age in itertools.product(
                LEVELS, MEASURES, (False, True), d.involved, ages):
            if current is None and measures is not None:
                continue  # whether measures work is asked of a current level only
            code, rank = next(turn)
            yield (f"level {current} measures {measures} complex {complex_needs} involved {len(involved)} "
                   f"age {age} {code}@{rank}",
                   _consented(kind, age, usual, {code: rank}, current_level=current, measures_effective=measures,
                              complex_long_term_needs=complex_needs,
                              services_involved=tuple(s for s in involved if s != usual)))


def _consented(kind: str, age: int, reporter: str, signals: dict[str, int], **status: Any) -> Case:
    """A case in which the parents and the subject have both consented."""
    return Case(kind, age, reporter, signals, consent_parents="given", consent_subject="given", **status)
