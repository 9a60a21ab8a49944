"""The ``bti`` command line on bad input: one line on standard error, exit code 2, never a
traceback; and ``bti explain`` reading what a user actually has at hand (JSON, YAML, a scenario
entry copied from the playground)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rules.loader import load_guide
from service.cli import main as bti
from tests.conftest import MUNICIPALITIES

BAD_JSON = '{"subject": {"kind": "child", "age": 8},\n "reporter": '
BAD_YAML = "subject: {kind: child, age: 8\nreporter: {service: school}\n"


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    """A folder of guides: the national guide alone, with its scenarios."""
    shutil.copytree(MUNICIPALITIES / "national", tmp_path / "guides" / "national")
    return tmp_path / "guides"


def _one_line_error(capsys: pytest.CaptureFixture[str], code: int, command: str) -> str:
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"bti {command}: "), err
    return lines[0]


# --- a missing file, bad JSON, bad YAML, empty input: every command ----------------------------


def test_missing_files_are_one_line_with_exit_code_2(root: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "nothing-here.json")
    guide = str(root / "national")
    for command, argv in [("explain", ["explain", "national", missing, "--municipalities", str(root)]),
                          ("test", ["test", missing]),
                          ("check", ["check", missing]),
                          ("diff", ["diff", guide, missing]),
                          ("diff", ["diff", missing, guide])]:
        line = _one_line_error(capsys, bti(argv), command)
        assert "nothing-here.json" in line


def test_bad_json_is_one_line_naming_line_and_column(root: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "case.json"
    case.write_text(BAD_JSON, encoding="utf-8")
    line = _one_line_error(capsys, bti(["explain", "national", str(case), "--municipalities", str(root)]), "explain")
    assert "case.json:2:" in line and "not valid JSON" in line
    scenario = root / "national" / "scenarios" / "broken.json"  # bti test reads scenario files as YAML
    scenario.write_text(BAD_JSON, encoding="utf-8")
    line = _one_line_error(capsys, bti(["test", str(scenario)]), "test")
    assert "broken.json:" in line and "not valid YAML" in line
    line = _one_line_error(capsys, bti(["check", str(case)]), "check")
    assert "not part of a guide" in line
    line = _one_line_error(capsys, bti(["diff", str(case), str(root / "national")]), "diff")
    assert "is a file" in line


def test_bad_yaml_is_one_line_naming_the_line(root: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "case.yaml"
    case.write_text(BAD_YAML, encoding="utf-8")
    line = _one_line_error(capsys, bti(["explain", "national", str(case), "--municipalities", str(root)]), "explain")
    assert "case.yaml:1: not valid YAML" in line and "not closed" in line
    broken = root / "national" / "scenarios" / "broken.yaml"
    broken.write_text("cases:\n" + "\n".join("  " + x for x in ["- note: x", "  request: " + BAD_YAML]),
                      encoding="utf-8")
    line = _one_line_error(capsys, bti(["test", str(root)]), "test")
    assert "broken.yaml:" in line and "not valid YAML" in line
    # a broken rule file is what bti check is for: located problems on stdout, exit code 1
    new = root.parent / "new"
    shutil.copytree(root, new)
    (new / "national" / "scenarios" / "broken.yaml").unlink()
    (new / "national" / "rules" / "levels.yaml").write_text(BAD_YAML, encoding="utf-8")
    assert bti(["check", str(new / "national" / "rules" / "levels.yaml")]) == 1
    out, err = capsys.readouterr()
    assert "national/rules/levels.yaml:1: not valid YAML" in out and "Traceback" not in out + err
    # bti diff cannot compare a version that does not load
    line = _one_line_error(capsys, bti(["diff", str(root / "national"), str(new / "national")]), "diff")
    assert "cannot load" in line and "levels.yaml:1" in line


def test_empty_input_and_stdin(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("  \n", encoding="utf-8")
    line = _one_line_error(capsys, bti(["explain", "national", str(empty), "--municipalities", str(root)]), "explain")
    assert "empty" in line
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    line = _one_line_error(capsys, bti(["explain", "national", "-", "--municipalities", str(root)]), "explain")
    assert "standard input is empty" in line


def test_a_case_that_does_not_fit_is_one_line(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "case.yaml"
    case.write_text("subject: {kind: child, age: 80}\nreporter: {service: skole}\nsignals: []\n", encoding="utf-8")
    line = _one_line_error(capsys, bti(["explain", "national", str(case), "--municipalities", str(root)]), "explain")
    assert "subject.age" in line and "reporter.service" in line
    line = _one_line_error(capsys, bti(["explain", "bergen", str(case), "--municipalities", str(root)]), "explain")
    assert "unknown municipality 'bergen'" in line


def test_diff_of_a_folder_of_guides_says_it_takes_one_guide(capsys: pytest.CaptureFixture[str]) -> None:
    line = _one_line_error(capsys, bti(["diff", "HEAD", str(MUNICIPALITIES)]), "diff")
    assert "folder of guides" in line and "national" in line and "tromso" in line


def test_diff_names_a_revision_that_does_not_exist(capsys: pytest.CaptureFixture[str]) -> None:
    line = _one_line_error(capsys, bti(["diff", "no-such-revision", str(MUNICIPALITIES / "national")]), "diff")
    assert "neither a guide folder nor a git revision" in line


# --- a reader that closes the output early ------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["check", "{root}"],
    ["test", "{root}"],
    ["diff", "{root}/national", "{root}/national"],
    ["explain", "national", "{case}", "--municipalities", "{root}"],
], ids=lambda argv: argv[0])
def test_a_closed_stdout_ends_quietly_without_a_traceback(argv: list[str], root: Path, tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    case.write_text('{"subject": {"kind": "child", "age": 8}, "reporter": {"service": "school"}, '
                    '"signals": [{"code": "school_absence", "strength": "concern"}]}', encoding="utf-8")
    read, write = os.pipe()
    os.close(read)  # like `bti … | head` once head has exited
    try:
        done = subprocess.run([sys.executable, "-m", "service.cli",
                               *(a.format(root=root, case=case) for a in argv)],
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=300, check=False)
    finally:
        os.close(write)
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"bti {argv[0]}: the output was closed before everything was "
                                                "written"]


# --- bti explain reads YAML, JSON and scenario entries -------------------------------------------

PLAYGROUND_COPY = """\
  - note: "Nasjonal veileder (child, 9, kindergarten)"
    # Sjekk forventningene mot veilederen før du legger saken til.
    request:
      subject: {kind: child, age: 9}
      reporter: {service: school}
      signals: [{code: school_absence, strength: concern}]
      status: {current_level: 1, measures_effective: no}
      consent: {parents: given}
    expect:
      level: 2
"""


def test_explain_reads_a_scenario_entry_copied_from_the_playground(root: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    entry = tmp_path / "copied.yaml"
    entry.write_text(PLAYGROUND_COPY, encoding="utf-8")
    assert bti(["explain", "national", str(entry), "--lang", "en", "--municipalities", str(root)]) == 0
    out = capsys.readouterr().out
    # rule 13: current level 1, measures did not work → one level up; `no` is the word, not false
    assert load_guide(root / "national").level_name(2, "en") in out.splitlines()[1]
    as_json = tmp_path / "case.json"
    as_json.write_text('{"subject": {"kind": "child", "age": 9}, "reporter": {"service": "school"}, '
                       '"signals": [{"code": "school_absence", "strength": "concern"}], '
                       '"status": {"current_level": 1, "measures_effective": "no"}, '
                       '"consent": {"parents": "given"}}', encoding="utf-8")
    assert bti(["explain", "national", str(as_json), "--lang", "en", "--municipalities", str(root)]) == 0
    assert capsys.readouterr().out == out
    request_yaml = tmp_path / "case.yaml"
    request_yaml.write_text(PLAYGROUND_COPY.split("request:\n", 1)[1].split("    expect:")[0]
                            .replace("      ", ""), encoding="utf-8")
    assert bti(["explain", "national", str(request_yaml), "--lang", "en", "--municipalities", str(root)]) == 0
    assert capsys.readouterr().out == out


def test_explain_takes_one_case_of_a_scenario_file(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suite = root / "national" / "scenarios" / "bypass.yaml"
    line = _one_line_error(capsys, bti(["explain", "national", str(suite), "--municipalities", str(root)]),
                           "explain")
    assert "--case N" in line
    # bypass.yaml's first case: acute danger at wondering, 8 years old → level 0 and urgent (rule 1, rule 15)
    assert bti(["explain", "national", str(suite), "--case", "1", "--lang", "en",
                "--municipalities", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert load_guide(root / "national").level_name(0, "en") in lines[1]
    assert "yes" in lines[2]
    line = _one_line_error(capsys, bti(["explain", "national", str(suite), "--case", "999",
                                        "--municipalities", str(root)]), "explain")
    assert "no case 999" in line


def test_explain_merges_the_fixtures_a_case_extends(root: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(textwrap.dedent("""\
        fixtures:
          nine_at_school: {subject: {kind: child, age: 9}, reporter: {service: school}}
        cases:
          - note: "wondering only: level 0 (rule 15)"
            extends: nine_at_school
            request: {signals: [{code: withdrawn, strength: wondering}]}
        """), encoding="utf-8")
    assert bti(["explain", "national", str(suite), "--lang", "en", "--municipalities", str(root)]) == 0
    assert load_guide(root / "national").level_name(0, "en") in capsys.readouterr().out.splitlines()[1]


# --- colour ---------------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


WRONG = """\
cases:
  - note: "deliberately wrong: a concern at school is level 1 (rule 15), not 3"
    request: {subject: {kind: child, age: 9}, reporter: {service: school}, signals: [school_absence]}
    expect: {level: 3}
"""


@pytest.mark.parametrize(("tty", "no_color", "coloured"),
                         [(True, None, True), (True, "1", False), (False, None, False)],
                         ids=["terminal", "NO_COLOR", "piped"])
def test_bti_test_uses_colour_only_on_a_terminal_without_no_color(
        tty: bool, no_color: str | None, coloured: bool, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    suite = root / "national" / "scenarios" / "wrong.yaml"
    suite.write_text(WRONG, encoding="utf-8")
    out = _Terminal() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    if no_color is not None:
        monkeypatch.setenv("NO_COLOR", no_color)
    assert bti(["test", str(suite), "--no-coverage"]) == 1
    text = out.getvalue()
    assert ("\x1b[31mFAIL\x1b[0m" in text) is coloured
    assert ("\x1b[" in text) is coloured
    assert "0 passed, 1 failed" in text.replace("\x1b[0m", "").replace("\x1b[31m", "")


def test_coverage_of_a_guide_without_rules_of_its_own_does_not_say_0_of_0(
        root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a guide that changes a setting only: no rules of its own to cover
    (root / "testby" / "scenarios").mkdir(parents=True)
    (root / "testby" / "guide.yaml").write_text(
        'id: testby\nname: {nb: "Testby", nn: "Testby", en: "Testby"}\nversion: "1"\nextends: national\n'
        "settings: {youth_consent_age: 15}\n", encoding="utf-8")
    (root / "testby" / "scenarios" / "testby.yaml").write_text(
        "cases:\n  - note: a concern at school is level 1 (rule 15)\n"
        "    request: {subject: {kind: child, age: 9}, reporter: {service: school}, signals: [school_absence]}\n"
        "    expect: {level: 1}\n", encoding="utf-8")
    assert bti(["test", str(root / "testby")]) == 0
    out = capsys.readouterr().out
    assert "0/0" not in out and "100.0%" not in out
    assert "coverage testby: no rules of its own to cover (1 case)" in out
