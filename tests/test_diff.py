"""``bti diff`` samples every reporter, the age bands and the consent and status combinations the
guides' conditions tell apart, so an edit that matters for one reporter only is found."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from marshmallow import ValidationError

from rules.analysis import boundaries
from rules.compiler import lower, simplify
from rules.evaluate import evaluate
from rules.loader import Registry, load_guide
from rules.prepare import PreparedGuide, prepare
from service.cli import main as bti
from tests.conftest import MUNICIPALITIES
from toolkit.diff import diff_guides, format_diff
from toolkit.sample import dimensions, sample_cases
from toolkit.scenarios import case_request, parse_request

# A routing rule for kindergarten reporters only: at level 2 or 3, developmental delay also
# involves physiotherapy and occupational therapy (which no national rule routes it to).
KINDERGARTEN_RULE = """
  - id: kindergarten_motor_skills
    title: {nb: "Barnehage: fysio- og ergoterapi", nn: "Barnehage: fysio- og ergoterapi", en: "Kindergarten: physio"}
    because: {nb: "Test.", nn: "Test.", en: "Test."}
    when:
      decision.level: {at_least: 2}
      reporter.service: kindergarten
      signal: developmental_delay
    then:
      actors: [{service: physio_ot, role: involve}]
"""


@pytest.fixture(scope="module")
def kindergarten_edit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("kindergarten")
    shutil.copytree(MUNICIPALITIES / "national", base / "old" / "national")
    shutil.copytree(MUNICIPALITIES / "national", base / "new" / "national")
    routing = base / "new" / "national" / "rules" / "routing.yaml"
    routing.write_text(routing.read_text(encoding="utf-8") + KINDERGARTEN_RULE, encoding="utf-8")
    return base / "old" / "national", base / "new" / "national"


@pytest.mark.slow
def test_diff_finds_an_edit_that_only_affects_kindergarten_reporters(kindergarten_edit: tuple[Path, Path]) -> None:
    old, new = (prepare(load_guide(p)) for p in kindergarten_edit)
    try:
        _check_kindergarten_diff(old, new)
    finally:
        old.close()
        new.close()


def _check_kindergarten_diff(old: PreparedGuide, new: PreparedGuide) -> None:
    result = diff_guides(old, new)
    assert result.changed_rules == ("national.routing.kindergarten_motor_skills",)
    # Reasoned from the rule, case by case on the old version: the decision changes exactly when a
    # kindergarten reports developmental delay at concern or stronger, the decided level is 2 or 3
    # and physiotherapy is not already among the actors.
    expected = set()
    for label, case in sample_cases(old.guide, new.guide):
        if case.reporter != "kindergarten" or case.signals.get("developmental_delay", 0) < 2:
            continue
        before = evaluate(old, case)
        if before.level >= 2 and "physio_ot" not in {a.service for a in before.actors}:
            expected.add(label)
    changed = {c.label for c in result.changes}
    assert changed == expected
    assert {c.case.reporter for c in result.changes} == {"kindergarten"}
    assert {c.fields for c in result.changes} == {("actors",)}
    assert {c.rules for c in result.changes} == {("national.routing.kindergarten_motor_skills",)}
    # concern and reason to believe, at level 2 and level 3, over several age bands
    assert {c.case.signals["developmental_delay"] for c in result.changes} == {2, 3}
    assert len({c.case.age for c in result.changes}) >= 3
    assert len(changed) >= 8
    text = format_diff(result)
    assert f"national.routing.kindergarten_motor_skills: {len(changed)} cases" in text and "by kindergarten" in text


def test_the_sample_takes_its_age_bands_and_reporters_from_the_conditions(
        kindergarten_edit: tuple[Path, Path]) -> None:
    old, new = (load_guide(p) for p in kindergarten_edit)
    dims = dimensions(old, new)
    # every service reports in the sample, and the one the new rule names is a key reporter
    reporters = {code for code, service in new.catalog.services.items() if service.reports}
    assert set(dims.reporters) == reporters
    assert "kindergarten" in dims.key_reporters["child"]
    assert "kindergarten" not in dimensions(old).key_reporters["child"]
    # every age at which some national condition changes its answer starts a band of its own
    cuts = set()
    for rule in new.rules:
        cuts |= {v for v in boundaries(simplify(lower(rule.when, new.catalog, new.settings))).get("age", ())}
    assert {18, 16, 6}.issubset(cuts)  # under 18, the youth consent age, under 6 (routing)
    assert {c for c in cuts if 0 < c <= 25}.issubset(dims.ages["child"])
    assert dims.ages["child"][0] == 0
    cases = list(sample_cases(old, new))
    for dimension in ("consent_parents", "consent_subject", "parental_responsibility", "current_level",
                      "measures_effective", "complex_long_term_needs"):
        values = {getattr(case, dimension) for _, case in cases}
        assert len(values) >= 2, dimension
    assert {case.consent_parents for _, case in cases} == {"not_asked", "given", "refused", "withdrawn", "partial"}
    assert {case.current_level for _, case in cases} == {None, 0, 1, 2, 3}
    assert {case.reporter for _, case in cases} == reporters


def test_diff_output_says_how_many_cases_and_which_dimensions(
        kindergarten_edit: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    old_dir = kindergarten_edit[0]
    assert bti(["diff", str(old_dir), str(old_dir)]) == 0  # the same files: nothing to decide twice
    out = capsys.readouterr().out
    assert "0 decisions change" in out
    assert "cases compared (" in out and "generated" in out
    for dimension in ("ages", "reporters: all", "signals:", "consent:", "status:"):
        assert dimension in out



@pytest.mark.parametrize("guide_id", ["national", "oygarden"])  # oygarden: a local team reports too
def test_every_sampled_case_is_a_request_the_guide_accepts(guide_id: str, registry: Registry) -> None:
    guide = registry.guides[guide_id]
    refused = []
    for label, case in sample_cases(guide):
        try:
            parse_request(guide, case_request(case))
        except ValidationError as exc:
            refused.append((label, exc.messages))
    assert not refused, refused[:3]
