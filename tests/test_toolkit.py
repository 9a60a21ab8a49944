"""The testers' toolkit: bti test (side by side, todo, fixtures, JUnit, coverage, --url), bti diff."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from rules.evaluate import evaluate
from rules.loader import load_guide
from rules.prepare import prepare
from service.cli import main as bti
from service.paths import BUNDLED as MUNICIPALITIES
from toolkit.diff import diff_guides, sample_cases

SUITE = """\
suite: toolkit
fixtures:
  nine_at_school:
    subject: {kind: child, age: 9}
    reporter: {service: school}
cases:
  - note: "right: a concern at school is level 1 (rule 15)"
    extends: nine_at_school
    request:
      signals: [school_absence]
    expect: {level: 1, actors: ["school:relay_holder"]}
  - note: "deliberately wrong: the same case is not level 3"
    extends: nine_at_school
    request:
      signals: [school_absence]
    expect: {level: 3, steps: [plan_measures]}
  - note: "not decided yet"
    extends: nine_at_school
    request: {signals: [withdrawn]}
    expect: {level: 2}
    todo: "waiting for the municipality's answer"
"""


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    shutil.copytree(MUNICIPALITIES / "national", tmp_path / "national")
    shutil.rmtree(tmp_path / "national" / "scenarios")
    (tmp_path / "national" / "scenarios").mkdir()
    (tmp_path / "national" / "scenarios" / "toolkit.yaml").write_text(SUITE, encoding="utf-8")
    return tmp_path


def test_failures_side_by_side_todo_and_summary(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bti(["test", str(root), "--no-coverage"]) == 1
    out = capsys.readouterr().out.splitlines()
    fail = out.index(next(line for line in out if line.startswith("FAIL")))
    assert "deliberately wrong" in out[fail] and "toolkit.yaml:12:" in out[fail]
    block = "\n".join(out[fail:fail + 12])
    assert "level:\n      expected: 3\n      actual:   1" in block
    assert "missing:  ['plan_measures']" not in block  # plan_measures is there; the list order/extra differ
    assert "fired: national." in block
    assert any(line.startswith("TODO") and "waiting for" in line for line in out)
    assert out[-1] == "1 passed, 1 failed, 1 skipped"


def test_junit_xml_is_valid_and_counts(root: Path, tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    bti(["test", str(root), "--junit", str(report), "--no-coverage"])
    tree = ET.parse(report)
    suites = tree.getroot()
    assert suites.tag == "testsuites"
    assert (suites.get("tests"), suites.get("failures"), suites.get("skipped")) == ("3", "1", "1")
    cases = suites.findall("testsuite/testcase")
    assert len(cases) == 3
    failure = cases[1].find("failure")
    assert failure is not None and "expected: 3" in (failure.text or "")
    assert cases[2].find("skipped") is not None


def test_coverage_and_minimum(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bti(["test", str(root)])
    out = capsys.readouterr().out
    assert "coverage national:" in out and "never fired: national.bypass.acute_danger" in out
    assert "legal provisions no case reached:" in out and "straffeloven § 196" in out
    (root / "national" / "scenarios" / "toolkit.yaml").write_text(SUITE.split("  - note: \"deliberately")[0])
    assert bti(["test", str(root), "--min-coverage", "99"]) == 1
    assert "coverage below the minimum: national" in capsys.readouterr().out
    assert bti(["test", str(root), "--min-coverage", "5"]) == 0


def test_bundled_suites_pass_with_full_rule_coverage(capsys: pytest.CaptureFixture[str]) -> None:
    assert bti(["test", str(MUNICIPALITIES), "--min-coverage", "100"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("0 failed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """`bti serve` (gunicorn, production settings) on a free port of 127.0.0.1."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", "1",
                               "--municipalities", str(MUNICIPALITIES)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("bti serve did not become ready")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.slow
def test_url_mode_gives_the_same_results_as_in_process(served: str, tmp_path: Path) -> None:
    local, remote = tmp_path / "local.xml", tmp_path / "remote.xml"
    assert bti(["test", str(MUNICIPALITIES), "--junit", str(local), "--no-coverage"]) == 0
    assert bti(["test", str(MUNICIPALITIES), "--url", served, "--junit", str(remote), "--no-coverage"]) == 0

    def results(path: Path) -> list[tuple[str | None, str | None, bool]]:
        return [(c.get("classname"), c.get("name"), c.find("failure") is None)
                for c in ET.parse(path).getroot().iter("testcase")]

    assert results(local) == results(remote)
    assert len(results(local)) > 250


@pytest.mark.slow
def test_url_mode_reports_a_wrong_expectation(served: str, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bti(["test", str(root / "national" / "scenarios" / "toolkit.yaml"), "--url", served]) == 1
    out = capsys.readouterr().out
    assert "expected: 3" in out and "branches: not known over HTTP" in out


EDIT = ("      actors: [{service: nav, role: involve}]", "      actors: [{service: family_team, role: involve}]")


@pytest.mark.slow
def test_diff_lists_exactly_the_cases_one_edited_rule_changes(tmp_path: Path) -> None:
    shutil.copytree(MUNICIPALITIES / "national", tmp_path / "old" / "national")
    shutil.copytree(MUNICIPALITIES / "national", tmp_path / "new" / "national")
    routing = tmp_path / "new" / "national" / "rules" / "routing.yaml"
    text = routing.read_text(encoding="utf-8")
    assert text.count(EDIT[0]) == 1
    routing.write_text(text.replace(*EDIT), encoding="utf-8")
    old = prepare(load_guide(tmp_path / "old" / "national"))
    new = prepare(load_guide(tmp_path / "new" / "national"))
    result = diff_guides(old, new)
    assert result.changed_rules == ("national.routing.poverty_housing",)
    listed = {c.label for c in result.changes}
    # every listed case names the edited rule and changes only actors
    assert {c.rules for c in result.changes} == {("national.routing.poverty_housing",)}
    assert {c.fields for c in result.changes} == {("actors",)}
    # exactly the sampled cases in which the rule fires and the actors differ; none where it does not fire
    expected = set()
    for label, case in sample_cases(new.guide):
        before, after = evaluate(old, case), evaluate(new, case)
        fired = "national.routing.poverty_housing" in {e.rule for e in before.explanation}
        assert fired or before.actors == after.actors
        if fired and before.actors != after.actors:
            expected.add(label)
    assert listed == expected
    assert len(listed) > 5


@pytest.mark.slow
def test_diff_lists_the_cases_the_old_version_refuses(tmp_path: Path) -> None:
    """Widening the age range is a change: a 20-year-old the old version refused is now decided
    (the request schema decides what a version accepts; evaluate takes every case as valid)."""
    for version in ("old", "new"):
        shutil.copytree(MUNICIPALITIES / "national", tmp_path / version / "national")
    guide_yaml = tmp_path / "old" / "national" / "guide.yaml"
    text = guide_yaml.read_text(encoding="utf-8")
    guide_yaml.write_text(text.replace("child_age: {min: 0, max: 25}", "child_age: {min: 0, max: 18}"),
                          encoding="utf-8")
    old = prepare(load_guide(tmp_path / "old" / "national"))
    new = prepare(load_guide(tmp_path / "new" / "national"))
    try:
        result = diff_guides(old, new)
    finally:
        old.close()
        new.close()
    refused = [c for c in result.changes if "refused" in c.fields]
    assert refused and all(c.case.subject_kind == "child" and c.case.age > 18 for c in refused)
    assert all(c.old == {"refused": ["subject.age"]} and "level" in c.new for c in refused)
    assert not [c for c in result.changes if c.case.subject_kind == "child" and c.case.age <= 18]


@pytest.mark.slow
def test_diff_against_a_git_revision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(MUNICIPALITIES / "national", repo / "municipalities" / "national")
    git = ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "v1"], check=True)
    routing = repo / "municipalities" / "national" / "rules" / "routing.yaml"
    routing.write_text(routing.read_text(encoding="utf-8").replace(*EDIT), encoding="utf-8")
    target = str(repo / "municipalities" / "national")
    assert bti(["diff", "HEAD", target, "--fail-on-change"]) == 1
    out = capsys.readouterr().out
    assert "national.routing.poverty_housing:" in out and "decisions change" in out
    assert bti(["diff", target, target, "--fail-on-change"]) == 0
    capsys.readouterr()
    assert bti(["diff", "no-such-revision", target]) == 2
    assert "neither a guide folder nor a git revision" in capsys.readouterr().err


def test_explain_prints_conditions_and_matches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    request = tmp_path / "case.json"
    request.write_text(textwrap.dedent("""\
        {"subject": {"kind": "child", "age": 8}, "reporter": {"service": "kindergarten"},
         "signals": [{"code": "sexual_abuse", "strength": "reason_to_believe"}]}"""), encoding="utf-8")
    assert bti(["explain", "national", str(request), "--lang", "en",
                "--municipalities", str(MUNICIPALITIES)]) == 0
    out = capsys.readouterr().out
    assert "Report to child welfare" in out and "barnehageloven § 46" in out
    # the rule abuse_by_caregiver_report: either signal at reason_to_believe, a child under 18
    assert "When: Violence by a caregiver or sexual abuse (reason to believe), under 18" in out
    assert "Signs: Sexual abuse" in out
    assert "Notify the police (today) [notify_police]" in out


def test_explain_in_bokmal_prints_no_codes_or_english_words(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """It printed "Samtykke: both_parents – satisfied", "when:" and "matched:" in a bokmål report."""
    request = tmp_path / "case.json"
    request.write_text('{"subject": {"kind": "child", "age": 8}, "reporter": {"service": "kindergarten"}, '
                       '"signals": [{"code": "sexual_abuse", "strength": "reason_to_believe"}]}', encoding="utf-8")
    assert bti(["explain", "national", str(request), "--lang", "nb", "--municipalities", str(MUNICIPALITIES)]) == 0
    out = capsys.readouterr().out
    for leaked in ("both_parents –", "satisfied", "not given", "when:", "matched:", "blocks level", "Steps:", "due"):
        assert leaked not in out, leaked
    # both parents share responsibility by default and nobody has been asked yet
    assert "Samtykke: Begge foreldrene – ikke gitt" in out
    assert "Når: Vold fra omsorgsperson eller seksuelle overgrep (grunn til å tro), under 18 år" in out
    assert "Tegn: Seksuelle overgrep" in out
    assert "Varsle politiet (i dag) [notify_police]" in out


def test_explain_reports_a_bad_case_in_the_chosen_language(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The problems with a case were printed in English whatever --lang said."""
    request = tmp_path / "case.json"
    request.write_text('{"subject": {"kind": "child", "age": 9}, "reporter": {"service": "skule"}, '
                       '"signals": ["bullying"], "extra": 1}', encoding="utf-8")
    # a bad case is bad input: one line on stderr, exit code 2 (tests/test_cli.py)
    assert bti(["explain", "national", str(request), "--lang", "nn", "--municipalities", str(MUNICIPALITIES)]) == 2
    err = capsys.readouterr().err
    assert "extra: ukjend felt" in err
    assert "reporter.service: ukjend kode «skule» (did you mean: school" in err
