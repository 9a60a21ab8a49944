"""What a guide says about itself: its status (adopted, draft, example) and the sources it was built
from, in the decision, the listing, the guide as data, `bti check` and a notice on every page of a
guide its municipality has not adopted."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from rules.checks import status_problems
from rules.errors import RuleFileError
from rules.loader import Registry, load_guide
from rules.model import LANGUAGES, NATIONAL

MUNICIPALITIES = Path(__file__).resolve().parent.parent / "municipalities"
GUIDE_IDS = sorted(p.name for p in MUNICIPALITIES.iterdir() if (p / "guide.yaml").is_file())
CASE = {"subject": {"kind": "child", "age": 9}, "reporter": {"service": "school"}, "signals": ["school_absence"]}
NOTICE = 'class="guide-status"'


def test_no_bundled_guide_calls_itself_adopted(registry: Registry) -> None:
    # only a municipality adopts its guide; the national guide is the project's own reading (a draft)
    assert registry.guides[NATIONAL].status == "draft"
    for guide in registry.guides.values():
        assert guide.status in {"draft", "example"}, guide.id
        assert guide.id == NATIONAL or guide.status == "example", guide.id


@pytest.mark.parametrize("guide_id", GUIDE_IDS)
def test_the_decision_names_the_guides_status(client: FlaskClient, registry: Registry, guide_id: str) -> None:
    body = client.post(f"/v1/municipalities/{guide_id}/decisions", json=CASE).get_json()
    assert body["ruleset"]["status"] == registry.guides[guide_id].status


def test_the_listing_and_the_guide_as_data_give_status_and_sources(client: FlaskClient, registry: Registry) -> None:
    listed = {m["id"]: m for m in client.get("/v1/municipalities").get_json()["municipalities"]}
    for guide_id, guide in registry.guides.items():
        assert listed[guide_id]["status"] == guide.status
        detail = client.get(f"/v1/municipalities/{guide_id}").get_json()
        assert detail["status"] == guide.status
        assert [(s["title"], s["url"], s["read"]) for s in detail["sources"]] == [
            (s.title, s.url, s.read) for s in guide.sources]
        for source in detail["sources"]:
            assert source["url"].startswith("https://"), source


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("guide_id", GUIDE_IDS)
def test_every_page_of_a_guide_not_adopted_shows_the_notice(client: FlaskClient, registry: Registry,
                                                             guide_id: str, lang: str) -> None:
    guide = registry.guides[guide_id]
    for path in (f"/municipalities/{guide_id}", f"/municipalities/{guide_id}/try"):
        html = client.get(f"{path}?lang={lang}").get_data(as_text=True)
        assert html.count(NOTICE) == 1, path
        assert f'data-status="{guide.status}"' in html
        for source in guide.sources:
            assert source.url in html and source.read in html


def test_the_notice_says_example_or_draft_in_each_language(client: FlaskClient) -> None:
    # the three languages say it in their own words, and an example is not called a draft
    notices = {lang: client.get(f"/municipalities/tromso?lang={lang}").get_data(as_text=True) for lang in LANGUAGES}
    assert "ikke bekreftet av kommunen" in notices["nb"]
    assert "ikkje stadfesta av kommunen" in notices["nn"]
    assert "not confirmed by the municipality" in notices["en"]
    national = client.get("/municipalities/national?lang=en").get_data(as_text=True)
    assert "Draft – not adopted" in national and "not confirmed by the municipality" not in national


def test_the_index_groups_guides_by_status(client: FlaskClient) -> None:
    html = client.get("/?lang=en").get_data(as_text=True)
    draft, example = html.index('data-status="draft"'), html.index('data-status="example"')
    assert draft < example  # adopted first, then drafts, then examples
    assert html.index('data-guide="national"') < example < html.index('data-guide="tromso"')


def _write_guide(root: Path, extra: str) -> Path:
    folder = root / "demo"
    (folder / "rules").mkdir(parents=True)
    (folder / "guide.yaml").write_text(f"id: demo\nname: Demo\nversion: '1'\nextends: national\n{extra}",
                                       encoding="utf-8")
    (folder / "rules" / "extra.yaml").write_text(
        "group: demo_local\ntitle: Local\nrules:\n  - id: absence_note\n    title: Absence\n    because: A note.\n"
        "    when: {decision.level: 1, reporter.service: school}\n    then: {steps: [write_concern_note]}\n",
        encoding="utf-8")
    return folder


def test_an_unknown_status_is_refused_with_a_suggestion(tmp_path: Path, registry: Registry) -> None:
    folder = _write_guide(tmp_path, "status: adoptd\n")
    with pytest.raises(RuleFileError) as caught:
        load_guide(folder, registry.guides[NATIONAL], tmp_path)
    problem = next(p for p in caught.value.problems if p.path == "status")
    assert problem.line == 5 and "adopted" in problem.suggestions


def test_a_guide_without_status_is_a_draft(tmp_path: Path, registry: Registry) -> None:
    guide = load_guide(_write_guide(tmp_path, ""), registry.guides[NATIONAL], tmp_path)
    assert guide.status == "draft" and not guide.adopted and guide.sources == ()


def test_check_warns_about_no_sources_and_refuses_a_bundled_adopted_guide(tmp_path: Path,
                                                                          registry: Registry) -> None:
    adopted = load_guide(_write_guide(tmp_path, "status: adopted\n"), registry.guides[NATIONAL], tmp_path)
    found = {(p.path, p.severity) for p in status_problems(adopted, bundled=True)}
    assert found == {("sources", "warning"), ("status", "error")}
    # outside the bundled folder a municipality may of course mark its own guide adopted
    assert {(p.path, p.severity) for p in status_problems(adopted, bundled=False)} == {("sources", "warning")}
