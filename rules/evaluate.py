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

from rules.case import Case, case_changes
from rules.decision import Decision
from rules.errors import EngineError
from rules.fields import FIELDS, PHASE_ATTR, fact_attributes
from rules.model import LANGUAGES, URGENT_STEPS, LevelCall, Rule
from rules.pathway_resolve import check_step
from rules.prepare import PreparedGuide
from rules.resolve import Merged, decide_level, first_hits, keep, ladder_level, merge, resolve

_LATER = {phase: {f.attr for f in FIELDS.values() if f.phase > phase} for phase in (1, 2)}


def _fired(prepared: PreparedGuide, names: list[str]) -> list[Rule]:
    rules, index, pathway = prepared.guide.rules, prepared.compiled.action_rules, prepared.compiled.pathway_rules
    try:
        return [rules[index[name]] for name in names if name not in pathway]
    except KeyError as exc:
        raise EngineError(f"the engine fired an unknown rule {exc}") from None


@dataclass(frozen=True, eq=False)  # compared by identity: a key of the merged outcome
class Hits:
    """What the rules one phase fired mean for the case: the rules kept (``hit: first`` applied),
    and what the next phases need from them. A function of the fired rules' names alone, so each
    prepared guide keeps it by those names (a decision looks it up instead of working it out)."""

    rules: tuple[Rule, ...]
    held: frozenset[int]  # the pathway conditions that hold (phase 1)
    levels: tuple[LevelCall, ...]  # the levels the rules call for
    consent_from: str | None  # whose consent the first rule that says so requires
    urgent: bool  # a rule gives an urgent step
    suspected: bool  # a rule sets parents_suspected


HITS_LIMIT = 4096  # entries of each table per prepared guide; emptied when full


def _hits(prepared: PreparedGuide, phase: int, names: list[str]) -> Hits:
    key = (phase, tuple(names))
    found = prepared.hits.get(key)
    if found is None:
        rules = tuple(first_hits(_fired(prepared, names)))
        pathway = prepared.compiled.pathway_rules
        found = keep(prepared.hits, key, Hits(
            rules=rules,
            held=frozenset(pathway[n] for n in names if n in pathway),
            levels=tuple(r.then.level for r in rules if r.then.level is not None),
            consent_from=next((r.then.consent_from for r in rules if r.then.consent_from), None),
            urgent=any(not URGENT_STEPS.isdisjoint(r.then.steps) for r in rules),
            suspected=any("parents_suspected" in r.then.sets for r in rules),
        ), HITS_LIMIT)
    return found


def _merged(prepared: PreparedGuide, hits: tuple[Hits, Hits, Hits], fired: list[Rule]) -> Merged:
    """:func:`rules.resolve.merge` of the rules the three phases kept, by their hits."""
    found = prepared.merged.get(hits)
    if found is None:
        found = keep(prepared.merged, hits, merge(fired, prepared.outputs), HITS_LIMIT)
    return found


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
    # the case's attributes that are not at the template's value: the engine fills in the rest
    fact: dict[str, Any] = case_changes(case, guide.catalog)
    with prepared.engine.session() as session:
        fact[PHASE_ATTR] = 1
        first = _hits(prepared, 1, session.assert_fact(fact))
        phase1 = first.rules
        # the pathway's step and deadline conditions that hold (decided with the phase-1 rules)
        held = first.held
        check_step(guide, case, held)
        ladder = ladder_level(first.levels, case)
        required_from, urgent, suspected = first.consent_from, first.urgent, first.suspected
        fact[PHASE_ATTR] = 2
        fact.update(fact_attributes({
            "decision.ladder_level": ladder,
            "decision.urgent": urgent,
            "decision.parents_suspected": suspected,
            "consent.required_from": required_from,
            "consent.answer": case.consent_answer(required_from),
        }))
        second = _hits(prepared, 2, session.assert_fact(fact))
        phase2 = second.rules
        levels = decide_level(ladder, [*phase1, *phase2])
        fact[PHASE_ATTR] = 3
        fact.update(fact_attributes({"decision.level": levels.decided}))
        third = _hits(prepared, 3, session.assert_fact(fact))
        phase3 = third.rules
    if trace is not None:
        fact = {**prepared.fact_template, **fact}
        trace.facts = [{k: v for k, v in fact.items() if k not in _LATER[1]} | {PHASE_ATTR: 1},
                       {k: v for k, v in fact.items() if k not in _LATER[2]} | {PHASE_ATTR: 2}, fact]
        trace.fired = [list(phase1), list(phase2), list(phase3)]
    fired = [*phase1, *phase2, *phase3]
    return resolve(guide, case, fired, levels, required_from, lang, prepared.outputs, held,
                   paused=urgent or suspected, merged=_merged(prepared, (first, second, third), fired))
