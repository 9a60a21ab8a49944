"""The made-up guides of the scale benchmark (load/generate_guides.py) pass ``bti check``: a
generator that writes guides the loader refuses measures the refusals, not the guides."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from load.generate_guides import generate
from service.cli import main as bti


def test_generated_guides_pass_bti_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Regression: a quarter of the generated guides asked for 3 or 4 services at level 3, looser
    than the national 2, and were refused."""
    ids = generate(tmp_path, count=60, seed=357)
    assert len(ids) == 60
    settings = [yaml.safe_load((tmp_path / gid / "guide.yaml").read_text(encoding="utf-8"))["settings"]
                for gid in ids]
    assert {s["services_for_level_3"] for s in settings} == {2}
    assert {s["youth_consent_age"] for s in settings} == {15, 16}  # they still vary where a guide may
    assert bti(["check", str(tmp_path)]) == 0
    assert "0 error(s)" in capsys.readouterr().out
