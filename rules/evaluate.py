"""Evaluate one case in a prepared guide: the engine decides which rules apply, phase by phase,
in one engine session; :mod:`rules.resolve` merges what fired into the decision.

Phase 1 asserts the case; what fired gives the ladder level, whether the case is urgent,
whether the parents are suspected and whose consent is needed. Phase 2 asserts the case with
those derived facts (the pause, the consent gate, rules that depend on suspicion). Phase 3
asserts it with the decided level (steps per level, participation, actors, routing).

The case is taken as valid: the request schema (schemas.request) is where a request is checked
against the guide (its age range, which signals fit the subject).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rules.case import Case, case_fact
from rules.decision import Decision
from rules.errors import EngineError
from rules.fields import FIELDS, PHASE_ATTR, fact_attributes
from rules.model import LANGUAGES, URGENT_STEPS, Rule
from rules.pathway_resolve import check_step
from rules.prepare import PreparedGuide
from rules.resolve import decide_level, first_hits, ladder_level, resolve

_LATER = {phase: {f.attr for f in FIELDS.values() if f.phase > phase} for phase in (1, 2)}


def _fired(prepared: PreparedGuide, names: list[str]) -> list[Rule]:
    rules, index, pathway = prepared.guide.rules, prepared.compiled.action_rules, prepared.compiled.pathway_rules
    try:
        return [rules[index[name]] for name in names if name not in pathway]
    except KeyError as exc:
        raise EngineError(f"the engine fired an unknown rule {exc}") from None


@dataclass
class Trace:
    """How a decision came about: the fact asserted in each phase and the rules that fired on it."""

    facts: list[dict[str, Any]] = field(default_factory=list)
    fired: list[list[Rule]] = field(default_factory=list)


def evaluate(prepared: PreparedGuide, case: Case, lang: str = "nb", trace: Trace | None = None) -> Decision:
    """Decide ``case`` under the prepared guide in language ``lang``; fill ``trace`` if given."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}")
    guide = prepared.guide
    fact: dict[str, Any] = case_fact(case, guide.catalog, prepared.fact_template)
    with prepared.engine.session() as session:
        fact[PHASE_ATTR] = 1
        names = session.assert_fact(fact)
        phase1 = first_hits(_fired(prepared, names))
        # the pathway's step and deadline conditions that hold (decided with the phase-1 rules)
        pathway_rules = prepared.compiled.pathway_rules
        held = frozenset(pathway_rules[n] for n in names if n in pathway_rules)
        check_step(guide, case, held)
        ladder = ladder_level(phase1, case)
        required_from = next((r.then.consent_from for r in phase1 if r.then.consent_from), None)
        urgent = any(not URGENT_STEPS.isdisjoint(r.then.steps) for r in phase1)
        suspected = any("parents_suspected" in r.then.sets for r in phase1)
        fact[PHASE_ATTR] = 2
        fact.update(fact_attributes({
            "decision.ladder_level": ladder,
            "decision.urgent": urgent,
            "decision.parents_suspected": suspected,
            "consent.required_from": required_from,
            "consent.answer": case.consent_answer(required_from),
        }))
        phase2 = first_hits(_fired(prepared, session.assert_fact(fact)))
        levels = decide_level(ladder, [*phase1, *phase2])
        fact[PHASE_ATTR] = 3
        fact.update(fact_attributes({"decision.level": levels.decided}))
        phase3 = first_hits(_fired(prepared, session.assert_fact(fact)))
    if trace is not None:
        trace.facts = [{k: v for k, v in fact.items() if k not in _LATER[1]} | {PHASE_ATTR: 1},
                       {k: v for k, v in fact.items() if k not in _LATER[2]} | {PHASE_ATTR: 2}, dict(fact)]
        trace.fired = [phase1, phase2, phase3]
    return resolve(guide, case, [*phase1, *phase2, *phase3], levels, required_from, lang, prepared.outputs,
                   held, paused=urgent or suspected)
