"""Bad rule files: each is refused with the exact problem, where it is and what to write instead.

Each case copies the national guide into ``tmp_path`` and adds one rule file,
``national/rules/extra.yaml``; everything else in the guide is valid, so every problem reported
comes from that file. The expected lines are counted in the YAML texts below (line 1 is
``group: extra``).
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from rules.checks import lint_guide
from rules.errors import Problem, RuleFileError
from rules.loader import load_guide
from rules.model import FieldTest, SignalTest
from rules.yamlsource import parse_yaml

ROOT = Path(__file__).resolve().parent.parent
NATIONAL = ROOT / "municipalities" / "national"
EXTRA = "national/rules/extra.yaml"  # the file name as problems show it (relative to the root)


def rule_file(body: str) -> str:
    """A rule file of group ``extra`` whose rules are ``body`` (indented by two spaces)."""
    return "group: extra\nrules:\n" + textwrap.indent(textwrap.dedent(body).lstrip("\n"), "  ")


# A valid rule; each bad case changes one thing in it. Lines: 3 id, 4 title, 5 because, 6 when, 7 then.
GOOD = rule_file("""
    - id: r1
      title: T
      because: B
      when: {signal: school_absence}
      then: {level: 2}
""")


def copy_guide(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    folder = tmp_path / "national"
    shutil.copytree(NATIONAL, folder)
    for name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / "rules" / name).write_bytes(data)
    return folder


def problems_of(tmp_path: Path, files: dict[str, str | bytes]) -> list[Problem]:
    folder = copy_guide(tmp_path, files)
    with pytest.raises(RuleFileError) as info:
        load_guide(folder, root=tmp_path)
    return info.value.problems


# (line, path, a precise part of the message, the closest suggestions first — () for none)
Expected = tuple[int | None, str, str, tuple[str, ...]]

BAD_FILES: list[tuple[str, str | bytes, list[Expected]]] = [
    ("unclosed bracket on its line", rule_file("""
        - id: r1
          title: T
          because: B
          when: {signal: [school_absence}
          then: {level: 2}
     """), [(6, "", "not valid YAML: expected ',' or ']', but got '}'", ())]),
    ("tab indentation", rule_file("""
        - id: r1
          title: T
     """).replace("    title", "\ttitle"), [(4, "", "found character '\\t' that cannot start any token", ())]),
    ("duplicate key", rule_file("""
        - id: r1
          title: T
          because: B
          title: T again
          when: {signal: school_absence}
          then: {level: 2}
     """), [(6, "rules[0].title", "duplicate key 'title': each key may appear once in a mapping", ())]),
    ("unknown top-level key", GOOD.replace("group: extra", "grup: extra"), [
        (1, "grup", "unknown key 'grup'", ("group",)),
        (1, "group", "is required here", ()),  # the group was misspelt, so it is missing
    ]),
    ("unknown key in a rule", GOOD.replace("title: T", "titel: T"), [
        (4, "rules[0].titel", "unknown key 'titel'", ("title",)),
        (3, "rules[0].title", "is required here", ()),
    ]),
    ("unknown key with nothing close", GOOD.replace("because: B", "because: B\n    colour: red"), [
        (6, "rules[0].colour", "unknown key 'colour'", ()),
    ]),
    ("unknown signal", rule_file("""
        - id: r1
          title: T
          because: B
          when:
            subject.age: {below: 18}
            signal: scool_absence
          then: {level: 2}
     """), [(8, "rules[0].when.signal", "unknown signal 'scool_absence'", ("school_absence",))]),
    ("unknown signal in a list", GOOD.replace("{signal: school_absence}",
                                             "{signal: {one_of: [school_absence, bulying]}}"), [
        (6, "rules[0].when.signal.one_of[1]", "unknown signal 'bulying'", ("bullying",)),
    ]),
    ("unknown step", GOOD.replace("{level: 2}", "{steps: [talk_with_child, talk_with_chld]}"), [
        (7, "rules[0].then.steps[1]", "unknown step 'talk_with_chld'", ("talk_with_child",)),
    ]),
    ("unknown service in an actor", rule_file("""
        - id: r1
          title: T
          because: B
          when: {signal: school_absence}
          then:
            actors:
              - {service: ppt, role: involve}
              - {service: scool, role: involve}
     """), [(10, "rules[0].then.actors[1].service", "unknown service 'scool'", ("school",))]),
    ("unknown role", GOOD.replace("{level: 2}", "{actors: [{service: school, role: involv}]}"), [
        (7, "rules[0].then.actors[0].role", "unknown role 'involv'", ("involve",)),
    ]),
    ("level is a word", GOOD.replace("{level: 2}", '{level: "two"}'), [
        (7, "rules[0].then.level", "expected a whole number, not 'two'", ()),
    ]),
    ("level out of range", GOOD.replace("{level: 2}", "{level: 7}"), [
        (7, "rules[0].then.level", "7 is outside 0–3", ()),
    ]),
    ("age given as a string", GOOD.replace("{signal: school_absence}", '{subject.age: {below: "18"}}'), [
        (6, "rules[0].when.subject.age.below", "expected a whole number, not '18'", ()),
    ]),
    ("missing when", GOOD.replace("    when: {signal: school_absence}\n", ""), [
        (3, "rules[0].when", "is required here", ()),  # no when line: the rule's line
    ]),
    ("strength without signal", GOOD.replace("{signal: school_absence}", "{strength: concern}"), [
        (6, "rules[0].when.strength", "strength belongs beside a signal: {signal: …, strength: …}", ()),
    ]),
    ("unknown condition key", GOOD.replace("{signal: school_absence}", "{subject.agee: {below: 18}}"), [
        (6, "rules[0].when.subject.agee", "unknown condition 'subject.agee'", ("subject.age",)),
    ]),
    ("operator not allowed for the field", GOOD.replace("{signal: school_absence}",
                                                        "{subject.kind: {at_least: 3}}"), [
        (6, "rules[0].when.subject.kind.at_least",
         "subject.kind cannot use 'at_least'; it takes: equals, one_of, not_one_of, present", ()),
    ]),
    ("unknown setting", GOOD.replace("{signal: school_absence}",
                                     "{subject.age: {below: {setting: no_such_setting}}}"), [
        (6, "rules[0].when.subject.age.below.setting", "unknown setting 'no_such_setting'", ()),
    ]),
    ("level called for from decision.level", GOOD.replace("{signal: school_absence}", "{decision.level: 2}"), [
        (7, "rules[0].then.level", "a rule that calls for a level may test only the request", ()),
    ]),
    ("urgent step given from decision.level", rule_file("""
        - id: r1
          title: T
          because: B
          when: {decision.level: {at_least: 2}, signal: school_absence}
          then:
            steps: [talk_with_child, notify_police]
     """), [(8, "rules[0].then.steps", "urgent notification steps", ())]),
    ("duplicate rule id", rule_file("""
        - id: r1
          title: T
          because: B
          when: {signal: school_absence}
          then: {level: 2}
        - id: r1
          title: T
          because: B
          when: {signal: bullying}
          then: {level: 2}
     """), [(8, "rules[1].id", "rule id 'r1' is used twice in this group", ())]),
    ("not UTF-8", GOOD.replace("title: T", "title: Blåbær").encode("latin-1"), [
        (None, "", "not UTF-8 text: save the file as UTF-8", ()),
    ]),
]

# Regression: an unclosed bracket was reported where the parser gave up (the next line, or past
# the end of the file), not on the line where the bracket was opened.
BAD_FILES_UNCLOSED = [
    pytest.param("unclosed bracket, next line", rule_file("""
        - id: r1
          title: T
          because: B
          when: {signal: [school_absence
          then: {level: 2}
     """), [(6, "", "not valid YAML", ())], id="unclosed bracket, next line"),
    pytest.param("unclosed bracket at the end", GOOD.replace("{level: 2}", "{steps: [talk_with_child"),
                 [(7, "", "not valid YAML", ())], id="unclosed bracket at the end"),
]


def _matches(problem: Problem, expected: Expected) -> bool:
    line, path, message, suggestions = expected
    return (problem.file == EXTRA and problem.line == line and problem.path == path
            and message in problem.message and problem.suggestions[:len(suggestions)] == suggestions
            and (suggestions or not problem.suggestions))


@pytest.mark.parametrize(("name", "content", "expected"),
                         [pytest.param(*case, id=case[0]) for case in BAD_FILES] + BAD_FILES_UNCLOSED)
def test_bad_rule_file(tmp_path: Path, name: str, content: str | bytes, expected: list[Expected]) -> None:
    problems = problems_of(tmp_path, {"extra.yaml": content})
    assert len(problems) == len(expected), "\n".join(map(str, problems))
    for want in expected:
        assert any(_matches(p, want) for p in problems), f"{want} not in:\n" + "\n".join(map(str, problems))


def test_the_unchanged_rule_loads(tmp_path: Path) -> None:
    """The rule every bad case changes is itself valid: each case fails for its change alone."""
    guide = load_guide(copy_guide(tmp_path, {"extra.yaml": GOOD}), root=tmp_path)
    extra = [r for r in guide.rules if r.group == "extra"]
    assert [(r.id, r.when, r.line) for r in extra] == [
        ("national.extra.r1", SignalTest(("school_absence",), frozenset({2, 3})), 3)]


def test_several_problems_in_one_file_are_reported_at_once(tmp_path: Path) -> None:
    content = rule_file("""
        - id: r1
          titel: T
          because: B
          when: {signal: scool_absence}
          then: {level: 2}
        - id: r2
          title: T
          because: B
          when: {subject.kind: {at_least: 3}}
          then: {level: 7, actors: [{service: school, role: involv}]}
    """)
    problems = problems_of(tmp_path, {"extra.yaml": content})
    assert sorted((p.line, p.path) for p in problems) == [
        (3, "rules[0].title"),  # missing, because misspelt on line 4
        (4, "rules[0].titel"),
        (6, "rules[0].when.signal"),
        (11, "rules[1].when.subject.kind.at_least"),
        (12, "rules[1].then.actors[0].role"),
        (12, "rules[1].then.level"),
    ]


def test_problems_in_several_files_are_reported_together(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, {
        "extra.yaml": GOOD.replace("school_absence", "scool_absence"),
        "more.yaml": GOOD.replace("group: extra", "group: more").replace("{level: 2}", "{level: 7}"),
    })
    assert sorted((p.file, p.line, p.path) for p in problems) == [
        (EXTRA, 6, "rules[0].when.signal"),
        ("national/rules/more.yaml", 7, "rules[0].then.level"),
    ]


def test_problem_text_names_file_line_path_and_suggestions(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path, {"extra.yaml": GOOD.replace("school_absence", "scool_absence")})
    assert str(problem) == (f"{EXTRA}:6: rules[0].when.signal: unknown signal 'scool_absence' "
                            "(did you mean: school_absence?)")


@pytest.mark.parametrize(("problem", "text"), [
    (Problem("a.yaml", 3, "rules[0].when.signal", "unknown signal 'x'", ("y", "z")),
     "a.yaml:3: rules[0].when.signal: unknown signal 'x' (did you mean: y, z?)"),
    (Problem("a.yaml", 3, "rules[0].then.level", "7 is outside 0–3"),
     "a.yaml:3: rules[0].then.level: 7 is outside 0–3"),
    (Problem("a.yaml", None, "", "not UTF-8 text"), "a.yaml: not UTF-8 text"),
    (Problem("a.yaml", 2, "", "not valid YAML"), "a.yaml:2: not valid YAML"),
])
def test_problem_str(problem: Problem, text: str) -> None:
    assert str(problem) == text


@pytest.mark.parametrize(("text", "value"), [
    ("no", "no"), ("yes", "yes"), ("off", "off"), ("on", "on"), ("'no'", "no"), ("true", True), ("false", False),
])
def test_only_true_and_false_are_booleans(text: str, value: object) -> None:
    """YAML 1.2: an adviser's ``measures_effective: no`` means the word, not false."""
    doc = parse_yaml(f"status.measures_effective: {text}\n", "f.yaml")
    assert doc.data == {"status.measures_effective": value}
    assert type(doc.data["status.measures_effective"]) is type(value)


def test_unquoted_no_in_a_rule_tests_the_word(tmp_path: Path) -> None:
    content = GOOD.replace("{signal: school_absence}", "{status.measures_effective: no}")
    guide = load_guide(copy_guide(tmp_path, {"extra.yaml": content}), root=tmp_path)
    [rule] = [r for r in guide.rules if r.group == "extra"]
    assert rule.when == FieldTest("status.measures_effective", "equals", "no")


def test_national_guide_loads_without_problems() -> None:
    guide = load_guide(NATIONAL, root=NATIONAL.parent)
    assert guide.id == "national"
    assert len(guide.rules) > 0
    assert len({r.id for r in guide.rules}) == len(guide.rules)
    assert lint_guide(guide) == []  # no rule that can never fire, none shadowed, every text translated
