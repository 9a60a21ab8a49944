"""Scenario suites: YAML cases beside a guide's rules, each a request and what is expected.

    cases:
      - note: "why this case, which rule"
        request: {…the JSON request of contract §2…}
        lang: nb                      # optional
        expect:                       # each key optional; each given key compared exactly
          level: 2
          urgent: false
          steps: [talk_with_child, …]          # in order
          forbidden: [share_without_consent]
          actors: ["school:relay_holder", …]   # service:role, in order
          consent: {required_from: both_parents, satisfied: true, blocks_level: null}
          level_name: "…"
          error: {status: 422, fields: [subject.age]}   # the request must be refused
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import ValidationError
from marshmallow.experimental.context import Context

from rules.case import Case
from rules.decision import Decision
from rules.errors import CaseError
from rules.evaluate import evaluate
from rules.model import Guide
from rules.yamlsource import read_yaml
from schemas.messages import field_path, flatten
from schemas.request import DecisionRequestSchema

EXPECT_KEYS = ("level", "urgent", "steps", "forbidden", "actors", "consent", "level_name", "error")


@dataclass(frozen=True)
class Scenario:
    guide: str
    file: str
    line: int
    index: int
    note: str
    request: Any
    expect: dict[str, Any]
    lang: str = "nb"

    @property
    def id(self) -> str:
        return f"{self.guide}/{Path(self.file).name}:{self.line}"


@dataclass
class Outcome:
    scenario: Scenario
    mismatches: list[tuple[str, Any, Any]] = field(default_factory=list)  # (key, expected, actual)
    fired: tuple[str, ...] = ()
    decision: Decision | None = None

    @property
    def passed(self) -> bool:
        return not self.mismatches


def load_scenarios(path: Path, guide_id: str, display: str | None = None) -> list[Scenario]:
    doc = read_yaml(path, display)
    data = doc.data or {}
    out = []
    for i, case in enumerate(data.get("cases") or []):
        expect = case.get("expect") or {}
        unknown = set(expect) - set(EXPECT_KEYS)
        if unknown:
            raise ValueError(f"{doc.file}:{doc.line_of(('cases', i))}: unknown expect keys {sorted(unknown)}")
        out.append(Scenario(guide_id, doc.file, doc.line_of(("cases", i)) or 0, i, str(case.get("note", "")),
                            case.get("request"), expect, case.get("lang", "nb")))
    return out


def discover(root: Path) -> Iterator[Scenario]:
    """Every scenario under ``root/<guide>/scenarios/*.yaml``."""
    for folder in sorted(p for p in root.iterdir() if (p / "scenarios").is_dir()):
        for path in sorted((folder / "scenarios").glob("*.yaml")):
            yield from load_scenarios(path, folder.name, str(path.relative_to(root.parent)))


def parse_request(guide: Guide, body: Any) -> Case:
    with Context({"guide": guide}):
        return DecisionRequestSchema().load(body)


def run_scenario(guide: Guide, scenario: Scenario) -> Outcome:
    outcome = Outcome(scenario)
    expect = scenario.expect
    try:
        case = parse_request(guide, scenario.request)
        decision = evaluate(guide, case, scenario.lang)
    except (ValidationError, CaseError) as exc:
        if isinstance(exc, ValidationError):
            fields = sorted({field_path(p) for p, _, _ in flatten(exc.messages)})
        else:
            fields = sorted(f for f, _ in exc.details)
        actual_error = {"status": 422, "fields": fields}
        wanted = expect.get("error")
        if wanted is None:
            outcome.mismatches.append(("error", None, actual_error))
        else:
            want = {"status": wanted.get("status", 422), "fields": sorted(wanted.get("fields", []))}
            if want != actual_error:
                outcome.mismatches.append(("error", want, actual_error))
        return outcome
    outcome.decision = decision
    outcome.fired = tuple(e.rule for e in decision.explanation)
    actual = decision_summary(decision)
    for key, wanted in expect.items():
        got = actual.get(key)
        if key == "consent":
            got = {k: actual["consent"][k] for k in wanted}
        if wanted != got:
            outcome.mismatches.append((key, wanted, got))
    return outcome


def decision_summary(decision: Decision) -> dict[str, Any]:
    """The comparable fields of a decision, in the scenario format."""
    return {
        "level": decision.level,
        "urgent": decision.urgent,
        "level_name": decision.level_name,
        "steps": [s.code for s in decision.steps],
        "forbidden": [f.code for f in decision.forbidden],
        "actors": [f"{a.service}:{a.role}" for a in decision.actors],
        "consent": {"required_from": decision.consent.required_from, "satisfied": decision.consent.satisfied,
                    "blocks_level": decision.consent.blocks_level},
        "error": None,
    }


def describe(outcome: Outcome) -> str:
    """A failing case, expected and actual side by side, and the rules that fired."""
    s = outcome.scenario
    lines = [f"{s.file}:{s.line}: {s.note}"]
    for key, wanted, got in outcome.mismatches:
        lines.append(f"    {key}:")
        lines.append(f"      expected: {wanted}")
        lines.append(f"      actual:   {got}")
        if isinstance(wanted, list) and isinstance(got, list):
            missing = [x for x in wanted if x not in got]
            extra = [x for x in got if x not in wanted]
            if missing:
                lines.append(f"      missing:  {missing}")
            if extra:
                lines.append(f"      extra:    {extra}")
    if outcome.fired:
        lines.append("    fired: " + ", ".join(outcome.fired))
    return "\n".join(lines)
