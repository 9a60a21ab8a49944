"""The pathway: pathway.yaml's problems (file, line, suggestions), which steps apply (decided by
the engine), their statuses from status.step, the pause, and contacts on the national steps.

Expected values are reasoned from docs/rule-language.md and docs/api.md (the pathway), never
copied from the engine's output."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from rules.case import Case
from rules.errors import Problem, RuleFileError, StepError
from rules.evaluate import evaluate
from rules.loader import Registry, load_guide
from rules.model import Guide
from rules.prepare import PreparedGuide, prepare

GUIDE_YAML = """\
id: testkommune
name: Testkommune
version: "1"
extends: national
local_services:
  ressursteam: {label: Ressursteam}
"""

LEVEL_1 = """\
levels:
  1:
    steps:
      - id: school_meeting
        title: Møte med eleven og foreldrene
        text: Kontaktlæreren møter familien.
        who: [relay_holder]
        when: {reporter.service: school}
      - id: other_meeting
        title: Møte med familien
        text: Den som eier undringen møter familien.
        who: [wondering_owner]
        when: {reporter.service: {not_one_of: [school]}}
      - id: team
        title: Drøft i ressursteamet
        text: Saken drøftes anonymt i ressursteamet.
        who: [{service: ressursteam}]
        tools: [observation]
        due_days: 14
        due_from: concern
        due_if:
          - when: {signal: bullying}
            days: 7
      - id: decide
        title: Beslutt veien videre
        text: Bestem hva som skjer nå.
        who: [relay_holder, leader]
        outcomes:
          - {when: "yes", go: stop, text: Avslutt.}
          - {when: partly, go: back, step: team, text: Prøv igjen.}
          - {when: "no", go: up, text: Nivå 2.}
tools:
  observation: {title: Observasjonsskjema, kind: form, url: "https://example.org/skjema.pdf"}
teams:
  ressursteam: {text: Skolens ressursteam drøfter saker., members: [school, ppt], levels: [1], family_attends: invited}
contacts:
  child_welfare: {label: Barneverntjenesten i Testkommune, phone: "12 34 56 78"}
  police: {label: Testkommune politistasjon, phone: "02800", url: "https://example.org/politi"}
"""


def make_guide(tmp_path: Path, national: Guide, pathway: str) -> Guide:
    folder = tmp_path / "testkommune"
    folder.mkdir(exist_ok=True)
    (folder / "guide.yaml").write_text(GUIDE_YAML, encoding="utf-8")
    (folder / "pathway.yaml").write_text(textwrap.dedent(pathway), encoding="utf-8")
    return load_guide(folder, national, root=tmp_path)


def problems(tmp_path: Path, national: Guide, pathway: str) -> list[Problem]:
    with pytest.raises(RuleFileError) as info:
        make_guide(tmp_path, national, pathway)
    return info.value.problems


@pytest.fixture(scope="module")
def local(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> PreparedGuide:
    return prepare(make_guide(tmp_path_factory.mktemp("pw"), registry.guides["national"], LEVEL_1))


def case(**kw: Any) -> Case:
    base: dict[str, Any] = {"subject_kind": "child", "age": 9, "reporter": "school",
                            "signals": {"school_absence": 2}}
    return Case(**{**base, **kw})


# --- the file's problems ---------------------------------------------------------------------


BAD = [
    ("unknown tool", LEVEL_1.replace("tools: [observation]", "tools: [observaton]"),
     "levels[1].steps[2].tools[0]", "unknown tool 'observaton'", ("observation",), 18),
    ("duplicate id", LEVEL_1.replace("id: other_meeting", "id: school_meeting"),
     "levels[1].steps[1].id", "used twice", (), 9),
    ("never applies", LEVEL_1.replace("when: {reporter.service: school}",
                                      "when: {all: [{subject.age: {below: 5}}, {subject.age: {above: 10}}]}"),
     "levels.1.steps.school_meeting.when", "can never apply", (), 4),
    ("no step for some reporter", LEVEL_1
     .replace("      - id: team", "      - id: team\n        when: {reporter.service: school}")
     .replace("      - id: decide", "      - id: decide\n        when: {reporter.service: school}")
     .replace("when: {reporter.service: {not_one_of: [school]}}", "when: {reporter.service: kindergarten}"),
     "levels.1", "no step of level 1 applies when the reporter is upper_secondary (child)", (), 2),
    ("late condition", LEVEL_1.replace("when: {reporter.service: school}", "when: {decision.level: 1}"),
     "levels[1].steps[0].when", "may test only the request", (), 8),
    ("number id", LEVEL_1.replace("id: team", "id: 1.3"), "levels[1].steps[2].id", "in quotes", (), 14),
    ("back to unknown", LEVEL_1.replace("step: team", "step: tem"),
     "levels[1].steps[3].outcomes[1].step", "unknown step 'tem'", ("team",), 30),
    ("outcome missing", LEVEL_1.replace('          - {when: "no", go: up, text: Nivå 2.}\n', ""),
     "levels[1].steps[3].outcomes", "missing: no", (), 28),
    ("unknown key", LEVEL_1.replace("due_from: concern", "due_form: concern"),
     "levels[1].steps[2].due_form", "unknown key 'due_form'", ("due_from",), 20),
    ("deadline without start", LEVEL_1.replace("        due_from: concern\n", ""),
     "levels[1].steps[2].due_from", "counts from", (), 14),
    ("unknown who", LEVEL_1.replace("who: [wondering_owner]", "who: [wonderingowner]"),
     "levels[1].steps[1].who[0]", "unknown person", ("wondering_owner",), 12),
    ("municipal emergency number", LEVEL_1 + 'emergency_numbers:\n  call_emergency_112: {label: x, phone: "113"}\n',
     "emergency_numbers", "national emergency numbers", (), 39),
    ("unknown team member", LEVEL_1.replace("members: [school, ppt]", "members: [school, pp]"),
     "teams.ressursteam.members[1]", "unknown service 'pp'", ("ppt",), 35),
]


@pytest.mark.parametrize(("name", "text", "path", "message", "suggestions", "line"), BAD, ids=[b[0] for b in BAD])
def test_bad_pathway_file(tmp_path: Path, registry: Registry, name: str, text: str, path: str, message: str,
                          suggestions: tuple[str, ...], line: int) -> None:
    found = problems(tmp_path, registry.guides["national"], text)
    assert any(p.path == path and message in p.message and p.line == line
               and tuple(p.suggestions[:len(suggestions)]) == suggestions for p in found), found
    assert all(p.file.endswith("pathway.yaml") for p in found), found


def test_good_pathway_loads_and_replaces_only_its_level(local: PreparedGuide, registry: Registry) -> None:
    national, pathway = registry.guides["national"].pathway, local.guide.pathway
    assert [s.id for s in pathway.levels[1].steps] == ["school_meeting", "other_meeting", "team", "decide"]
    for level in (0, 2, 3):  # inherited unchanged
        assert pathway.levels[level] == national.levels[level]
    assert set(pathway.tools) == {*national.tools, "observation"}


def test_the_national_pathway_follows_the_bti_template(guide: Guide) -> None:
    levels = guide.pathway.levels
    assert [len(levels[n].steps) for n in range(4)] == [4, 5, 5, 5]
    for n in range(4):  # the last step of each level decides, for every evaluation answer
        *before, last = levels[n].steps
        assert {o.when for o in last.outcomes} == {"yes", "partly", "no"}
        assert not any(s.outcomes for s in before)
        assert all(s.when is None for s in levels[n].steps)  # every reporter and subject


# --- the engine decides which steps apply ------------------------------------------------------


def test_step_conditions_are_engine_rules(local: PreparedGuide) -> None:
    """Each step and deadline condition is one durable rule of phase 1 (none decided in Python)."""
    assert len(local.guide.pathway.conditions) == 3  # two step conditions, one deadline
    assert set(local.compiled.pathway_rules.values()) == {0, 1, 2}
    assert all(name in local.compiled.rulesets[1] for name in local.compiled.pathway_rules)


@pytest.mark.parametrize(("reporter", "first"), [("school", "school_meeting"), ("kindergarten", "other_meeting"),
                                                 ("health_station", "other_meeting")])
def test_a_step_applies_only_to_its_reporters(local: PreparedGuide, reporter: str, first: str) -> None:
    decision = evaluate(local, case(reporter=reporter, age=5 if reporter != "school" else 9))
    assert decision.level == 1 and decision.pathway is not None
    assert [s.id for s in decision.pathway.steps] == [first, "team", "decide"]
    assert [s.number for s in decision.pathway.steps] == [1, 2, 3]


def test_conditional_deadline(local: PreparedGuide) -> None:
    plain = evaluate(local, case())
    bullying = evaluate(local, case(signals={"bullying": 2}))
    assert plain.pathway and bullying.pathway
    assert {s.id: s.due_days for s in plain.pathway.steps}["team"] == 14
    assert {s.id: s.due_days for s in bullying.pathway.steps}["team"] == 7
    assert {s.id: s.due_from for s in bullying.pathway.steps}["team"] == "concern"


def test_who_tools_outcomes_and_teams(local: PreparedGuide) -> None:
    pathway = evaluate(local, case(), "nb").pathway
    assert pathway is not None
    steps = {s.id: s for s in pathway.steps}
    assert [(a.service, a.role, a.label) for a in steps["school_meeting"].who] == [
        ("school", "relay_holder", "Kontaktlærer")]
    assert [(a.service, a.role) for a in steps["decide"].who] == [("school", "relay_holder"), ("leader", "consult")]
    assert [(t.id, t.url) for t in steps["team"].tools] == [("observation", "https://example.org/skjema.pdf")]
    assert [(o.when, o.go, o.step) for o in steps["decide"].outcomes] == [
        ("yes", "stop", None), ("partly", "back", "team"), ("no", "up", None)]
    assert [(t.service, t.label, t.text) for t in pathway.teams] == [
        ("ressursteam", "Ressursteam", "Skolens ressursteam drøfter saker.")]


# --- status.step ------------------------------------------------------------------------------


def test_school_reporter_at_the_evaluation_step(prepared: PreparedGuide) -> None:
    """The national level 1: meeting, plan, carry out, evaluate, decide; at 1.4 the three before
    are done, 1.4 is current, the deciding step is next."""
    decision = evaluate(prepared, case(current_level=1, step="1.4"))
    assert decision.level == 1 and decision.pathway is not None
    assert [(s.id, s.status) for s in decision.pathway.steps] == [
        ("1.1", "done"), ("1.2", "done"), ("1.3", "done"), ("1.4", "current"), ("1.5", "next")]


def test_statuses_when_the_level_changes(prepared: PreparedGuide) -> None:
    """At level 1 with measures that did not work the case moves to level 2: its first step is next."""
    decision = evaluate(prepared, case(current_level=1, measures_effective="no", step="1.5", consent_parents="given"))
    assert decision.level == 2 and decision.pathway is not None
    assert [s.status for s in decision.pathway.steps] == ["next", "todo", "todo", "todo", "todo"]


def test_violence_by_caregiver_pauses_the_pathway(prepared: PreparedGuide) -> None:
    decision = evaluate(prepared, case(signals={"violence_by_caregiver": 2}, current_level=1, step="1.2"))
    assert decision.pathway is not None
    assert decision.pathway.paused is True and decision.pathway.steps == () and decision.pathway.teams == ()


def test_a_step_that_does_not_apply_is_refused_with_suggestions(local: PreparedGuide) -> None:
    with pytest.raises(StepError) as info:
        evaluate(local, case(reporter="kindergarten", age=5, current_level=1, step="school_meeting"))
    assert info.value.field == "status.step" and "does not apply" in info.value.message
    assert "other_meeting" in info.value.suggestions


def post(client: FlaskClient, municipality: str, body: dict[str, Any]) -> Any:
    return client.post(f"/v1/municipalities/{municipality}/decisions?lang=en", json=body)


REQUEST: dict[str, Any] = {"subject": {"kind": "child", "age": 9}, "reporter": {"service": "school"},
                           "signals": ["school_absence"]}


@pytest.mark.parametrize(("status", "message", "suggestions"), [
    ({"step": "1.4"}, "give the level the case is at now first", []),
    ({"current_level": 1, "step": "1.6"}, "'1.6' is not a step of level 1", ["1.5", "1.4", "1.3"]),
    ({"current_level": 2, "step": "1.4"}, "'1.4' is not a step of level 2", ["2.4"]),
])
def test_status_step_errors(client: FlaskClient, status: dict[str, Any], message: str,
                            suggestions: list[str]) -> None:
    resp = post(client, "national", {**REQUEST, "status": status})
    assert resp.status_code == 422
    [detail] = resp.get_json()["error"]["details"]
    assert detail["field"] == "status.step" and message in detail["message"]
    assert detail["suggestions"] == suggestions


def test_status_step_in_the_response(client: FlaskClient) -> None:
    resp = post(client, "national", {**REQUEST, "status": {"current_level": 1, "step": "1.4"}})
    assert resp.status_code == 200
    pathway = resp.get_json()["pathway"]
    assert pathway["level"] == 1 and pathway["paused"] is False
    assert pathway["title"] == "Level 1 – action in own service"  # the catalog's name of level 1
    assert [(s["id"], s["number"], s["status"]) for s in pathway["steps"]] == [
        ("1.1", 1, "done"), ("1.2", 2, "done"), ("1.3", 3, "done"), ("1.4", 4, "current"), ("1.5", 5, "next")]
    assert pathway["steps"][0]["who"][0] == {"service": "school", "role": "relay_holder", "label": "Contact teacher"}


# --- contacts -----------------------------------------------------------------------------------


def contacts(decision: Any) -> dict[str, tuple[str | None, str | None] | None]:
    return {s.code: (s.contact.phone, s.contact.url) if s.contact else None for s in decision.steps}


def test_national_contacts(prepared: PreparedGuide, guide: Guide) -> None:
    acute = contacts(evaluate(prepared, case(signals={"acute_danger": 1})))
    assert acute["call_emergency_112"] == ("112", None)
    assert acute["contact_child_welfare_emergency"] == ("116 111", None)
    assert acute["report_to_child_welfare"] is None  # no national number for the local office
    medical = guide.pathway.contact_for("call_medical_emergency_113", "emergency_medical")
    assert medical is not None and medical.phone == "113"
    police = contacts(evaluate(prepared, case(signals={"forced_marriage": 2}, age=16)))
    assert police["notify_police"] == ("02800", None)
    assert police["talk_with_child"] is None


def test_a_guides_contacts_replace_the_national_ones_but_not_112(local: PreparedGuide) -> None:
    acute = contacts(evaluate(local, case(signals={"acute_danger": 1})))
    assert acute["call_emergency_112"] == ("112", None)
    assert acute["report_to_child_welfare"] == ("12 34 56 78", None)
    assert acute["contact_child_welfare_emergency"] == ("116 111", None)
    police = contacts(evaluate(local, case(signals={"forced_marriage": 2}, age=16)))
    assert police["notify_police"] == ("02800", "https://example.org/politi")


# --- the guide as data, OpenAPI, scenarios and diff ------------------------------------------------


LEADER_EN = "Line manager in own service"  # the catalog's English label of `leader`


def test_the_guide_as_data(client: FlaskClient) -> None:
    body = client.get("/v1/municipalities/national?lang=en").get_json()
    assert [level["level"] for level in body["pathway"]] == [0, 1, 2, 3]
    assert [s["id"] for s in body["pathway"][1]["steps"]] == ["1.1", "1.2", "1.3", "1.4", "1.5"]
    step = body["pathway"][0]["steps"][2]  # share: the owner of the wondering and the leader
    assert [(w["kind"], w["label"]) for w in step["who"]] == [
        ("wondering_owner", "The person who owns the wondering"), ("leader", LEADER_EN)]
    assert step["applies_when"] is None
    assert "school" in step["reporters"] and "emergency_medical" not in step["reporters"]
    assert [t["id"] for t in body["tools"]] == ["snakkemedbarn"]
    phones = {c["phone"]: c["steps"] for c in body["contacts"]}
    assert phones["112"] == ["call_emergency_112"] and phones["113"] == ["call_medical_emergency_113"]
    assert phones["02800"] == ["notify_police"]
    assert phones["116 111"] == ["contact_child_welfare_emergency"]
    assert [n["label"] for n in body["level_names"]] == ["0", "1", "2", "3"]


def test_the_guide_as_data_gives_conditions_in_words(client: FlaskClient, local: PreparedGuide) -> None:
    from service.pathway_view import pathway_body
    body = pathway_body(local.guide, "nb")
    [level_1] = [level for level in body["pathway"] if level["level"] == 1]
    steps = {s["id"]: s for s in level_1["steps"]}
    assert steps["school_meeting"]["applies_when"] == "reporter.service is school"
    assert steps["school_meeting"]["reporters"] == ["school"]
    assert "school" not in steps["other_meeting"]["reporters"]
    assert steps["team"]["due_if"] == [{"when": "bullying (at least concern)", "days": 7}]
    assert [t["service"] for t in body["teams"]] == ["ressursteam"]


def test_openapi_describes_the_pathway(client: FlaskClient) -> None:
    text = client.get("/openapi.json").get_data(as_text=True)
    for name in ("PathwayOut", "PathwayStep", "GuideStep", "GuideContact"):
        assert name in text, name


def test_scenario_pathway_keys_are_checked(tmp_path: Path) -> None:
    from toolkit.scenarios import ScenarioFileError, load_scenarios
    path = tmp_path / "s.yaml"
    path.write_text("cases:\n  - note: x\n    request: {}\n    expect: {pathway: {nxt: '1.1'}}\n", encoding="utf-8")
    with pytest.raises(ScenarioFileError, match=r"expect\.pathway\.nxt"):
        load_scenarios(path, "national")


def test_diff_reports_a_pathway_edit(tmp_path: Path, registry: Registry) -> None:
    from toolkit.diff import diff_guides, format_diff
    national = registry.guides["national"]
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    old = prepare(make_guide(tmp_path / "old", national, LEVEL_1))
    new = prepare(make_guide(tmp_path / "new", national, LEVEL_1.replace("days: 7", "days: 5")))
    result = diff_guides(old, new)
    assert result.changed_steps == ("1/team",) and result.changed_rules == ()
    # only the cases where bullying (concern or stronger) meets level 1 change, and only their pathway
    assert result.changes and all(c.fields == ("pathway",) for c in result.changes)
    assert all(c.case.signals.get("bullying", 0) >= 2 for c in result.changes)
    assert {(c.old["pathway"]["due_days"]["team"], c.new["pathway"]["due_days"]["team"]) for c in result.changes} == {
        (7, 5)}
    assert "pathway steps added, removed or edited: 1/team" in format_diff(result)


def test_the_worked_example_in_the_rule_language_guide_loads(tmp_path: Path, registry: Registry) -> None:
    """docs/rule-language.md's pathway example is a valid pathway.yaml, and it decides as the
    page says: schools get step 1.1, others 1.1b; bullying shortens 1.2's deadline to 7 days."""
    from tests.conftest import ROOT
    text = (ROOT / "docs" / "rule-language.md").read_text(encoding="utf-8")
    example = text.split("<!-- pathway-example -->", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    prepared = prepare(make_guide(tmp_path, registry.guides["national"], example))
    school = evaluate(prepared, case(signals={"bullying": 2}))
    other = evaluate(prepared, case(reporter="health_station", age=4))
    assert school.pathway is not None and other.pathway is not None
    assert [(s.id, s.due_days) for s in school.pathway.steps] == [("1.1", None), ("1.2", 7), ("1.3", None),
                                                                   ("1.4", None)]
    assert [(s.id, s.due_days) for s in other.pathway.steps] == [("1.1b", None), ("1.2", 28), ("1.3", None),
                                                                  ("1.4", None)]
    assert [t.service for t in school.pathway.teams] == ["ressursteam"]
    contact = {s.code: s.contact for s in evaluate(prepared, case(signals={"acute_danger": 1})).steps}
    assert contact["report_to_child_welfare"] is not None and contact["report_to_child_welfare"].phone == "12 34 56 78"


def test_batch_decisions_carry_the_pathway_and_step_errors(client: FlaskClient, local: PreparedGuide) -> None:
    good = {**REQUEST, "status": {"current_level": 1, "step": "1.4"}}
    bad = {**REQUEST, "status": {"current_level": 1, "step": "1.9"}}
    resp = client.post("/v1/municipalities/national/decisions/batch?lang=en", json={"cases": [good, bad]})
    assert resp.status_code == 200
    first, second = resp.get_json()["decisions"]
    assert [(s["id"], s["status"]) for s in first["decision"]["pathway"]["steps"]][3] == ("1.4", "current")
    assert [d["field"] for d in second["error"]["details"]] == ["status.step"]
