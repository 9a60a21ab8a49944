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
from rules.prepare import PreparedGuide
from rules.resolve import decide_level, first_hits, ladder_level, resolve

_LATER = {phase: {f.attr for f in FIELDS.values() if f.phase > phase} for phase in (1, 2)}


def _fired(prepared: PreparedGuide, names: list[str]) -> list[Rule]:
    rules, index = prepared.guide.rules, prepared.compiled.action_rules
    try:
        return [rules[index[name]] for name in names]
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
        phase1 = first_hits(_fired(prepared, session.assert_fact(fact)))
        ladder = ladder_level(phase1, case)
        required_from = next((r.then.consent_from for r in phase1 if r.then.consent_from), None)
        fact[PHASE_ATTR] = 2
        fact.update(fact_attributes({
            "decision.ladder_level": ladder,
            "decision.urgent": any(URGENT_STEPS & set(r.then.steps) for r in phase1),
            "decision.parents_suspected": any("parents_suspected" in r.then.sets for r in phase1),
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
    return resolve(guide, case, [*phase1, *phase2, *phase3], levels, required_from, lang, prepared.step_outputs)
