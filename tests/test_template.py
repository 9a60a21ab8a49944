"""The walk-through's template (docs/template) passes `bti check` and `bti test` as it stands."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.cli import main as bti
from service.paths import BUNDLED as MUNICIPALITIES

ROOT = MUNICIPALITIES.parent


def test_the_template_checks_and_its_scenarios_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(MUNICIPALITIES / "national", tmp_path / "national")
    shutil.copytree(ROOT / "docs" / "template", tmp_path / "minkommune")
    assert bti(["check", str(tmp_path / "minkommune")]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().out
    assert bti(["test", str(tmp_path / "minkommune")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 passed, 0 failed"
