"""What an edit to a guide changes: decide the same cases under two versions and group the
decisions that differ by the field that changed and by the rule responsible."""

from __future__ import annotations

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
from toolkit.sample import Dimensions, dimensions, sample_cases
from toolkit.scenarios import case_request, decision_summary, discover_in, parse_request

__all__ = ["Change", "DiffResult", "diff_guides", "format_diff", "sample_cases"]

FIELDS = ("level", "steps", "actors", "forbidden", "consent", "urgent", "pathway")
PATHWAY_EDIT = "(pathway.yaml: steps, deadlines or conditions)"


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
    dimensions: Dimensions | None = None
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
    result.dimensions = dimensions(old, new)
    cases.extend(sample_cases(old, new, dims=result.dimensions))
    # The request schema checks a case against the guide's catalog and settings: where the two
    # versions have the same, each accepts every sampled case (the sample keeps to their ranges
    # and codes); where they differ, each version checks the case first.
    check = old.catalog != new.catalog or old.settings != new.settings
    same = old.digest == new.digest  # the same files: no decision can change
    seen: set[str] = set()
    for label, case in cases:
        key = repr(case)
        if key in seen:
            continue
        seen.add(key)
        result.compared += 1
        if same:
            continue
        before, fired_old = _decide(old_prepared, case, check)
        after, fired_new = _decide(new_prepared, case, check)
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
             f"{result.compared} cases compared ({result.from_scenarios} from scenarios, "
             f"{result.compared - result.from_scenarios} generated): {len(result.changes)} decisions change"]
    if result.dimensions is not None:
        lines.append("generated cases sample:")
        lines.extend(f"  {line}" for line in result.dimensions.describe())
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
