"""The guide page's pathway without a browser: the overview links every step of every level, each
level shows its steps with the phone numbers for when the levels are skipped, tools link to the
tools page, and the reporter filter keeps the steps a reporter's variant has.

Expected values come from docs/rule-language.md ("The pathway"): the fixed numbers 112 and 113,
the national defaults 02800 (police) and 116 111 (emergency helpline), and the worked example in
which schools get step 1.1 and everybody else 1.1b.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from rules.loader import Registry
from rules.model import LANGUAGES
from service.app import create_app
from tests.test_pathway import GUIDE_YAML

ROOT = Path(__file__).resolve().parent.parent
MUNICIPALITIES = ROOT / "municipalities"
GUIDE_IDS = sorted(p.name for p in MUNICIPALITIES.iterdir() if (p / "guide.yaml").is_file())
FIXED_NUMBERS = ("112", "113", "02800", "116 111")


def _level_section(html: str, level: int) -> str:
    start = html.index(f'<section id="level-{level}"')
    return html[start:html.index("</section>", start)]


def _overview(html: str) -> str:
    return html[html.index('<nav id="pathway"'):html.index('<section id="level-0"')]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("guide_id", GUIDE_IDS)
def test_overview_links_every_step_of_every_level(client: FlaskClient, registry: Registry, guide_id: str,
                                                  lang: str) -> None:
    guide = registry.guides[guide_id]
    html = client.get(f"/municipalities/{guide_id}?lang={lang}").get_data(as_text=True)
    overview = _overview(html)
    assert html.index('<nav id="pathway"') < html.index('id="bypass"'), "the pathway comes before the bypass rules"
    for level in sorted(guide.pathway.levels):
        assert f'href="#level-{level}"' in overview
        section = _level_section(html, level)
        for step in guide.pathway.levels[level].steps:
            assert f'href="#path-{step.id}"' in overview, f"step {step.id} missing from the overview"
            assert f'id="path-{step.id}"' in section, f"step {step.id} not in the section of level {level}"
    assert len(re.findall(r'id="path-', html)) == len(guide.pathway.steps())


@pytest.mark.parametrize("guide_id", GUIDE_IDS)
def test_every_level_shows_the_numbers_for_skipping_the_levels(client: FlaskClient, registry: Registry,
                                                               guide_id: str) -> None:
    guide = registry.guides[guide_id]
    html = client.get(f"/municipalities/{guide_id}?lang=en").get_data(as_text=True)
    child_welfare = guide.pathway.contacts.get("child_welfare")
    for level in sorted(guide.pathway.levels):
        banner = _level_section(html, level).split('class="bypass-banner"', 1)[1].split("</div>", 1)[0]
        for number in FIXED_NUMBERS:
            assert f">{number}</a>" in banner, f"{number} missing on level {level}"
        if child_welfare is not None and child_welfare.phone:
            assert f">{child_welfare.phone}</a>" in banner
        assert 'href="#bypass"' in banner, "the bypass rules are one click away"


@pytest.mark.parametrize("guide_id", GUIDE_IDS)
def test_tools_link_to_the_tools_page_which_lists_them(client: FlaskClient, registry: Registry,
                                                       guide_id: str) -> None:
    guide = registry.guides[guide_id]
    html = client.get(f"/municipalities/{guide_id}?lang=nb").get_data(as_text=True)
    tools_page = client.get(f"/municipalities/{guide_id}/tools?lang=nb")
    assert tools_page.status_code == 200
    tools_html = tools_page.get_data(as_text=True)
    for step in guide.pathway.steps():
        for tool in step.tools:
            assert f'href="/municipalities/{guide_id}/tools?lang=nb#tool-{tool}"' in html
    for tool in guide.pathway.tools.values():
        row = tools_html.split(f'id="tool-{tool.id}"', 1)[1].split("</tr>", 1)[0]
        assert tool.title.in_lang("nb") in row
        if tool.url is not None:
            assert f'href="{tool.url.in_lang("nb")}"' in row
        else:
            assert "ingen adresse" in row


def test_tools_page_of_an_unknown_guide_is_a_404(client: FlaskClient) -> None:
    assert client.get("/municipalities/nowhere/tools").status_code == 404


def test_the_national_guide_has_no_reporter_filter(client: FlaskClient) -> None:
    html = client.get("/municipalities/national").get_data(as_text=True)
    assert "data-filter" not in html  # no step of the national pathway depends on the reporter


# --- a guide with variants: docs/rule-language.md's worked example ------------------------------


def make_variant_root(root: Path) -> Path:
    """``root`` holding the national guide and "testkommune", whose pathway is the worked example."""
    shutil.copytree(MUNICIPALITIES / "national", root / "national")
    folder = root / "testkommune"
    folder.mkdir()
    (folder / "guide.yaml").write_text(GUIDE_YAML, encoding="utf-8")
    doc = (ROOT / "docs" / "rule-language.md").read_text(encoding="utf-8")
    example = doc.split("<!-- pathway-example -->", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (folder / "pathway.yaml").write_text(example, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def variant_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    root = make_variant_root(tmp_path_factory.mktemp("municipalities"))
    app = create_app({"TESTING": True, "BTI_MUNICIPALITIES": str(root)})
    with app.test_client() as client:
        yield client


def _steps_of_level_1(html: str) -> list[str]:
    return re.findall(r'data-step="([^"]+)"', _level_section(html, 1))


def test_all_variants_are_shown_without_a_filter(variant_client: FlaskClient) -> None:
    html = variant_client.get("/municipalities/testkommune?lang=en").get_data(as_text=True)
    assert _steps_of_level_1(html) == ["1.1", "1.1b", "1.2", "1.3", "1.4"]
    assert 'data-reporter="school"' in html and 'data-reporter="health_station"' in html
    assert "Only when" in _level_section(html, 1)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_reporter_filter_keeps_the_reporters_steps(variant_client: FlaskClient, lang: str) -> None:
    school = variant_client.get(f"/municipalities/testkommune?lang={lang}&reporter=school").get_data(as_text=True)
    assert _steps_of_level_1(school) == ["1.1", "1.2", "1.3", "1.4"]
    numbers = re.findall(r'<span class="num">(\d+)\.</span>', _level_section(school, 1))
    assert numbers == ["1", "2", "3", "4"], "the filtered steps are numbered as a decision numbers them"
    assert 'href="#path-1.1b"' not in _overview(school)
    other = variant_client.get(f"/municipalities/testkommune?lang={lang}&reporter=health_station")
    assert _steps_of_level_1(other.get_data(as_text=True)) == ["1.1b", "1.2", "1.3", "1.4"]
    # the language switch keeps the filter
    for code in LANGUAGES:
        assert f'href="/municipalities/testkommune?reporter=school&amp;lang={code}"' in school or \
            f'href="/municipalities/testkommune?lang={code}&amp;reporter=school"' in school


def test_an_unknown_reporter_shows_every_step_and_says_so(variant_client: FlaskClient) -> None:
    resp = variant_client.get("/municipalities/testkommune?lang=en&reporter=<nobody>")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert _steps_of_level_1(html) == ["1.1", "1.1b", "1.2", "1.3", "1.4"]
    assert "&lt;nobody&gt;" in html and "<nobody>" not in html
