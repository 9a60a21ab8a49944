"""Scenario suites: YAML cases beside a guide's rules, each a request and what is expected.

    cases:
      - note: "why this case, which rule"
        request: {…the JSON request of docs/api.md…}
        lang: nb                      # optional
        expect:                       # each key optional; each given key compared exactly
          level: 2
          urgent: false
          steps: [talk_with_child, …]          # in order
          forbidden: [share_without_consent]
          actors: ["school:relay_holder", …]   # service:role, in order
          consent: {required_from: both_parents, satisfied: true, blocks_level: null}
          level_name: "…"
          pathway:                              # each key optional
            level: 1
            paused: false
            steps: ["1.1", "1.2", …]            # the step ids shown, in order
            next: "1.2"                         # the step with status next (null: none)
            current: "1.1"                      # the step with status current (null: none)
            due_days: {"2.1": 14}               # the deadline of each step listed
          error: {status: 422, fields: [subject.age]}   # the request must be refused
        todo: "why it is not expected to pass yet"   # optional: reported, not failed

A file may name base requests under ``fixtures:``; a case with ``extends: <name>`` (or a list of
names) starts from them, and its own ``request`` is merged on top (mappings merged key by key,
everything else replaced).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import ValidationError
from marshmallow.experimental.context import Context

from rules.case import Case
from rules.decision import Decision, PathwayOut
from rules.errors import BTIError, RuleFileError, StepError
from rules.evaluate import Trace, evaluate
from rules.messages import field_path, flatten
from rules.model import STRENGTHS, Guide
from rules.prepare import PreparedGuide
from rules.yamlsource import read_yaml
from schemas.request import DecisionRequestSchema

EXPECT_KEYS = ("level", "urgent", "steps", "forbidden", "actors", "consent", "level_name", "legal_basis", "guidance",
               "pathway", "error")
# expectations that name only some entries: {step or forbidden code: [its legal basis or guidance]}
PARTIAL_KEYS = ("consent", "legal_basis", "guidance")
PATHWAY_KEYS = ("level", "paused", "steps", "next", "current", "due_days")


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
    todo: str | None = None

    @property
    def id(self) -> str:
        return f"{self.guide}/{Path(self.file).name}:{self.line}"


@dataclass
class Outcome:
    scenario: Scenario
    mismatches: list[tuple[str, Any, Any]] = field(default_factory=list)  # (key, expected, actual)
    fired: tuple[str, ...] = ()
    decision: Decision | None = None
    trace: Trace | None = None
    legal_bases: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.mismatches

    @property
    def status(self) -> str:
        """passed, failed, or todo (a case marked todo never fails the run)."""
        if self.scenario.todo is not None:
            return "todo"
        return "passed" if self.passed else "failed"


CASE_KEYS = ("note", "request", "expect", "lang", "todo", "extends")


class ScenarioFileError(BTIError):
    """A scenario file is malformed (file:line: what)."""


def merge(base: Any, override: Any) -> Any:
    """``override`` on top of ``base``: mappings key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = merge(base.get(key), value) if key in base else value
        return out
    return override


def load_scenarios(path: Path, guide_id: str, display: str | None = None) -> list[Scenario]:
    try:
        doc = read_yaml(path, display)
    except RuleFileError as exc:  # not YAML, or a key given twice
        raise ScenarioFileError(str(exc)) from None
    data = doc.data or {}
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise ScenarioFileError(f"{doc.file}:1: a scenario file has `cases:` (a list)")
    fixtures = data.get("fixtures") or {}
    out = []
    for i, case in enumerate(data["cases"]):
        where = f"{doc.file}:{doc.line_of(('cases', i))}"
        if not isinstance(case, dict):
            raise ScenarioFileError(f"{where}: a case is a mapping with note, request and expect")
        unknown = set(case) - set(CASE_KEYS)
        expect = case.get("expect") or {}
        unknown |= {f"expect.{k}" for k in set(expect) - set(EXPECT_KEYS)}
        pathway = expect.get("pathway")
        if "pathway" in expect and not isinstance(pathway, dict):
            raise ScenarioFileError(f"{where}: expect.pathway is a mapping ({', '.join(PATHWAY_KEYS)})")
        unknown |= {f"expect.pathway.{k}" for k in set(pathway or {}) - set(PATHWAY_KEYS)}
        if unknown:
            raise ScenarioFileError(f"{where}: unknown keys {sorted(unknown)}")
        request: Any = {}
        bases = case.get("extends") or []
        for name in [bases] if isinstance(bases, str) else bases:
            if name not in fixtures:
                raise ScenarioFileError(f"{where}: no fixture {name!r} (known: {', '.join(fixtures) or 'none'})")
            request = merge(request, fixtures[name])
        request = merge(request, case.get("request")) if "request" in case else request
        out.append(Scenario(guide_id, doc.file, doc.line_of(("cases", i)) or 0, i, str(case.get("note", "")),
                            request, expect, case.get("lang", "nb"), case.get("todo")))
    return out


def discover(root: Path) -> Iterator[Scenario]:
    """Every scenario under ``root/<guide>/scenarios/*.yaml``."""
    for folder in sorted(p for p in root.iterdir() if (p / "scenarios").is_dir()):
        for path in sorted((folder / "scenarios").glob("*.yaml")):
            yield from load_scenarios(path, folder.name, str(path.relative_to(root.parent)))


def discover_in(folder: Path, guide_id: str) -> Iterator[Scenario]:
    """Every scenario in one ``scenarios/`` folder."""
    for path in sorted(folder.glob("*.yaml")):
        yield from load_scenarios(path, guide_id, str(path))


def parse_request(guide: Guide, body: Any) -> Case:
    with Context({"guide": guide}):
        return DecisionRequestSchema().load(body)


def case_request(case: Case) -> dict[str, Any]:
    """The request body (docs/api.md, Request) that parses to ``case``."""
    body: dict[str, Any] = {
        "subject": {"kind": case.subject_kind, "age": case.age},
        "reporter": {"service": case.reporter},
        "signals": [{"code": code, "strength": STRENGTHS[rank - 1]} for code, rank in case.signals.items()],
        "family": {"parental_responsibility": case.parental_responsibility},
        "consent": {"parents": case.consent_parents, "subject": case.consent_subject},
    }
    status: dict[str, Any] = {}
    if case.current_level is not None:
        status["current_level"] = case.current_level
    if case.measures_effective is not None:
        status["measures_effective"] = case.measures_effective
    if case.services_involved:
        status["services_involved"] = list(case.services_involved)
    if case.complex_long_term_needs:
        status["complex_long_term_needs"] = True
    if case.step is not None:
        status["step"] = case.step
    if status:
        body["status"] = status
    return body


def run_scenario(prepared: PreparedGuide, scenario: Scenario) -> Outcome:
    """Run one scenario in-process."""
    outcome = Outcome(scenario)
    try:
        case = parse_request(prepared.guide, scenario.request)
    except ValidationError as exc:
        return compare_error(outcome, 422, sorted({field_path(p) for p, _, _ in flatten(exc.messages)}))
    trace = Trace()
    try:
        decision = evaluate(prepared, case, scenario.lang, trace)
    except StepError as exc:  # a pathway step that does not apply to the case
        return compare_error(outcome, 422, [exc.field])
    outcome.decision, outcome.trace = decision, trace
    outcome.legal_bases = tuple(dict.fromkeys(b for s in decision.steps for b in s.legal_basis))
    return compare_decision(outcome, decision_summary(decision), tuple(e.rule for e in decision.explanation))


def compare_error(outcome: Outcome, status: int, fields: list[str]) -> Outcome:
    """Compare a refused request with what the scenario expects."""
    actual = {"status": status, "fields": fields}
    wanted = outcome.scenario.expect.get("error")
    if wanted is None:
        outcome.mismatches.append(("error", None, actual))
    else:
        want = {"status": wanted.get("status", 422), "fields": sorted(wanted.get("fields", []))}
        if want != actual:
            outcome.mismatches.append(("error", want, actual))
    return outcome


def compare_decision(outcome: Outcome, actual: dict[str, Any], fired: tuple[str, ...]) -> Outcome:
    """Compare a decision (as :func:`decision_summary` gives it) with what is expected."""
    outcome.fired = fired
    for key, wanted in outcome.scenario.expect.items():
        got = actual.get(key)
        if key in PARTIAL_KEYS and isinstance(wanted, dict):
            got = {k: actual[key].get(k) for k in wanted}
        if key == "pathway" and isinstance(wanted, dict) and isinstance(got, dict):
            got = {k: got.get(k) for k in wanted}
            if isinstance(wanted.get("due_days"), dict):
                due = actual["pathway"].get("due_days") or {}
                got["due_days"] = {str(i): due.get(str(i), "(no such step)") for i in wanted["due_days"]}
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
        "legal_basis": {**{s.code: list(s.legal_basis) for s in decision.steps},
                        **{f.code: list(f.legal_basis) for f in decision.forbidden}},
        "guidance": {**{s.code: list(s.guidance) for s in decision.steps},
                     **{f.code: list(f.guidance) for f in decision.forbidden}},
        "pathway": pathway_summary(decision.pathway),
        "error": None,
    }


def pathway_summary(pathway: PathwayOut | None) -> dict[str, Any] | None:
    """The comparable fields of a decision's pathway, in the scenario format."""
    if pathway is None:
        return None
    steps = pathway.steps
    return {
        "level": pathway.level, "paused": pathway.paused, "steps": [s.id for s in steps],
        "next": next((s.id for s in steps if s.status == "next"), None),
        "current": next((s.id for s in steps if s.status == "current"), None),
        "due_days": {s.id: s.due_days for s in steps},
    }


def describe(outcome: Outcome) -> str:
    """A failing case, expected and actual side by side, and the rules that fired."""
    s = outcome.scenario
    lines = [f"FAIL {s.file}:{s.line}: {s.note}"]
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
