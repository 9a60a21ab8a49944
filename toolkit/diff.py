"""What an edit to a guide changes: decide the same cases under two versions and group the
decisions that differ by the field that changed and by the rule responsible."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from rules.case import Case
from rules.errors import StepError
from rules.evaluate import evaluate
from rules.messages import field_path, flatten
from rules.model import Catalog, Guide, Rule
from rules.prepare import PreparedGuide
from toolkit.scenarios import case_request, decision_summary, discover_in, parse_request

FIELDS = ("level", "steps", "actors", "forbidden", "consent", "urgent", "pathway")
PATHWAY_EDIT = "(pathway.yaml: steps, deadlines or conditions)"
CHILD_AGES = (2, 3, 5, 6, 7, 11, 12, 14, 15, 16, 17, 18, 19, 20, 23, 24, 25)
PREGNANT_AGES = (14, 15, 16, 17, 18, 30)


@dataclass(frozen=True)
class Change:
    label: str  # where the case came from
    case: Case
    fields: tuple[str, ...]
    old: dict[str, Any]
    new: dict[str, Any]
    rules: tuple[str, ...]  # the rules responsible


@dataclass
class DiffResult:
    old: Guide
    new: Guide
    compared: int = 0
    from_scenarios: int = 0
    changes: list[Change] = field(default_factory=list)
    changed_rules: tuple[str, ...] = ()
    changed_steps: tuple[str, ...] = ()  # pathway steps added, removed or edited

    def by_field(self) -> dict[str, list[Change]]:
        out: dict[str, list[Change]] = defaultdict(list)
        for change in self.changes:
            for name in change.fields:
                out[name].append(change)
        return dict(out)

    def by_rule(self) -> dict[str, list[Change]]:
        out: dict[str, list[Change]] = defaultdict(list)
        for change in self.changes:
            fallback = PATHWAY_EDIT if change.fields == ("pathway",) else "(no rule: texts, settings or catalog)"
            for rule in change.rules or (fallback,):
                out[rule].append(change)
        return dict(out)


def _ages(guide: Guide, kind: str) -> list[int]:
    s = guide.settings
    lo, hi = (s.child_age_min, s.child_age_max) if kind == "child" else (s.pregnant_age_min, s.pregnant_age_max)
    return [a for a in (CHILD_AGES if kind == "child" else PREGNANT_AGES) if lo <= a <= hi]


def sample_cases(guide: Guide) -> Iterator[tuple[str, Case]]:
    """A systematic sample: every signal at every strength across the age thresholds, then with
    a current level that did not work and with each consent answer, and consent edge cases."""
    signals = guide.catalog.signals.values()
    for kind in ("child", "pregnant"):
        reporter = "school" if kind == "child" else "gp"
        fitting = [s.code for s in signals if kind in s.subjects]
        for code, rank, age in itertools.product(fitting, (1, 2, 3), _ages(guide, kind)):
            yield f"{code}@{rank} age {age}", Case(kind, age, reporter, {code: rank}, consent_parents="given",
                                                    consent_subject="given")
        for code, rank in itertools.product(fitting, (2, 3)):
            for age, level, consent in itertools.product(_ages(guide, kind)[5:8], (1, 2), ("not_asked", "given")):
                yield (f"{code}@{rank} age {age} level {level} no, consent {consent}",
                       Case(kind, age, reporter, {code: rank}, consent_parents=consent, consent_subject=consent,
                            current_level=level, measures_effective="no"))
    for age, answer, responsibility in itertools.product(
            _ages(guide, "child"), ("not_asked", "given", "refused", "withdrawn", "partial"),
            ("shared", "one_parent", "child_welfare")):
        if answer == "partial" and responsibility != "shared":
            continue
        yield (f"consent {answer}/{responsibility} age {age}",
               Case("child", age, "school", {"school_absence": 2}, parental_responsibility=responsibility,
                    consent_parents=answer, consent_subject=answer if answer != "partial" else "given",
                    current_level=1, measures_effective="no"))


def _decide(prepared: PreparedGuide, case: Case, check: bool) -> tuple[dict[str, Any], set[str]]:
    """The decision's summary and the rules that fired; with ``check``, first whether the guide's
    request schema accepts the case (one version may refuse what the other accepts)."""
    if check:
        try:
            parse_request(prepared.guide, case_request(case))
        except ValidationError as exc:
            return {"refused": sorted({field_path(p) for p, _, _ in flatten(exc.messages)})}, set()
    try:
        decision = evaluate(prepared, case)
    except StepError as exc:
        return {"refused": [exc.field]}, set()
    summary = decision_summary(decision)
    return {k: summary[k] for k in FIELDS}, {e.rule for e in decision.explanation}


def _touches(rule: Rule, name: str, catalog: Catalog) -> bool:
    """Whether ``rule``'s outcome can change the decision field ``name``."""
    out = rule.then
    levels = out.level is not None or out.level_at_most is not None
    return {
        "level": levels,
        "steps": bool(out.steps or out.forbidden) or levels,
        "actors": bool(out.actors or any(catalog.steps[s].actor for s in out.steps)) or levels,
        "forbidden": bool(out.forbidden),
        "consent": out.consent_from is not None or out.blocks_level,
        "urgent": bool(out.steps),
    }.get(name, True)


def _edited_rules(old: Guide, new: Guide) -> set[str]:
    def key(rule: Rule) -> tuple[Any, ...]:
        return rule.when, rule.then, rule.first_hit, rule.group

    old_rules, new_rules = {r.id: r for r in old.rules}, {r.id: r for r in new.rules}
    edited = {i for i in old_rules.keys() & new_rules.keys() if key(old_rules[i]) != key(new_rules[i])}
    return edited | (old_rules.keys() ^ new_rules.keys())


def _edited_steps(old: Guide, new: Guide) -> set[str]:
    """Pathway steps added, removed or changed, as ``level/id``."""
    def steps(guide: Guide) -> dict[str, Any]:
        return {f"{s.level}/{s.id}": (s.number, s.title, s.text, s.who, s.due_days, s.due_from,
                                      [(d.days, d.when) for d in s.deadlines], s.tools, s.outcomes, s.when)
                for s in guide.pathway.steps()}

    before, after = steps(old), steps(new)
    return {k for k in before.keys() & after.keys() if before[k] != after[k]} | (before.keys() ^ after.keys())


def _scenario_cases(guide: Guide, scenarios_dir: Path | None) -> Iterator[tuple[str, Any]]:
    if scenarios_dir is None or not scenarios_dir.is_dir():
        return
    for scenario in discover_in(scenarios_dir, guide.id):
        yield f"{scenario.file}:{scenario.line} {scenario.note}", scenario.request


def diff_guides(old_prepared: PreparedGuide, new_prepared: PreparedGuide,
                scenarios_dir: Path | None = None) -> DiffResult:
    """Decide the scenario requests of the new version and a sample of generated cases (all valid
    under the new version) under both versions, and list the decisions that differ."""
    old, new = old_prepared.guide, new_prepared.guide
    result = DiffResult(old, new)
    edited = _edited_rules(old, new)
    result.changed_rules = tuple(sorted(edited))
    result.changed_steps = tuple(sorted(_edited_steps(old, new)))
    cases: list[tuple[str, Case]] = []
    for label, request in _scenario_cases(new, scenarios_dir):
        try:
            cases.append((label, parse_request(new, request)))
            result.from_scenarios += 1
        except ValidationError:
            continue  # a refused request decides nothing to compare
    cases.extend(sample_cases(new))
    # The request schema checks a case against the guide's catalog and settings: where the two
    # versions have the same, what the new one accepts the old one accepts too.
    check_old = old.catalog != new.catalog or old.settings != new.settings
    seen: set[str] = set()
    for label, case in cases:
        key = repr(case)
        if key in seen:
            continue
        seen.add(key)
        result.compared += 1
        before, fired_old = _decide(old_prepared, case, check_old)
        after, fired_new = _decide(new_prepared, case, False)
        if before == after:
            continue
        changed = tuple(f for f in (*FIELDS, "refused") if before.get(f) != after.get(f))
        both = {r.id: r for r in (*old.rules, *new.rules)}
        edited_and_fired = {r for r in (fired_old | fired_new) & edited
                            if any(_touches(both[r], f, new.catalog) for f in changed)}
        responsible = (fired_old ^ fired_new) | edited_and_fired
        result.changes.append(Change(label, case, changed, before, after, tuple(sorted(responsible))))
    return result


def format_diff(result: DiffResult, examples: int = 3) -> str:
    old, new = result.old, result.new
    lines = [f"{old.id} {old.version} ({old.digest[:19]}…) → {new.id} {new.version} ({new.digest[:19]}…)",
             f"rules added, removed or edited: {', '.join(result.changed_rules) or 'none'}",
             f"pathway steps added, removed or edited: {', '.join(result.changed_steps) or 'none'}",
             f"{result.compared} cases compared ({result.from_scenarios} from scenarios, the rest generated): "
             f"{len(result.changes)} decisions change"]
    if not result.changes:
        return "\n".join(lines)
    lines.append("")
    lines.append("by field:")
    for name, changes in sorted(result.by_field().items()):
        lines.append(f"  {name}: {len(changes)} cases")
        for change in changes[:examples]:
            lines.append(f"    - {change.label}: {change.old.get(name)} → {change.new.get(name)}")
    lines.append("")
    lines.append("by rule:")
    for rule, changes in sorted(result.by_rule().items(), key=lambda kv: -len(kv[1])):
        fields = sorted({f for c in changes for f in c.fields})
        lines.append(f"  {rule}: {len(changes)} cases ({', '.join(fields)})")
        for change in changes[:examples]:
            lines.append(f"    - {change.label}")
    return "\n".join(lines)
