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
