"""A guide's settings may only be stricter than the national ones (or a free municipal choice
within bounds): every setting says which way is stricter, and the other way is refused."""

from __future__ import annotations

import dataclasses
import shutil
import textwrap
from pathlib import Path

import pytest

from rules.case import Case
from rules.errors import RuleFileError
from rules.evaluate import evaluate
from rules.inherit import SETTING_DIRECTIONS, settings_problems
from rules.loader import load_guide
from rules.model import Settings
from rules.prepare import prepare
from rules.yamlsource import parse_yaml
from service.cli import main as bti
from tests.conftest import MUNICIPALITIES

GUIDE = """\
id: testby
name: {nb: "Testby kommune", nn: "Testby kommune", en: "Testby municipality"}
version: "1"
extends: national
settings:
%s
"""
RULE = """\
group: local
rules:
  - id: nothing_new
    title: {nb: "Ingenting", nn: "Ingenting", en: "Nothing"}
    because: {nb: "Test.", nn: "Test.", en: "Test."}
    when: {reporter.service: school, decision.level: 1}
    then:
      steps: [talk_with_child]
"""
# Two services already involved, no current level: national rule 12 calls for level 3.
TWO_SERVICES = Case("child", 9, "school", {"school_absence": 2}, consent_parents="given",
                    services_involved=("ppt", "bup"))


def _root(tmp_path: Path, settings: str) -> Path:
    shutil.copytree(MUNICIPALITIES / "national", tmp_path / "national")
    (tmp_path / "testby" / "rules").mkdir(parents=True)
    (tmp_path / "testby" / "guide.yaml").write_text(GUIDE % textwrap.indent(settings, "  "), encoding="utf-8")
    (tmp_path / "testby" / "rules" / "local.yaml").write_text(RULE, encoding="utf-8")
    return tmp_path


def _load(root: Path):  # type: ignore[no-untyped-def]
    national = load_guide(root / "national", root=root)
    return national, load_guide(root / "testby", national, root=root)


def test_every_setting_states_which_way_is_stricter() -> None:
    names = {f.name for f in dataclasses.fields(Settings)}
    ranges = {n.rsplit("_", 1)[0] for n in names if n.endswith(("_age_min", "_age_max"))}
    expected = {n for n in names if not n.endswith(("_age_min", "_age_max"))} | ranges
    assert set(SETTING_DIRECTIONS) == expected
    for direction in SETTING_DIRECTIONS.values():
        assert direction.stricter in ("lower", "narrower", "free") and direction.why


def test_services_for_level_3_cannot_be_loosened_to_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _root(tmp_path, "services_for_level_3: 4")
    with pytest.raises(RuleFileError) as info:
        _load(root)
    (problem,) = info.value.problems
    assert problem.path == "settings.services_for_level_3" and problem.line == 6
    assert "national value 2" in problem.message and "looser" in problem.message
    assert bti(["check", str(root / "testby")]) == 1
    assert "testby/guide.yaml:6: settings.services_for_level_3: 4 is looser than the national value 2" in \
        capsys.readouterr().out


def test_services_for_level_3_cannot_be_loosened_to_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Regression: 3 was let through as a "documented split" (two services at level 2, three at level
    3) that no published guide was found to make; it turned a national level 3 into a level 1."""
    root = _root(tmp_path, "services_for_level_3: 3")
    with pytest.raises(RuleFileError) as info:
        _load(root)
    (problem,) = info.value.problems
    assert problem.path == "settings.services_for_level_3" and problem.line == 6
    assert "3 is looser than the national value 2" in problem.message and "choose 2 or lower" in problem.message
    assert bti(["check", str(root / "testby")]) == 1
    assert "testby/guide.yaml:6: settings.services_for_level_3: 3 is looser than the national value 2" in \
        capsys.readouterr().out


def test_services_for_level_3_may_keep_the_national_value(tmp_path: Path) -> None:
    root = _root(tmp_path, "services_for_level_3: 2")
    national, guide = (prepare(g) for g in _load(root))
    try:
        assert evaluate(national, TWO_SERVICES).level == 3
        assert evaluate(guide, TWO_SERVICES).level == 3
    finally:
        national.close()
        guide.close()


@pytest.mark.parametrize(("name", "national", "guide", "refused"), [
    ("level0_decision_days", 14, 7, False),
    ("level0_decision_days", 14, 21, True),
    ("level0_decision_days", 14, None, True),
    ("level0_decision_days", None, 30, False),
    ("level2_meeting_days", 14, 15, True),
    ("evaluation_interval_days", 30, 60, True),
    ("evaluation_interval_days", 30, 30, False),
    ("relay_log_from_level", 1, 2, True),
    ("relay_log_from_level", 2, 1, False),
    ("services_for_level_3", 2, 5, True),
    ("services_for_level_3", 2, 3, True),
])
def test_a_setting_moved_the_looser_way_is_refused_naming_the_national_value(
        name: str, national: int | None, guide: int | None, refused: bool) -> None:
    doc = parse_yaml(f"settings:\n  {name}: {'null' if guide is None else guide}\n", "testby/guide.yaml")
    problems = settings_problems(Settings(**{name: guide}), Settings(**{name: national}), doc)
    assert bool(problems) is refused
    if refused:
        (problem,) = problems
        assert problem.path == f"settings.{name}" and problem.line == 2
        assert f"national value {national}" in problem.message


def test_the_youth_consent_age_is_a_free_choice_of_15_or_16(tmp_path: Path) -> None:
    # 15 moves the say from the parents to the young person, 16 keeps it with the parents a year
    # longer: neither is stricter, and both are accepted; the grammar refuses anything else
    for value in (15, 16):
        _load(_root(tmp_path / str(value), f"youth_consent_age: {value}"))
    with pytest.raises(RuleFileError) as info:
        _load(_root(tmp_path / "17", "youth_consent_age: 17"))
    assert [p.path for p in info.value.problems] == ["settings.youth_consent_age"]


def test_bundled_guides_keep_within_the_directions(capsys: pytest.CaptureFixture[str]) -> None:
    assert bti(["check", str(MUNICIPALITIES)]) == 0
    assert "0 error(s)" in capsys.readouterr().out
