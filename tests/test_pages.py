"""The web pages without a browser: statuses, languages, the 404 page, resources served by the
service itself, and the guide page generated from each bundled guide's rules.

Browser behaviour (the playground's script, screenshots, axe) is in test_pages_browser.py.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest
from flask.testing import FlaskClient

from i18n import texts
from rules.loader import Registry
from rules.model import LANGUAGES, URGENT_STEPS, FieldTest, Guide
from service.guide_view import at_level, describe

MUNICIPALITIES = Path(__file__).resolve().parent.parent / "municipalities"
GUIDE_IDS = sorted(p.name for p in MUNICIPALITIES.iterdir() if (p / "guide.yaml").is_file())
STATIC = Path(__file__).resolve().parent.parent / "service" / "static"
EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
LOVDATA = "https://lovdata.no/dokument/"


class Resources(HTMLParser):
    """Every URL an HTML page loads or links to, by (tag, attribute)."""

    LOADS: ClassVar[set[tuple[str, str]]] = {
        ("link", "href"), ("script", "src"), ("img", "src"), ("iframe", "src"), ("source", "src"), ("video", "src"),
        ("audio", "src"), ("object", "data"), ("embed", "src"), ("form", "action")}

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.links: list[str] = []
        self.styles: list[str] = []
        self.html_lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if (tag, name) in self.LOADS:
                self.loads.append(value)
            elif tag == "a" and name == "href":
                self.links.append(value)
            elif name == "style":
                self.styles.append(value)
            elif tag == "html" and name == "lang":
                self.html_lang = value


def parse(html: str) -> Resources:
    parser = Resources()
    parser.feed(html)
    return parser


PAGES = ["/", *(f"/municipalities/{g}" for g in GUIDE_IDS), *(f"/municipalities/{g}/try" for g in GUIDE_IDS)]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("path", PAGES)
def test_page_in_each_language(client: FlaskClient, path: str, lang: str) -> None:
    response = client.get(f"{path}?lang={lang}")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Content-Language"] == lang
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    page = parse(response.get_data(as_text=True))
    assert page.html_lang == lang
    # the language switch offers every language and marks the current one
    html = response.get_data(as_text=True)
    for other in LANGUAGES:
        assert f'data-lang="{other}"' in html
    assert re.search(rf'data-lang="{lang}" aria-current="true"', html)


def _addresses_in_guide_data(client: FlaskClient) -> set[str]:
    """Every web address the served guides give as data (their sources, tools, contacts, laws)."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "url" and isinstance(item, str):
                    found.add(item)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for guide_id in GUIDE_IDS:
        walk(client.get(f"/v1/municipalities/{guide_id}").get_json())
    return found


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_nothing_from_outside(client: FlaskClient, path: str) -> None:
    page = parse(client.get(path).get_data(as_text=True))
    assert page.loads, "a page loads at least its style sheet"
    for url in page.loads:
        assert not EXTERNAL.match(url), f"{path} loads {url} from outside the service"
    # a page links out only to a cited statute's text at Lovdata and to the addresses the guides give as
    # data (their sources, tools and contacts); nothing else leaves the service
    outside = {url for url in page.links if EXTERNAL.match(url) and not url.startswith(LOVDATA)}
    assert outside <= _addresses_in_guide_data(client), f"{path} links to {outside} outside the guides' data"
    assert not page.styles, "inline styles would need 'unsafe-inline' in the CSP"
    for url in page.loads:
        if url.startswith("/"):
            with client.get(url) as response:  # a static file: close what it streams
                assert response.status_code == 200, url


@pytest.mark.parametrize("name", sorted(p.name for p in STATIC.iterdir()))
def test_static_files_refer_to_nothing_outside(client: FlaskClient, name: str) -> None:
    with client.get(f"/assets/{name}") as response:
        assert response.status_code == 200
        body = response.get_data(as_text=True).replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert not re.search(r"https?://", body), f"{name} refers to a URL outside the service"
    assert "@import" not in body and "fonts.googleapis" not in body


@pytest.mark.parametrize("path", ["/municipalities/nowhere", "/municipalities/nowhere/try"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_unknown_municipality_is_a_404_page(client: FlaskClient, path: str, lang: str) -> None:
    response = client.get(f"{path}?lang={lang}")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    page = parse(html)
    assert page.html_lang == lang
    assert "nowhere" in html
    assert any(link.startswith("/?") or link == "/" for link in page.links), "the 404 page links to the index"


def test_unsupported_language_falls_back_on_pages(client: FlaskClient) -> None:
    response = client.get("/?lang=de", headers={"Accept-Language": "nn-NO,nn;q=0.9"})
    assert response.status_code == 200
    assert parse(response.get_data(as_text=True)).html_lang == "nn"


def test_accept_language_chooses_the_page_language(client: FlaskClient) -> None:
    response = client.get("/municipalities/national", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert parse(response.get_data(as_text=True)).html_lang == "en"


def test_index_lists_every_guide(client: FlaskClient, registry: Registry) -> None:
    html = client.get("/?lang=en").get_data(as_text=True)
    for guide in registry.guides.values():
        assert guide.name.in_lang("en") in html
        assert guide.digest in html
        assert f'data-guide="{guide.id}"' in html
        for href in (f"/municipalities/{guide.id}?lang=en", f"/municipalities/{guide.id}/try?lang=en"):
            assert f'href="{href}"' in html
    assert 'href="/docs"' in html


@pytest.mark.parametrize("guide_id", GUIDE_IDS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_guide_page_is_generated_from_the_guide(client: FlaskClient, registry: Registry, guide_id: str,
                                                lang: str) -> None:
    guide = registry.guides[guide_id]
    html = client.get(f"/municipalities/{guide_id}?lang={lang}").get_data(as_text=True)
    for level in range(4):
        assert f'data-level="{level}"' in html
        assert _escaped(guide.level_name(level, lang)) in html
    bypass = html[html.index('id="bypass"'):html.index('id="levels"')]
    for rule in guide.rules:
        if rule.group == "bypass":
            assert f'data-rule="{rule.id}"' in bypass, f"bypass rule {rule.id} missing from the bypass section"
    for code in {s for r in guide.rules for s in r.then.steps}:
        step = guide.catalog.steps[code]
        assert f'id="step-{code}"' in html
        for law in step.legal_basis:
            assert _escaped(law) in html
    for service in guide.catalog.services.values():
        if service.local:
            assert f'data-service="{service.code}"' in html
    for rule in guide.rules:
        if rule.guide == guide_id and guide_id != "national":
            assert f'data-rule="{rule.id}"' in html, f"local rule {rule.id} missing"
    assert guide.version in html and guide.digest in html
    assert f"{guide.settings.youth_consent_age}" in html
    assert html.index('id="bypass"') < html.index('id="levels"'), "bypass situations come first"


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;").replace(
        '"', "&#34;")


@pytest.mark.parametrize("guide_id", GUIDE_IDS)
def test_playground_offers_every_code_of_the_guide(client: FlaskClient, registry: Registry, guide_id: str) -> None:
    guide = registry.guides[guide_id]
    html = client.get(f"/municipalities/{guide_id}/try?lang=nb").get_data(as_text=True)
    for code in guide.catalog.signals:
        assert f'id="sig-{code}"' in html
        assert f'<label for="sig-{code}">' in html
    for code in guide.catalog.services:
        assert f'<option value="{code}"' in html
        assert f'name="involved" value="{code}"' in html
    blob = html[html.index('id="playground-data">') + len('id="playground-data">'):]
    data = json.loads(blob[:blob.index("</script>")])
    assert data["api"] == f"/municipalities/{guide_id}/try/decisions?lang=nb"  # the playground's own route
    assert data["ages"]["child"] == [guide.settings.child_age_min, guide.settings.child_age_max]
    assert data["texts"] == texts("nb")


# --- the guide read back: a rule's dependence on the decided level -------------------------


@pytest.mark.parametrize(("op", "value", "holds_at"), [
    ("equals", 0, {0}),
    ("at_least", 1, {1, 2, 3}),
    ("at_least", 2, {2, 3}),
    ("at_most", 1, {0, 1}),
    ("below", 3, {0, 1, 2}),
    ("one_of", (0, 3), {0, 3}),
    ("between", (1, 2), {1, 2}),
])
def test_level_tests_are_decided_per_level(guide: Guide, op: str, value: object, holds_at: set[int]) -> None:
    test = FieldTest("decision.level", op, value)
    assert {n for n in range(4) if at_level(test, n, guide.settings) is True} == holds_at
    assert {n for n in range(4) if at_level(test, n, guide.settings) is False} == set(range(4)) - holds_at


def test_other_tests_are_left_for_the_case(guide: Guide) -> None:
    rule = next(r for r in guide.rules if r.id == "national.steps.health_journal")
    rest = at_level(rule.when, 2, guide.settings)
    assert rest == FieldTest("reporter.health_service", "equals", True)
    assert at_level(rule.when, 0, guide.settings) is False
    assert describe(rest, guide, "en") == "the reporter is a health service"


@pytest.mark.parametrize(("rule_id", "lang", "words"), [
    ("national.bypass.abuse_by_caregiver_report", "en",
     "violence by a caregiver or sexual abuse (reason to believe), under 18"),
    ("national.bypass.acute_danger", "nb", "akutt fare (uansett styrke)"),
    ("national.levels.new_concern", "nn", "eit kva som helst teikn (uro eller sterkare)"),
])
def test_conditions_in_plain_words(guide: Guide, rule_id: str, lang: str, words: str) -> None:
    rule = next(r for r in guide.rules if r.id == rule_id)
    assert describe(rule.when, guide, lang) == words


def test_urgent_bypass_cards_are_marked(client: FlaskClient, guide: Guide) -> None:
    html = client.get("/municipalities/national?lang=en").get_data(as_text=True)
    urgent = [r for r in guide.rules if r.group == "bypass" and URGENT_STEPS & set(r.then.steps)]
    assert urgent
    assert html.count('class="card urgent"') >= 3  # acute danger, abuse by a caregiver, social control
