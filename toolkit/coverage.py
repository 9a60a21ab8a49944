"""Rule coverage of a scenario run: which rules fired in some case, which branches of their
``any`` conditions held, and which legal provisions no case reached."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rules.analysis import holds
from rules.compiler import lower, simplify
from rules.describe import describe_condition
from rules.model import AllOf, AnyOf, Condition, Guide, Rule
from toolkit.scenarios import Outcome


@dataclass
class GuideCoverage:
    guide: str
    rules: list[str]  # the rules the guide itself defines
    fired: set[str] = field(default_factory=set)
    branches: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)  # rule → (branch, covered)
    provisions: set[str] = field(default_factory=set)  # legal bases its rules can give
    provisions_seen: set[str] = field(default_factory=set)
    cases: int = 0

    @property
    def percent(self) -> float:
        return 100.0 * len(self.fired & set(self.rules)) / len(self.rules) if self.rules else 100.0

    @property
    def never_fired(self) -> list[str]:
        return [r for r in self.rules if r not in self.fired]

    @property
    def branches_covered(self) -> tuple[int, int]:
        flags = [covered for branches in self.branches.values() for _, covered in branches]
        return sum(flags), len(flags)


def branches_of(cond: Condition) -> list[Condition]:
    """The alternatives of a rule's condition: its top-level ``any`` (also inside an ``all``)."""
    if isinstance(cond, AnyOf):
        return list(cond.items)
    if isinstance(cond, AllOf):
        return [b for item in cond.items if isinstance(item, AnyOf) for b in item.items]
    return []


def _provisions(guide: Guide, rule: Rule) -> set[str]:
    out: set[str] = set()
    for code in rule.then.steps:
        step = guide.catalog.steps[code]
        out.update(step.legal_basis)
        for bases in step.legal_basis_by_reporter.values():
            out.update(bases)
    for code in rule.then.forbidden:
        out.update(guide.catalog.forbidden[code].legal_basis)
    return out


def measure(guide: Guide, outcomes: Iterable[Outcome]) -> GuideCoverage:
    own = [r for r in guide.rules if r.guide == guide.id]
    cov = GuideCoverage(guide.id, [r.id for r in own])
    branch_irs = {r.id: [(describe_condition(b), simplify(lower(b, guide.catalog, guide.settings)))
                         for b in branches_of(r.when)] for r in own}
    covered: dict[str, set[int]] = {r.id: set() for r in own}
    for rule in own:
        cov.provisions |= _provisions(guide, rule)
    for outcome in outcomes:
        cov.cases += 1
        cov.fired.update(outcome.fired)
        cov.provisions_seen.update(outcome.legal_bases)
        if outcome.decision is not None:
            cov.provisions_seen.update(b for f in outcome.decision.forbidden for b in f.legal_basis)
        if outcome.trace is None:
            continue
        for phase, fired in enumerate(outcome.trace.fired):
            for rule in fired:
                for i, (_, ir) in enumerate(branch_irs.get(rule.id, [])):
                    if holds(ir, outcome.trace.facts[phase]):
                        covered[rule.id].add(i)
    cov.branches = {rid: [(text, i in covered[rid]) for i, (text, _) in enumerate(irs)]
                    for rid, irs in branch_irs.items() if irs}
    return cov


def format_coverage(cov: GuideCoverage, over_http: bool = False) -> str:
    if not cov.rules:
        cases = f"{cov.cases} case" + ("" if cov.cases == 1 else "s")
        return (f"coverage {cov.guide}: no rules of its own to cover ({cases}); the rules it inherits are covered "
                "by the national suites")
    fired = len(cov.fired & set(cov.rules))
    lines = [f"coverage {cov.guide}: {fired}/{len(cov.rules)} rules fired ({cov.percent:.1f}%) in {cov.cases} cases"]
    if over_http:
        lines.append("  branches: not known over HTTP (run in-process for branch coverage)")
    else:
        done, total = cov.branches_covered
        if total:
            lines.append(f"  branches of 'any' conditions: {done}/{total} held in some case")
        for rule_id, branches in sorted(cov.branches.items()):
            for text, ok in branches:
                if not ok and rule_id in cov.fired:
                    lines.append(f"  branch never held: {rule_id}: {text}")
    for rule_id in cov.never_fired:
        lines.append(f"  never fired: {rule_id}")
    missing = sorted(cov.provisions - cov.provisions_seen)
    if missing:
        lines.append(f"  legal provisions no case reached: {'; '.join(missing)}")
    return "\n".join(lines)
