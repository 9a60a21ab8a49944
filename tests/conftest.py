"""Shared fixtures: the bundled guides loaded once, a Flask app and client over them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings

from rules.loader import Registry, load_registry
from rules.model import NATIONAL, Guide
from rules.prepare import PreparedGuide
from service.app import create_app

# Timing belongs in benchmarks (load/), not in unit tests: no per-example deadline, which a busy
# machine exceeds now and then (a flaky failure that says nothing about the code).
settings.register_profile("bti", deadline=None)
settings.load_profile("bti")

ROOT = Path(__file__).resolve().parent.parent
MUNICIPALITIES = ROOT / "municipalities"


@pytest.fixture(scope="session")
def registry() -> Registry:
    reg = load_registry(MUNICIPALITIES)
    assert not reg.errors, reg.errors
    return reg


@pytest.fixture(scope="session")
def guide(registry: Registry) -> Guide:
    return registry.guides[NATIONAL]


@pytest.fixture(scope="session")
def prepared(registry: Registry) -> PreparedGuide:
    """The national guide ready to decide (``evaluate(prepared, case)``)."""
    return registry.prepared[NATIONAL]


@pytest.fixture(scope="session")
def app() -> Flask:
    return create_app({"TESTING": True, "BTI_MUNICIPALITIES": str(MUNICIPALITIES)})


@pytest.fixture()
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as c:
        yield c


# --- the last line of a run: the browser tests that were skipped, and why ------------------------

BROWSER_TESTS = "tests/test_pages_browser.py"


def browser_skip_summary(skipped: list[pytest.TestReport]) -> str | None:
    """One line naming how many browser tests were skipped and each reason (None: none were)."""
    reasons: dict[str, int] = {}
    for report in skipped:
        if not report.nodeid.startswith(BROWSER_TESTS):
            continue
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    if not reasons:
        return None
    count = sum(reasons.values())
    why = "; ".join(f"{reason} ({n})" if len(reasons) > 1 else reason for reason, n in reasons.items())
    return f"browser tests: {count} skipped, because {why}"


def pytest_unconfigure(config: pytest.Config) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    line = browser_skip_summary(reporter.stats.get("skipped", []))
    if line:
        reporter.write_line(line, yellow=True, bold=True)
