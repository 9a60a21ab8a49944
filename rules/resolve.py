"""Merge the outcomes of the rules that fired into one decision (docs/api.md, Response;
docs/national-guide.md).

The rules decide *what* applies; this module applies the fixed merge semantics:
the highest level called for, then the caps (pause, consent gate); forbidden actions remove the
steps they forbid; steps only for the subjects and ages they fit; steps in the catalog's order,
each once, with text and legal basis in the response language; actors de-duplicated and ordered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from operator import attrgetter
from typing import TypeVar

from rules.case import Case
from rules.decision import ActorOut, ConsentOut, Decision, ExplanationOut, ForbiddenOut, PathwayOut, StepOut
from rules.model import (
    INVOLVED_REF,
    REPORTER_REF,
    ROLES,
    URGENT_STEPS,
    ActorRef,
    Catalog,
    Guide,
    LevelCall,
    Rule,
    StepInfo,
)
from rules.pathway_resolve import contact_out, resolve_pathway


@dataclass(frozen=True)
class Levels:
    """The level reasoning of one case: what the rules called for and what was decided."""

    ladder: int
    decided: int
    blocks_level: int | None


_order = attrgetter("order")


def first_hits(fired: Iterable[Rule]) -> list[Rule]:
    """Keep, of each ``hit: first`` group, only the first rule (in file order) that fired."""
    kept: list[Rule] = []
    seen_groups: set[tuple[str, str]] = set()
    for rule in sorted(fired, key=_order):
        if rule.first_hit:
            key = (rule.guide, rule.group)
            if key in seen_groups:
                continue
            seen_groups.add(key)
        kept.append(rule)
    return kept


def ladder_level(calls: Iterable[LevelCall], case: Case) -> int:
    """The highest level the fired rules' level ``calls`` come to for the case (0 when there is none)."""
    return max((call.resolve(case.current_level) for call in calls), default=0)


K = TypeVar("K")
V = TypeVar("V")


def keep(table: dict[K, V], key: K, value: V, limit: int) -> V:
    """Put ``value`` in a bounded table kept between decisions (emptied when it holds ``limit``)."""
    if len(table) >= limit:
        table.clear()
    table[key] = value
    return value


def decide_level(ladder: int, fired: Iterable[Rule]) -> Levels:
    """Apply the caps (``level_at_most``) of the fired rules to the ladder's level."""
    level, blocked = ladder, None
    for rule in fired:
        cap = rule.then.level_at_most
        if cap is None:
            continue
        if rule.then.blocks_level and ladder > cap:
            blocked = ladder
        level = min(level, cap)
    return Levels(ladder, level, blocked)


def _fits(step: StepInfo, case: Case) -> bool:
    if case.subject_kind not in step.subjects:
        return False
    return step.min_age is None or case.age >= step.min_age


_ROLE_RANK = {role: i for i, role in enumerate(ROLES)}


def resolve_actors(refs: Iterable[ActorRef], steps: Iterable[str], case: Case, catalog: Catalog,
                   order: Mapping[str, int]) -> list[tuple[str, str]]:
    """The (service, role) pairs of the decision from the fired rules' actors (``refs``) and the
    steps given, in role order then ``order``, the catalog's order of services."""
    pairs: list[tuple[str, str]] = []
    for ref in refs:
        if ref.service == REPORTER_REF:
            pairs.append((case.reporter, ref.role))
        elif ref.service == INVOLVED_REF:
            pairs.extend((s, ref.role) for s in case.services_involved)
        else:
            pairs.append((ref.service, ref.role))
    pairs.extend((a.service, a.role) for a in (catalog.steps[s].actor for s in steps) if a)
    holders = {s for s, role in pairs if role == "relay_holder"}
    kept = {
        (s, role) for s, role in pairs
        if not (role == "reporter" and s in holders)
        and not (role == "involve" and (s in holders or s == case.reporter))
    }
    last = len(order)
    return sorted(kept, key=lambda p: (_ROLE_RANK[p[1]], order.get(p[0], last)))


@dataclass(frozen=True, eq=False)
class Merged:
    """What a set of fired rules gives before the case's own parts are applied: their steps less
    the forbidden ones (in the catalog's order; which fit the subject is the case's part), the
    forbidden actions, the rules in explanation order and their actors. A function of the fired
    rules alone, so an evaluation keeps it by them (rules.evaluate)."""

    steps: tuple[str, ...]
    forbidden: tuple[str, ...]
    explained: tuple[Rule, ...]
    actors: tuple[ActorRef, ...]


def merge(fired: Sequence[Rule], outputs: Outputs) -> Merged:
    """The case-independent part of :func:`resolve` for ``fired``."""
    codes = {code for r in fired for code in r.then.steps}
    forbidden = {f for r in fired for f in r.then.forbidden}
    removed = {step for f in forbidden for step in outputs.catalog.forbidden[f].removes}
    key = outputs.explanation_key
    return Merged(
        steps=tuple(sorted(codes - removed, key=outputs.step_order.__getitem__)),
        forbidden=tuple(sorted(forbidden, key=outputs.forbidden_order.__getitem__)),
        explained=tuple(sorted(fired, key=lambda r: key[r.id])),
        actors=tuple(a for r in fired for a in r.then.actors),
    )


def fitting_steps(merged: Merged, case: Case, catalog: Catalog) -> list[str]:
    """The merged steps that fit the case's subject (its kind, its age), less those dropped by
    another step given, in the catalog's order."""
    steps = catalog.steps
    fit = [c for c in merged.steps if _fits(steps[c], case)]
    given = set(fit)
    return [c for c in fit if given.isdisjoint(steps[c].dropped_when)]


def matched_signals(rule: Rule, case: Case) -> tuple[str, ...]:
    found: list[str] = []
    for test in rule.signal_tests:
        codes = case.signals if test.codes is None else test.codes
        found.extend(c for c in codes if case.signals.get(c, 0) in test.ranks)
    return tuple(dict.fromkeys(found))


class Outputs:
    """A guide's response entries, made once and reused by every decision (a prepared guide keeps
    one): what depends only on the guide and the language is looked up, what depends on the case
    too is kept under a key of exactly the parts of the case it depends on.

    A step entry depends on the reporter and (rarely) the signals a statute applies to; an actor on
    its service and role; an explanation entry on the signals that matched; the pathway on the
    level, the reporter, the subject's kind, the pathway conditions that hold and, at the case's own
    level, its step; the list of actors on the merged rules, the steps, the reporter and the
    services involved. The case-keyed tables are bounded (``LIMIT`` entries each, emptied when full)."""

    LIMIT = 4096

    def __init__(self, guide: Guide) -> None:
        self._guide = guide
        self.catalog, self._settings, self._pathway = guide.catalog, guide.settings, guide.pathway
        self._steps: dict[tuple[str, str, str, tuple[str, ...]], StepOut] = {}
        self._actors: dict[tuple[str, str, str], ActorOut] = {}
        self._forbidden: dict[tuple[str, str], ForbiddenOut] = {}
        self._explained: dict[tuple[str, str, tuple[str, ...]], ExplanationOut] = {}
        self._pathways: dict[tuple[object, ...], PathwayOut] = {}
        self._actor_lists: dict[tuple[object, ...], tuple[ActorOut, ...]] = {}
        self.explanation_key = {r.id: r.explanation_key for r in guide.rules}
        self.step_order = {code: info.order for code, info in self.catalog.steps.items()}
        self.forbidden_order = {code: info.order for code, info in self.catalog.forbidden.items()}
        self.service_order = {code: i for i, code in enumerate(self.catalog.services)}

    def step(self, code: str, case: Case, lang: str) -> StepOut:
        info = self.catalog.steps[code]
        by_signal = tuple(b for signals, bases in info.legal_basis_by_signal
                          if any(s in case.signals for s in signals) for b in bases) \
            if info.legal_basis_by_signal else ()
        key = (code, case.reporter, lang, by_signal)
        found = self._steps.get(key)
        if found is None:
            found = self._steps[key] = self._make_step(info, case.reporter, lang, by_signal)
        return found

    def _make_step(self, info: StepInfo, reporter: str, lang: str, by_signal: tuple[str, ...]) -> StepOut:
        service = self.catalog.services.get(reporter)
        basis = list(info.legal_basis)
        for name in [reporter, *(["health"] if service and service.health else [])]:
            basis.extend(b for b in info.legal_basis_by_reporter.get(name, ()) if b not in basis)
        basis.extend(b for b in dict.fromkeys(by_signal) if b not in basis)
        due = 0 if info.due == "today" else (self._settings.value(info.due_setting) if info.due_setting else None)
        contact = self._pathway.contact_for(info.code, info.actor.service if info.actor else None)
        return StepOut(info.code, info.kind, info.label.in_lang(lang), info.text.in_lang(lang), tuple(basis), due,
                       info.guidance, contact_out(contact, lang))

    def actor(self, service: str, role: str, lang: str) -> ActorOut:
        key = (service, role, lang)
        found = self._actors.get(key)
        if found is None:
            title = self._settings.relay_holder_titles.get(service) if role == "relay_holder" else None
            label = title or self.catalog.services[service].label
            found = self._actors[key] = ActorOut(service, role, label.in_lang(lang))
        return found

    def actors(self, merged: Merged, steps: Sequence[str], case: Case, lang: str) -> tuple[ActorOut, ...]:
        """The decision's actor entries: from the merged rules' actors and the steps given, with
        the case's reporter and services involved (:func:`resolve_actors`)."""
        key = (merged, tuple(steps), case.reporter, case.services_involved, lang)
        found = self._actor_lists.get(key)
        if found is None:
            pairs = resolve_actors(merged.actors, steps, case, self.catalog, self.service_order)
            found = keep(self._actor_lists, key, tuple(self.actor(s, r, lang) for s, r in pairs), self.LIMIT)
        return found

    def forbidden(self, code: str, lang: str) -> ForbiddenOut:
        found = self._forbidden.get((code, lang))
        if found is None:
            info = self.catalog.forbidden[code]
            found = self._forbidden[code, lang] = ForbiddenOut(
                code, info.label.in_lang(lang), info.text.in_lang(lang), info.legal_basis, info.guidance)
        return found

    def explanation(self, rule: Rule, case: Case, lang: str) -> ExplanationOut:
        signals = matched_signals(rule, case) if rule.signal_tests else ()
        key = (rule.id, lang, signals)
        found = self._explained.get(key)
        if found is None:
            found = keep(self._explained, key, ExplanationOut(rule.id, rule.title.in_lang(lang),
                                                              rule.because.in_lang(lang), signals), self.LIMIT)
        return found

    def pathway(self, case: Case, held: Set[int], level: int, paused: bool, lang: str) -> PathwayOut:
        at_step = case.step if case.current_level == level else None
        key = (level, paused, lang, case.reporter, case.subject_kind, held, at_step)
        found = self._pathways.get(key)
        if found is None:
            found = keep(self._pathways, key, resolve_pathway(self._guide, case, held, level, paused, lang), self.LIMIT)
        return found


def resolve(guide: Guide, case: Case, fired: Sequence[Rule], levels: Levels, required_from: str | None,
            lang: str, outputs: Outputs | None = None, held: Set[int] = frozenset(),
            paused: bool = False, merged: Merged | None = None) -> Decision:
    """The decision from the rules that ``fired``; ``outputs`` reuses the entries made before (the
    guide's :class:`Outputs`); ``held`` are the pathway conditions that hold for the case,
    ``paused`` whether rule 7's condition holds (urgent, or parents suspected: the pathway waits);
    ``merged``: :func:`merge` of ``fired``, when the caller keeps it."""
    catalog = guide.catalog
    made = outputs or Outputs(guide)
    if merged is None:
        merged = merge(fired, made)
    steps = fitting_steps(merged, case, catalog)
    answer = case.consent_answer(required_from)
    return Decision(
        municipality=guide.id, version=guide.version, digest=guide.digest, status=guide.status, lang=lang,
        level=levels.decided, level_name=guide.level_name(levels.decided, lang),
        urgent=not URGENT_STEPS.isdisjoint(steps),
        actors=made.actors(merged, steps, case, lang),
        steps=tuple(made.step(c, case, lang) for c in steps),
        forbidden=tuple(made.forbidden(f, lang) for f in merged.forbidden),
        consent=ConsentOut(required_from, answer == "given", levels.blocks_level),
        explanation=tuple(made.explanation(r, case, lang) for r in merged.explained),
        pathway=made.pathway(case, held, levels.decided, paused, lang),
    )
