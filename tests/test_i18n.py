"""The gettext catalogues (i18n/): complete in every language, read with plurals and fallbacks,
and the checker that guards them finds what a translator can get wrong."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from flask.testing import FlaskClient

import i18n
from i18n import read_catalogue
from i18n.check import catalogue_problems, extracted, problems
from rules.model import Guide


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


# --- messages: by key, in the chosen language, with labels rather than codes --------------------

DECISIONS = "/v1/municipalities/national/decisions"
CASE = {"subject": {"kind": "child", "age": 9}, "reporter": {"service": "school"}, "signals": ["bullying"]}


def _details(client: FlaskClient, body: object, lang: str) -> list[dict[str, object]]:
    response = client.post(f"{DECISIONS}?lang={lang}", json=body)
    assert response.status_code == 422, response.get_json()
    return list(response.get_json()["error"]["details"])


@pytest.mark.parametrize(("body", "field"), [
    ({"reporter": {"service": "school"}, "signals": ["bullying"]}, "subject"),  # required
    ({**CASE, "subject": None}, "subject"),  # null
    ({**CASE, "subject": ["child", 9]}, "subject"),  # not an object
    ({**CASE, "signals": "bullying"}, "signals"),  # not a list
    ({**CASE, "signals": []}, "signals"),  # too short
    ({**CASE, "extra": 1}, "extra"),  # unknown field
    ({**CASE, "subject": {"kind": "child", "age": 9, "name": "x"}}, "subject.name"),  # unknown nested field
])
def test_marshmallow_messages_are_translated_by_key_not_english_text(client: FlaskClient, body: object,
                                                                    field: str) -> None:
    """Marshmallow's messages were looked up by their English wording (and one limit was written
    into a message); now each has a key, and every language has its own text."""
    by_lang = {lang: _details(client, body, lang) for lang in ("nb", "nn", "en")}
    messages = {lang: next(d["message"] for d in details if d["field"] == field) for lang, details in by_lang.items()}
    assert len(set(messages.values())) == 3, messages
    english_marshmallow = ("Missing data", "Field may not be null", "Invalid input type", "Not a valid", "Length must",
                           "Unknown field", "Invalid value")
    assert not any(m.startswith(english_marshmallow) for m in messages.values()), messages


def test_signal_list_limits_come_from_the_schema(client: FlaskClient) -> None:
    from schemas.request import MAX_SIGNALS

    (detail,) = _details(client, {**CASE, "signals": []}, "nb")
    assert detail["message"] == f"må ha fra 1 til {MAX_SIGNALS} elementer"


def test_age_out_of_range_names_who_it_is_about_not_the_code(client: FlaskClient, guide: Guide) -> None:
    """It said "alderen må være 0–23 år for child"."""
    lo, hi = guide.settings.child_age_min, guide.settings.child_age_max
    too_old = {**CASE, "subject": {"kind": "child", "age": hi + 1}}
    expected = {
        "nb": f"alderen må være {lo}–{hi} år for barn og unge i denne veilederen",
        "nn": f"alderen må vere {lo}–{hi} år for born og unge i denne rettleiaren",
        "en": f"the age must be {lo}–{hi} for a child or young person in this guide",
    }
    for lang, message in expected.items():
        (detail,) = _details(client, too_old, lang)
        assert detail == {"field": "subject.age", "message": message, "suggestions": []}


def test_a_signal_for_the_wrong_subject_is_named_by_its_label(client: FlaskClient, guide: Guide) -> None:
    code = next(c for c, s in guide.catalog.signals.items() if s.subjects == ("pregnant",))
    label = guide.catalog.signals[code].label
    (detail,) = _details(client, {**CASE, "signals": [code]}, "nn")
    assert detail["field"] == "signals[0].code"
    assert detail["message"] == f"«{label.in_lang('nn')}» gjeld berre for gravide"


@pytest.mark.parametrize(("body", "field", "nynorsk"), [
    ({**CASE, "extra": 1}, "extra", "ukjend felt; gyldige felt her: subject, reporter, signals, family, consent, "
                                    "status"),
    ({**CASE, "signals": ["bogus_signal"]}, "signals[0].code", "ukjend kode «bogus_signal»"),
    ({**CASE, "subject": {"kind": "adult", "age": 9}}, "subject.kind", "ukjend verdi «adult»; gyldige verdiar: "
                                                                       "child, pregnant"),
])
def test_nynorsk_messages_say_ukjend_not_ukjent(client: FlaskClient, body: object, field: str, nynorsk: str) -> None:
    """Nynorsk answered "ukjent felt" beside "ukjend kode"."""
    details = _details(client, body, "nn")
    assert [d["message"] for d in details if d["field"] == field] == [nynorsk]
    assert not any("ukjent" in str(d["message"]) for d in details)


@pytest.mark.parametrize(("body", "field", "first"), [
    ({**CASE, "reporter": {"service": "skole"}}, "reporter.service", "school"),
    ({**CASE, "reporter": {"service": "Skule"}}, "reporter.service", "school"),
    ({**CASE, "signals": ["mobbing"]}, "signals[0].code", "bullying"),
    ({**CASE, "signals": [{"code": "Mobbing", "strength": "concern"}]}, "signals[0].code", "bullying"),
    ({**CASE, "signals": ["bulying"]}, "signals[0].code", "bullying"),
])
def test_a_norwegian_word_where_a_code_belongs_gets_the_code_suggested(client: FlaskClient, body: object,
                                                                     field: str, first: str) -> None:
    """"service": "skole" and "signal": "mobbing" got no suggestion: labels in nb, nn and en are
    matched as well as the codes."""
    (detail,) = [d for d in _details(client, body, "nb") if d["field"] == field]
    assert detail["suggestions"][0] == first, detail


# words that are bokmål only; nynorsk writes ukjend, ikkje, kven, kva, kvifor, korleis, kvar, frå,
# vere, sjølv, nokon, teneste, rettleiar, manglar, berre, gjer, dagar, òg
BOKMAL_ONLY = {"ukjent", "ikke", "hvem", "hva", "hvorfor", "hvordan", "hvor", "fra", "være", "selv", "noen",
               "tjeneste", "tjenester", "tjenesten", "veileder", "veilederen", "mangler", "bare", "gjør", "dager",
               "også"}


@pytest.mark.parametrize("domain", i18n.DOMAINS)
def test_nynorsk_texts_use_no_bokmal_forms(domain: str) -> None:
    """Nynorsk mixed "ukjent" (bokmål) with "ukjend"."""
    found = []
    for message in read_catalogue("nn", domain):
        forms = message.string if isinstance(message.string, list | tuple) else [message.string]
        for form in forms:
            words = set(re.findall(r"\w+", (form or "").lower()))
            if words & BOKMAL_ONLY:
                found.append((message.id, sorted(words & BOKMAL_ONLY)))
    assert found == []


def test_a_message_with_literal_braces_shows_single_braces(client: FlaskClient) -> None:
    """A message without parameters was shown unformatted: 'a signal is a code or {{"code": …'."""
    (detail,) = _details(client, {**CASE, "signals": [5]}, "en")
    assert detail["message"] == 'a signal is a code or {"code": …, "strength": …}'
