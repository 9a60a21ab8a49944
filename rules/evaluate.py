"""Evaluate one case in a guide: the engine decides which rules apply, phase by phase, in one
fresh engine state; :mod:`rules.resolve` merges what fired into the decision.

Phase 1 asserts the case; what fired gives the ladder level, whether the case is urgent,
whether the parents are suspected and whose consent is needed. Phase 2 asserts the case with
those derived facts (the pause, the consent gate, rules that depend on suspicion). Phase 3
asserts it with the decided level (steps per level, participation, actors, routing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rules.case import Case, case_fact
from rules.decision import Decision
from rules.errors import CaseError, EngineError
from rules.fields import NO_PARTY, PHASE_ATTR
from rules.model import LANGUAGES, URGENT_STEPS, Guide, Rule
from rules.pathway_resolve import check_step
from rules.resolve import decide_level, first_hits, ladder_level, resolve


def check_case(guide: Guide, case: Case) -> None:
    """What the request schema cannot know: the guide's age range and which signals fit."""
    s = guide.settings
    problems: list[tuple[str, str]] = []
    lo, hi = ((s.child_age_min, s.child_age_max) if case.subject_kind == "child"
              else (s.pregnant_age_min, s.pregnant_age_max))
    if not lo <= case.age <= hi:
        problems.append(("subject.age", f"{case.subject_kind} age must be {lo}–{hi} in this guide, not {case.age}"))
    for code in case.signals:
        info = guide.catalog.signals.get(code)
        if info and case.subject_kind not in info.subjects:
            problems.append((f"signals.{code}", f"{code} applies only to a {'/'.join(info.subjects)} subject"))
    if problems:
        raise CaseError(problems)


def _fired(guide: Guide, names: list[str]) -> list[Rule]:
    pathway = guide.compiled.pathway_rules
    try:
        return [guide.rules[guide.compiled.action_rules[name]] for name in names if name not in pathway]
    except KeyError as exc:
        raise EngineError(f"the engine fired an unknown rule {exc}") from None


@dataclass
class Trace:
    """How a decision came about: the fact asserted in each phase and the rules that fired on it."""

    facts: list[dict[str, Any]] = field(default_factory=list)
    fired: list[list[Rule]] = field(default_factory=list)


def evaluate(guide: Guide, case: Case, lang: str = "nb", trace: Trace | None = None) -> Decision:
    """Decide ``case`` under ``guide`` in language ``lang``; fill ``trace`` if given."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}")
    check_case(guide, case)
    fact: dict[str, Any] = case_fact(case, guide.catalog, guide.fact_template)
    with guide.engine.session() as session:
        fact[PHASE_ATTR] = 1
        names = session.assert_fact(fact)
        phase1 = first_hits(_fired(guide, names))
        # the pathway's step and deadline conditions that hold (decided with the phase-1 rules)
        held = frozenset(guide.compiled.pathway_rules[n] for n in names if n in guide.compiled.pathway_rules)
        check_step(guide, case, held)
        ladder = ladder_level(phase1, case)
        required_from = next((r.then.consent_from for r in phase1 if r.then.consent_from), None)
        urgent = any(URGENT_STEPS & set(r.then.steps) for r in phase1)
        suspected = any("parents_suspected" in r.then.sets for r in phase1)
        fact.update({
            PHASE_ATTR: 2,
            "d_ladder": ladder,
            "d_urgent": int(urgent),
            "d_susp": int(suspected),
            "c_from": required_from or NO_PARTY,
            "c_ans": case.consent_answer(required_from),
        })
        phase2 = first_hits(_fired(guide, session.assert_fact(fact)))
        levels = decide_level(ladder, [*phase1, *phase2])
        fact.update({PHASE_ATTR: 3, "d_level": levels.decided})
        phase3 = first_hits(_fired(guide, session.assert_fact(fact)))
    if trace is not None:
        phase1_fact = {k: v for k, v in fact.items() if k not in ("d_ladder", "d_urgent", "d_susp", "c_from",
                                                                   "c_ans", "d_level")}
        phase2_fact = {k: v for k, v in fact.items() if k != "d_level"}
        trace.facts = [dict(phase1_fact, t=1), dict(phase2_fact, t=2), dict(fact)]
        trace.fired = [phase1, phase2, phase3]
    return resolve(guide, case, [*phase1, *phase2, *phase3], levels, required_from, lang,
                   held, paused=urgent or suspected)
