"""The decisions the benchmarks replay: every scenario request that a guide accepts, plus a
systematic sample of generated cases (:func:`toolkit.diff.sample_cases`) turned back into request
bodies. Each item is validated once here, so the timed loops see only valid requests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from rules.case import Case
from rules.model import Guide
from rules.prepare import PreparedGuide
from toolkit.diff import sample_cases
from toolkit.scenarios import case_request, discover, parse_request


@dataclass(frozen=True)
class Item:
    """One decision to replay: the guide, the JSON request body, its language, and the case the
    body parses to (for the reference evaluator and the engine-only timing)."""

    prepared: PreparedGuide
    body: dict[str, Any]
    lang: str
    case: Case
    source: str  # "scenario" or "sample"

    @property
    def guide(self) -> Guide:
        return self.prepared.guide


def _accepted(guide: Guide, body: Any) -> Case | None:
    try:
        return parse_request(guide, body)
    except ValidationError:
        return None


@dataclass
class MixCounts:
    scenarios: int = 0
    scenarios_refused: int = 0  # scenario requests the guide refuses (422 cases): not replayed
    samples: int = 0
    samples_refused: int = 0
    samples_not_round_tripped: int = 0  # a body that did not parse back to its case (a bug here)


def build_mix(guides: Mapping[str, PreparedGuide], root: Path | None, sample_every: int = 8,
              only: Iterable[str] | None = None) -> tuple[list[Item], MixCounts]:
    """Scenario requests of the guides under ``root`` (if given) and every ``sample_every``-th
    generated case of each guide (0: none)."""
    wanted = set(only) if only is not None else set(guides)
    counts = MixCounts()
    items: list[Item] = []
    if root is not None:
        for scenario in discover(root):
            prepared = guides.get(scenario.guide)
            if prepared is None or scenario.guide not in wanted or not isinstance(scenario.request, dict):
                continue
            # a scenario that expects an error is refused, even when only the decision finds it
            # (a pathway step that does not apply to the reporter passes the request's checks)
            case = None if "error" in scenario.expect else _accepted(prepared.guide, scenario.request)
            if case is None:
                counts.scenarios_refused += 1
                continue
            counts.scenarios += 1
            items.append(Item(prepared, scenario.request, scenario.lang, case, "scenario"))
    if sample_every > 0:
        for gid in sorted(wanted):
            prepared = guides[gid]
            for index, (_, generated) in enumerate(sample_cases(prepared.guide)):
                if index % sample_every:
                    continue
                body = case_request(generated)
                case = _accepted(prepared.guide, body)
                if case is None:
                    counts.samples_refused += 1
                    continue
                if case != generated:
                    counts.samples_not_round_tripped += 1
                    continue
                counts.samples += 1
                items.append(Item(prepared, body, "nb", case, "sample"))
    return items, counts
