"""The decisions the benchmarks replay: every scenario request that a guide accepts, plus a
systematic sample of generated cases (:func:`toolkit.diff.sample_cases`) turned back into request
bodies. Each item is validated once here, so the timed loops see only valid requests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from rules.case import Case
from rules.errors import CaseError
from rules.evaluate import check_case
from rules.model import STRENGTHS, Guide
from toolkit.diff import sample_cases
from toolkit.scenarios import discover, parse_request


@dataclass(frozen=True)
class Item:
    """One decision to replay: the guide, the JSON request body, its language, and the case the
    body parses to (for the reference evaluator and the engine-only timing)."""

    guide: Guide
    body: dict[str, Any]
    lang: str
    case: Case
    source: str  # "scenario" or "sample"


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
    if status:
        body["status"] = status
    return body


def _accepted(guide: Guide, body: Any) -> Case | None:
    try:
        case = parse_request(guide, body)
        check_case(guide, case)
    except (ValidationError, CaseError):
        return None
    return case


@dataclass
class MixCounts:
    scenarios: int = 0
    scenarios_refused: int = 0  # scenario requests the guide refuses (422 cases): not replayed
    samples: int = 0
    samples_refused: int = 0
    samples_not_round_tripped: int = 0  # a body that did not parse back to its case (a bug here)


def build_mix(guides: dict[str, Guide], root: Path | None, sample_every: int = 8,
              only: Iterable[str] | None = None) -> tuple[list[Item], MixCounts]:
    """Scenario requests of the guides under ``root`` (if given) and every ``sample_every``-th
    generated case of each guide (0: none)."""
    wanted = set(only) if only is not None else set(guides)
    counts = MixCounts()
    items: list[Item] = []
    if root is not None:
        for scenario in discover(root):
            guide = guides.get(scenario.guide)
            if guide is None or scenario.guide not in wanted or not isinstance(scenario.request, dict):
                continue
            case = _accepted(guide, scenario.request)
            if case is None:
                counts.scenarios_refused += 1
                continue
            counts.scenarios += 1
            items.append(Item(guide, scenario.request, scenario.lang, case, "scenario"))
    if sample_every > 0:
        for gid in sorted(wanted):
            guide = guides[gid]
            for index, (_, generated) in enumerate(sample_cases(guide)):
                if index % sample_every:
                    continue
                body = case_request(generated)
                case = _accepted(guide, body)
                if case is None:
                    counts.samples_refused += 1
                    continue
                if case != generated:
                    counts.samples_not_round_tripped += 1
                    continue
                counts.samples += 1
                items.append(Item(guide, body, "nb", case, "sample"))
    return items, counts
