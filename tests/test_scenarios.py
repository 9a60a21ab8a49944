"""Every scenario suite under municipalities/*/scenarios/ runs as a test case."""

from __future__ import annotations

import pytest

from rules.loader import Registry
from service.paths import BUNDLED as MUNICIPALITIES
from toolkit.scenarios import Scenario, describe, discover, run_scenario

SCENARIOS = list(discover(MUNICIPALITIES))


def test_suites_are_found() -> None:
    assert len(SCENARIOS) >= 150
    assert {s.guide for s in SCENARIOS} >= {"national"}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_scenario(registry: Registry, scenario: Scenario) -> None:
    outcome = run_scenario(registry.prepared[scenario.guide], scenario)
    if scenario.todo is not None:
        pytest.skip(f"todo: {scenario.todo}")
    assert outcome.passed, describe(outcome)
