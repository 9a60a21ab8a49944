"""Merge the outcomes of the rules that fired into one decision (docs/api.md, Response;
docs/national-guide.md).

The rules decide *what* applies; this module applies the fixed merge semantics:
the highest level called for, then the caps (pause, consent gate); forbidden actions remove the
steps they forbid; steps only for the subjects and ages they fit; steps in the catalog's order,
each once, with text and legal basis in the response language; actors de-duplicated and ordered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass

from rules.case import Case
from rules.decision import ActorOut, ConsentOut, Decision, ExplanationOut, ForbiddenOut, StepOut
from rules.model import INVOLVED_REF, REPORTER_REF, ROLES, URGENT_STEPS, Catalog, Guide, Rule, StepInfo
from rules.pathway_resolve import contact_out, resolve_pathway


@dataclass(frozen=True)
class Levels:
    """The level reasoning of one case: what the rules called for and what was decided."""

    ladder: int
    decided: int
    blocks_level: int | None


def first_hits(fired: Iterable[Rule]) -> list[Rule]:
    """Keep, of each ``hit: first`` group, only the first rule (in file order) that fired."""
    kept: list[Rule] = []
    seen_groups: set[tuple[str, str]] = set()
    for rule in sorted(fired, key=lambda r: r.order):
        if rule.first_hit:
            key = (rule.guide, rule.group)
            if key in seen_groups:
                continue
            seen_groups.add(key)
        kept.append(rule)
    return kept


def ladder_level(fired: Iterable[Rule], case: Case) -> int:
    """The highest level the fired rules call for (0 when none does)."""
    called = [r.then.level.resolve(case.current_level) for r in fired if r.then.level is not None]
    return max(called, default=0)


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


def resolve_steps(fired: Sequence[Rule], case: Case, catalog: Catalog) -> list[str]:
    codes = {code for r in fired for code in r.then.steps}
    removed = {step for r in fired for f in r.then.forbidden for step in catalog.forbidden[f].removes}
    codes = {c for c in codes if c not in removed and _fits(catalog.steps[c], case)}
    codes = {c for c in codes if not set(catalog.steps[c].dropped_when) & codes}
    return sorted(codes, key=lambda c: catalog.steps[c].order)


def resolve_actors(fired: Sequence[Rule], steps: Iterable[str], case: Case, catalog: Catalog) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for ref in [a for r in fired for a in r.then.actors]:
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
    order = {code: i for i, code in enumerate(catalog.services)}
    return sorted(kept, key=lambda p: (ROLES.index(p[1]), order.get(p[0], len(order))))


def matched_signals(rule: Rule, case: Case) -> tuple[str, ...]:
    found: list[str] = []
    for test in rule.signal_tests:
        codes = case.signals if test.codes is None else test.codes
        found.extend(c for c in codes if case.signals.get(c, 0) in test.ranks)
    return tuple(dict.fromkeys(found))


def _explanation_key(rule: Rule) -> tuple[int, int, int]:
    return rule.explanation_key


class StepOutputs:
    """A decision's step entries: each depends only on the guide, the reporter, the language and
    (rarely) the signals a statute applies to, so it is made once and then reused by every
    decision (a prepared guide keeps one)."""

    def __init__(self, guide: Guide) -> None:
        self._catalog, self._settings, self._pathway = guide.catalog, guide.settings, guide.pathway
        self._made: dict[tuple[str, str, str, tuple[str, ...]], StepOut] = {}

    def get(self, code: str, case: Case, lang: str) -> StepOut:
        info = self._catalog.steps[code]
        by_signal = tuple(b for signals, bases in info.legal_basis_by_signal
                          if any(s in case.signals for s in signals) for b in bases)
        key = (code, case.reporter, lang, by_signal)
        found = self._made.get(key)
        if found is None:
            found = self._made[key] = self._make(info, case.reporter, lang, by_signal)
        return found

    def _make(self, info: StepInfo, reporter: str, lang: str, by_signal: tuple[str, ...]) -> StepOut:
        service = self._catalog.services.get(reporter)
        basis = list(info.legal_basis)
        for name in [reporter, *(["health"] if service and service.health else [])]:
            basis.extend(b for b in info.legal_basis_by_reporter.get(name, ()) if b not in basis)
        basis.extend(b for b in dict.fromkeys(by_signal) if b not in basis)
        due = 0 if info.due == "today" else (self._settings.value(info.due_setting) if info.due_setting else None)
        contact = self._pathway.contact_for(info.code, info.actor.service if info.actor else None)
        return StepOut(info.code, info.kind, info.label.in_lang(lang), info.text.in_lang(lang), tuple(basis), due,
                       info.guidance, contact_out(contact, lang))


def resolve(guide: Guide, case: Case, fired: Sequence[Rule], levels: Levels, required_from: str | None,
            lang: str, steps_made: StepOutputs | None = None, held: Set[int] = frozenset(),
            paused: bool = False) -> Decision:
    """The decision from the rules that ``fired``; ``steps_made`` reuses step entries made before;
    ``held`` are the pathway conditions that hold for the case, ``paused`` whether rule 7's
    condition holds (urgent, or parents suspected: the pathway waits)."""
    catalog, settings = guide.catalog, guide.settings
    steps = resolve_steps(fired, case, catalog)
    forbidden = sorted({f for r in fired for f in r.then.forbidden}, key=lambda f: catalog.forbidden[f].order)
    made = steps_made or StepOutputs(guide)

    def actor_out(service: str, role: str) -> ActorOut:
        title = settings.relay_holder_titles.get(service) if role == "relay_holder" else None
        label = title or catalog.services[service].label
        return ActorOut(service, role, label.in_lang(lang))

    explained = sorted(fired, key=_explanation_key)
    answer = case.consent_answer(required_from)
    return Decision(
        municipality=guide.id, version=guide.version, digest=guide.digest, status=guide.status, lang=lang,
        level=levels.decided, level_name=guide.level_name(levels.decided, lang),
        urgent=bool(URGENT_STEPS & set(steps)),
        actors=tuple(actor_out(s, r) for s, r in resolve_actors(fired, steps, case, catalog)),
        steps=tuple(made.get(c, case, lang) for c in steps),
        forbidden=tuple(
            ForbiddenOut(f, catalog.forbidden[f].label.in_lang(lang), catalog.forbidden[f].text.in_lang(lang),
                         catalog.forbidden[f].legal_basis, catalog.forbidden[f].guidance)
            for f in forbidden
        ),
        consent=ConsentOut(required_from, answer == "given", levels.blocks_level),
        explanation=tuple(
            ExplanationOut(r.id, r.title.in_lang(lang), r.because.in_lang(lang), matched_signals(r, case))
            for r in explained
        ),
        pathway=resolve_pathway(guide, case, held, levels.decided, paused, lang),
    )
