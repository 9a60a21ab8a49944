"""The gettext catalogues (i18n/): complete in every language, read with plurals and fallbacks,
and the checker that guards them finds what a translator can get wrong."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from flask.testing import FlaskClient

import i18n
from i18n.check import catalogue_problems, extracted, problems


def test_catalogues_are_complete_in_every_language() -> None:
    assert problems() == []


def test_extraction_finds_keys_in_code_templates_and_script() -> None:
    pages = extracted("pages")
    assert "site_name" in pages  # a template's t.site_name
    assert "scenario_check" in pages  # the playground script's T.scenario_check
    assert "cmp_at_least" in pages  # a computed name, declared with N_
    assert pages["days"] == ("days", "days_plural")  # ntext
    api = extracted("api")
    assert {"unknown_value", "malformed_json", "reason_syntax", "unknown_field"} <= set(api)


def _catalog(lang: str, entries: dict[str, str | tuple[str, ...]], fuzzy: tuple[str, ...] = ()) -> Catalog:
    catalog = Catalog(locale=lang, domain="pages")
    for key, value in entries.items():
        if isinstance(value, tuple):
            catalog.add((key, f"{key}_plural"), value)
        else:
            catalog.add(key, value, flags=("fuzzy",) if key in fuzzy else ())
    return catalog


USED = {"title": ("title",), "greeting": ("greeting",), "days": ("days", "days_plural")}
REFERENCE = _catalog("nb", {"title": "Tittel", "greeting": "Hei {name}", "days": ("{n} dag", "{n} dager")})


@pytest.mark.parametrize(("entries", "fuzzy", "expected"), [
    ({"greeting": "Hello {name}", "days": ("{n} day", "{n} days")}, (), "'title' is missing"),
    ({"title": "", "greeting": "Hello {name}", "days": ("{n} day", "{n} days")}, (), "'title' is not translated"),
    ({"title": "Title", "greeting": "Hello {name}", "days": ("{n} day", "")}, (), "'days' is not translated"),
    ({"title": "Title", "greeting": "Hello", "days": ("{n} day", "{n} days")}, (), "must use the parameters"),
    ({"title": "Title", "greeting": "Hello {nmae}", "days": ("{n} day", "{n} days")}, (), "that bokmål lacks"),
    ({"title": "Title", "greeting": "Hello {name}", "days": "{n} days"}, (), "needs 2 plural forms"),
    ({"title": "Title", "greeting": "Hello {name}", "days": ("{n} day", "{n} days")}, ("title",), "fuzzy"),
    ({"title": "Title", "greeting": "Hello {name}", "days": ("{n} day", "{n} days"), "old": "Old"}, (),
     "'old' is not used by the code"),
])
def test_checker_finds_what_a_translator_can_get_wrong(entries: dict[str, str | tuple[str, ...]],
                                                       fuzzy: tuple[str, ...], expected: str) -> None:
    found = list(catalogue_problems(_catalog("en", entries, fuzzy), USED, REFERENCE, "en"))
    assert any(expected in problem for problem in found), found


def test_checker_accepts_a_complete_catalogue() -> None:
    complete = _catalog("en", {"title": "Title", "greeting": "Hello {name}", "days": ("{n} day", "{n} days")})
    assert list(catalogue_problems(complete, USED, REFERENCE, "en")) == []


def test_northern_sami_needs_three_plural_forms() -> None:
    """A language's plural rules come from its locale: Northern Sámi has one, two and other."""
    two_forms = _catalog("se", {"title": "Namma", "greeting": "Bures {name}", "days": ("{n} beaivi", "{n} beaivvi")})
    found = list(catalogue_problems(two_forms, USED, REFERENCE, "se"))
    assert any("needs 3 plural forms" in problem for problem in found), found


@pytest.mark.parametrize(("lang", "n", "expected"), [
    ("nb", 1, "1 dag"), ("nb", 3, "3 dager"), ("nn", 3, "3 dagar"), ("en", 1, "1 day"), ("en", 0, "0 days"),
])
def test_plural_forms_follow_the_number(lang: str, n: int, expected: str) -> None:
    assert i18n.ntext("days", "days_plural", n, lang) == expected


def test_texts_are_read_by_key_in_each_language() -> None:
    assert i18n.text("site_name", "nn") == "BTI-rettleiarar"
    assert i18n.text("unknown_value", "en", domain="api", value="x", valid="a, b") == \
        "unknown value 'x'; valid values: a, b"
    assert i18n.text("site_name", "xx") == i18n.text("site_name", "nb")  # no catalogue: bokmål


SAMI_PAGES = """\
msgid ""
msgstr ""
"Language: se\\n"
"Content-Type: text/plain; charset=utf-8\\n"

msgid "language_name"
msgstr "Davvisámegiella"

msgid "language"
msgstr "Giella"
"""


@pytest.fixture()
def with_sami(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The catalogues with a first, partial Northern Sámi translation of the pages added."""
    locale = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, locale)
    (locale / "se" / "LC_MESSAGES").mkdir(parents=True)
    (locale / "se" / "LC_MESSAGES" / "pages.po").write_text(SAMI_PAGES, encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", locale)
    monkeypatch.setattr(i18n, "_cache", {})
    monkeypatch.setattr(i18n, "LANGUAGES", i18n.discover())
    yield


@pytest.mark.usefixtures("with_sami")
def test_an_added_language_is_served_and_falls_back_to_bokmal(client: FlaskClient) -> None:
    """What docs/translation.md promises a translator: a folder of .po files is a new language, with
    no change to Python; what it does not translate yet is shown in bokmål."""
    assert i18n.LANGUAGES == ("nb", "nn", "en", "se")
    assert i18n.language_names()["se"] == "Davvisámegiella"
    assert i18n.text("site_name", "se") == "BTI-veiledere"  # not translated yet: bokmål
    assert i18n.text("unknown_field", "se", domain="api") == "ukjent felt"  # no api catalogue yet
    page = client.get("/?lang=se")
    assert page.status_code == 200 and page.headers["Content-Language"] == "se"
    html = page.get_data(as_text=True)
    assert "Davvisámegiella" in html and "Giella" in html
    assert client.get("/", headers={"Accept-Language": "se-NO, en;q=0.5"}).headers["Content-Language"] == "se"
    answer = client.post("/v1/municipalities/national/decisions?lang=se", json={
        "subject": {"kind": "child", "age": 9}, "reporter": {"service": "school"}, "signals": ["bullying"]})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["lang"] == "nb"  # the rule files have no Sámi texts: the guide speaks bokmål
