"""Municipal guides: what they may add or change, what they may not weaken, and the checker."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from rules.case import Case
from rules.checks import lint_guide
from rules.errors import RuleFileError
from rules.evaluate import evaluate
from rules.loader import load_guide, load_registry
from rules.prepare import prepare
from service.cli import main as bti
from service.paths import BUNDLED as MUNICIPALITIES

GUIDE = """\
id: testby
name: {nb: "Testby kommune", en: "Testby municipality"}
version: "1"
extends: national
"""
LOCAL_RULE = """\
group: local
rules:
  - id: ressursteam
    title: {nb: "Ressursteam", nn: "Ressursteam", en: "Resource team"}
    because: {nb: "Skolen drøfter i ressursteamet.", nn: "Skulen drøftar i ressursteamet.", en: "The school consults."}
    when: {reporter.service: school, decision.level: 1}
    then:
      actors: [{service: ressursteam, role: consult}]
"""


def make_root(tmp_path: Path, guide: str = GUIDE, rules: dict[str, str] | None = None) -> Path:
    shutil.copytree(MUNICIPALITIES / "national", tmp_path / "national")
    folder = tmp_path / "testby"
    (folder / "rules").mkdir(parents=True)
    (folder / "guide.yaml").write_text(textwrap.dedent(guide), encoding="utf-8")
    for name, text in (rules or {}).items():
        (folder / "rules" / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def load_testby(root: Path):  # type: ignore[no-untyped-def]
    national = load_guide(root / "national", root=root)
    return load_guide(root / "testby", national, root=root)


def problems_of(root: Path) -> list:  # type: ignore[type-arg]
    with pytest.raises(RuleFileError) as info:
        load_testby(root)
    return info.value.problems


CHILD_AT_SCHOOL = Case("child", 9, "school", {"school_absence": 2}, consent_parents="given")


def test_local_team_and_labels_appear_in_decisions(tmp_path: Path) -> None:
    guide_text = GUIDE + textwrap.dedent("""\
        local_services:
          ressursteam: {label: {nb: "Ressursteam", nn: "Ressursteam", en: "Resource team"}}
        service_labels:
          family_team: {nb: "Familiehuset", en: "The family house"}
        settings:
          relay_holder_titles:
            school: {nb: "Kontaktlærer på barnetrinnet", en: "Class teacher"}
        step_texts:
          plan_measures: {text: {nb: "Lag en plan i Testby-malen.", en: "Use Testby's plan template."}}
        """)
    guide = load_testby(make_root(tmp_path, guide_text, {"local.yaml": LOCAL_RULE}))
    decision = evaluate(prepare(guide), CHILD_AT_SCHOOL, "en")
    assert decision.level == 1
    actors = {(a.service, a.role): a.label for a in decision.actors}
    assert actors[("ressursteam", "consult")] == "Resource team"
    assert actors[("school", "relay_holder")] == "Class teacher"
    assert {s.code: s.text for s in decision.steps}["plan_measures"] == "Use Testby's plan template."
    assert decision.explanation[-1].rule == "testby.local.ressursteam"  # municipal rules explained last
    assert guide.catalog.services["family_team"].label.in_lang("en") == "The family house"


def test_municipal_guide_digest_covers_the_baseline(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    first = load_testby(root).digest
    bypass = root / "national" / "rules" / "bypass.yaml"
    bypass.write_text(bypass.read_text(encoding="utf-8") + "\n# a comment changes the file\n", encoding="utf-8")
    assert load_testby(root).digest != first


def test_routing_may_be_replaced(tmp_path: Path) -> None:
    routing = """\
    group: testby_routing
    rules:
      - id: absence
        title: "Fravær: ressursteam"
        because: "I Testby går fravær til ressursteamet."
        when: {decision.level: {at_least: 2}, signal: school_absence}
        then:
          actors: [{service: ressursteam, role: involve}]
    """
    guide_text = GUIDE + "replaces: [routing]\nlocal_services:\n  ressursteam: {label: Ressursteam}\n"
    guide = load_testby(make_root(tmp_path, guide_text, {"routing.yaml": routing}))
    assert not [r for r in guide.rules if r.id.startswith("national.routing.")]
    case = Case("child", 9, "school", {"school_absence": 2}, consent_parents="given", current_level=1,
                measures_effective="no")
    actors = [(a.service, a.role) for a in evaluate(prepare(guide), case).actors]
    assert ("ressursteam", "involve") in actors
    assert ("school_health", "involve") not in actors  # the national routing is gone


def one_rule(then: str, group: str = "local", rule_id: str = "r", when: str = "{signal: school_absence}",
             ) -> dict[str, str]:
    """A municipal rule file (x.yaml) of one rule."""
    return {"x.yaml": f"group: {group}\nrules:\n  - id: {rule_id}\n    title: T\n    because: B\n"
                      f"    when: {when}\n    then: {then}\n"}


@pytest.mark.parametrize(("guide_extra", "rules", "path", "needle"), [
    ("replaces: [bypass]\n", {}, "replaces[0]", "national.bypass carries national rules 1–7"),
    ("replaces: [consent]\n", {}, "replaces[0]", "cannot be replaced or removed"),
    ("replaces: [routng]\n", {}, "replaces[0]", "there is no national group 'routng'"),
    ("local_services:\n  ppt: {label: PPT}\n", {}, "local_services.ppt", "national service code"),
    ("settings:\n  child_age: {min: 0, max: 30}\n", {}, "settings.child_age", "wider than the national 0–25"),
    ("", one_rule("{steps: [discuss_with_leader]}", group="bypass", rule_id="acute_danger",
                  when="{signal: acute_danger}"), "rules[0].id", "national.bypass.acute_danger is a national rule"),
    ("", one_rule("{level_at_most: 0}"), "rules[0].then.level_at_most", "cannot cap the level"),
    ("", one_rule("{forbidden: [talk_with_parents_first]}"), "rules[0].then.forbidden", "removes talk_with_parents"),
    ("", one_rule("{sets: [parents_suspected]}", when="{signal: high_conflict}"), "rules[0].then.sets",
     "only by national rules 3, 3 b and 4"),
])
def test_weakening_the_baseline_is_refused(tmp_path: Path, guide_extra: str, rules: dict[str, str], path: str,
                                           needle: str) -> None:
    problems = problems_of(make_root(tmp_path, GUIDE + guide_extra, rules))
    matching = [p for p in problems if p.path == path]
    assert matching, [str(p) for p in problems]
    assert needle in matching[0].message
    assert matching[0].line is not None and matching[0].file.startswith("testby/")


def test_misspelled_code_and_broken_yaml_are_refused_with_line_and_hint(tmp_path: Path) -> None:
    bad_code = LOCAL_RULE.replace("reporter.service: school", "reporter.service: scool")
    problems = problems_of(make_root(tmp_path, GUIDE + "local_services:\n  ressursteam: {label: R}\n",
                                     {"local.yaml": bad_code}))
    (problem,) = problems
    where = (problem.file, problem.line, problem.path)
    assert where == ("testby/rules/local.yaml", 6, "rules[0].when.reporter.service")
    assert "school" in problem.suggestions
    broken = make_root(tmp_path / "b", GUIDE, {"local.yaml": "group: local\nrules: [\n  - id: x\n"})
    (problem,) = problems_of(broken)
    assert problem.file == "testby/rules/local.yaml" and problem.line is not None
    assert "not valid YAML" in problem.message


def test_a_broken_municipality_does_not_stop_the_others(tmp_path: Path) -> None:
    root = make_root(tmp_path, GUIDE + "replaces: [bypass]\n")
    registry = load_registry(root)
    assert "national" in registry.guides and "testby" in registry.errors


def test_bti_check_reports_file_line_and_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_root(tmp_path, GUIDE + "replaces: [bypass]\n")
    assert bti(["check", str(root)]) == 1
    out = capsys.readouterr().out
    assert "testby/guide.yaml:5: replaces[0]: national.bypass carries" in out
    assert "1 error(s)" in out
    assert bti(["check", str(MUNICIPALITIES)]) == 0


def test_checker_warns_about_dead_shadowed_and_untranslated_rules(tmp_path: Path) -> None:
    rules = """\
    group: local_levels
    hit: first
    rules:
      - id: broad
        title: {nb: "Bred", nn: "Brei", en: "Broad"}
        because: {nb: "a", nn: "a", en: "a"}
        when: {signal: school_absence}
        then: {level: 2}
      - id: narrow
        title: {nb: "Smal", nn: "Smal", en: "Narrow"}
        because: {nb: "b", nn: "b", en: "b"}
        when: {signal: school_absence, subject.age: {below: 10}}
        then: {level: 3}
      - id: impossible
        title: "Umulig"
        because: "c"
        when: {subject.age: {below: 3}, all: [{subject.age: {at_least: 7}}]}
        then: {level: 3}
    """
    guide = load_testby(make_root(tmp_path, GUIDE, {"levels.yaml": rules}))
    warnings = [str(p) for p in lint_guide(guide)]
    assert any("testby.local_levels.narrow" in w and "shadowed" in w and "testby.local_levels.broad" in w
               for w in warnings), warnings
    assert any("testby.local_levels.impossible" in w and "can never fire" in w for w in warnings), warnings
    assert any("testby.local_levels.impossible.title" in w and "no nn/en text" in w for w in warnings), warnings
    assert all(p.severity == "warning" for p in lint_guide(guide))
