"""The web pages: the index of guides, each guide's published action guide, and a playground
that decides imagined cases through the JSON API.

Every page is generated from the loaded guides (their rules, catalog and settings); the page
texts around them come from the ``pages`` catalogues (:mod:`i18n`), in the language asked for with ``?lang=``.
Everything is served from here: no CDN, no external font.
"""

from __future__ import annotations

import json
import threading
from datetime import date
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, url_for

from i18n import N_, language_names, plural_forms, text, texts
from rules.loader import NATIONAL
from rules.model import CONSENT_ANSWERS, GUIDE_STATUSES, STRENGTHS, Guide
from service.app import store_of
from service.guide_view import GuidePage, build_guide_page
from service.http import current_language
from service.openapi import documented
from service.pathway_page import PathwayPage, build_pathway_page, for_reporter
from service.playground import enabled as playground_enabled
from service.playground import issue_token

pages = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
                  static_url_path="/assets")

# Scripts, styles, images and fetches only from the service itself.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                           "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
                           "form-action 'self'; frame-ancestors 'none'")
SIGNAL_GROUPS = ("child", "family", "serious", "complex_needs", "pregnancy")
# the groups' headings, looked up as text(f"group_{group}") (named here for `make translations`)
GROUP_TEXTS = (N_("group_child"), N_("group_family"), N_("group_serious"), N_("group_complex_needs"),
               N_("group_pregnancy"))

# the form's name for each field of a request, for the playground's list of problems
FIELD_LABELS = {
    "subject.kind": N_("kind"), "subject.age": N_("age"), "reporter.service": N_("reporter"),
    "signals": N_("signals_legend"), "family.parental_responsibility": N_("responsibility"),
    "consent.parents": N_("consent_parents"), "consent.subject": N_("consent_subject"),
    "status.current_level": N_("current_level"), "status.measures_effective": N_("measures"),
    "status.services_involved": N_("services_involved"), "status.complex_long_term_needs": N_("complex_long_term"),
    "status.step": N_("step_reached"),
}

_page_cache: dict[tuple[str, str, str], GuidePage] = {}
_path_cache: dict[tuple[str, str, str], PathwayPage] = {}
# query parameters a page keeps when its language is switched
KEPT_ARGS = ("reporter",)
_dates: dict[tuple[str, str], str] = {}
_cache_lock = threading.Lock()


@pages.after_request
def _security_headers(response: Response) -> Response:
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


def _frame(**context: Any) -> dict[str, Any]:
    """What every page template needs: the language, its texts and the language switch."""
    lang = current_language()
    endpoint = request.endpoint or "pages.index"
    args = dict(request.view_args or {})
    args.update({name: request.args[name] for name in KEPT_ARGS if request.args.get(name)})
    switch = [{"code": code, "name": name, "current": code == lang, "url": url_for(endpoint, **args, lang=code)}
              for code, name in language_names().items()]
    return {"lang": lang, "t": texts(lang), "langs": switch, **context}


def _not_found(municipality: str) -> tuple[str, int]:
    lang = current_language()
    html = render_template("pages/404.html", **_frame(
        message=text("not_found_text", lang, id=municipality)))
    return html, 404


def _national(guide: Guide) -> Guide:
    return store_of(current_app).get(NATIONAL) or guide


def _guide_page(guide: Guide, lang: str) -> GuidePage:
    """The page's content, built once per guide version and language."""
    key = (guide.id, guide.digest, lang)
    with _cache_lock:
        cached = _page_cache.get(key)
    if cached is None:
        cached = build_guide_page(guide, _national(guide), lang)
        with _cache_lock:
            if len(_page_cache) > 256:
                _page_cache.clear()
            _page_cache[key] = cached
    return cached


def _pathway_page(guide: Guide, lang: str) -> PathwayPage:
    """The pathway's content, built once per guide version and language."""
    key = (guide.id, guide.digest, lang)
    with _cache_lock:
        cached = _path_cache.get(key)
    if cached is None:
        cached = build_pathway_page(guide, lang)
        with _cache_lock:
            if len(_path_cache) > 256:
                _path_cache.clear()
            _path_cache[key] = cached
    return cached


def _changed_on(guide: Guide) -> str:
    """The guide's date (guide.yaml `date:`), else the date its rule files (and, for a
    municipality, the national ones) last changed, looked up once per guide version."""
    if guide.date:
        return guide.date  # the date the guide itself gives
    key = (guide.id, guide.digest)
    with _cache_lock:
        known = _dates.get(key)
    if known is not None:
        return known
    root = store_of(current_app).root
    national = _national(guide)
    paths = [root / guide.id / name for name in guide.files]
    if guide.extends:
        paths += [root / national.id / name for name in national.files]
    times = [p.stat().st_mtime for p in paths if Path(p).is_file()]
    found = date.fromtimestamp(max(times)).isoformat() if times else ""
    with _cache_lock:
        _dates[key] = found
    return found


@pages.get("/")
@documented(operation_id="pageIndex", summary="The guides served, for people", tag="pages", media_type="text/html",
            description="An HTML page", languages=True)
def index() -> str:
    lang = current_language()
    registry = store_of(current_app).registry
    guides = [{"id": g.id, "name": g.name.in_lang(lang), "version": g.version, "date": _changed_on(g),
               "digest": g.digest, "extends": g.extends, "status": g.status, "sources": g.sources}
              for g in registry.guides.values()]
    # Grouped by what they rest on: adopted guides first, then drafts, then examples.
    groups = [(status, [g for g in guides if g["status"] == status]) for status in GUIDE_STATUSES]
    return render_template("pages/index.html", **_frame(guides=guides, groups=[(s, gs) for s, gs in groups if gs],
                                                        failed=sorted(registry.errors)))


@pages.get("/municipalities/<municipality>")
@documented(operation_id="pageGuide", summary="A guide's published action guide, generated from its rules",
            tag="pages", media_type="text/html", description="An HTML page", languages=True,
            other={404: "no guide with this id (an HTML page)"})
def guide_page(municipality: str) -> str | tuple[str, int]:
    guide = store_of(current_app).get(municipality)
    if guide is None:
        return _not_found(municipality)
    lang = current_language()
    path = _pathway_page(guide, lang)
    reporters = dict(path.reporters)
    asked = request.args.get("reporter") or None
    reporter = asked if asked in reporters else None
    return render_template("pages/guide.html", **_frame(
        guide=guide, name=guide.name.in_lang(lang), page=_guide_page(guide, lang), changed_on=_changed_on(guide),
        national_name=_national(guide).name.in_lang(lang), path=for_reporter(path, reporter), reporter=reporter,
        reporter_label=reporters.get(reporter or ""), unknown_reporter=asked if asked and not reporter else None))


@pages.get("/municipalities/<municipality>/tools")
@documented(operation_id="pageTools", summary="The forms, guides and web pages a guide names", tag="pages",
            media_type="text/html", description="An HTML page", languages=True,
            other={404: "no guide with this id (an HTML page)"})
def tools_page(municipality: str) -> str | tuple[str, int]:
    guide = store_of(current_app).get(municipality)
    if guide is None:
        return _not_found(municipality)
    lang = current_language()
    return render_template("pages/tools.html", **_frame(
        guide=guide, name=guide.name.in_lang(lang), path=_pathway_page(guide, lang)))


@pages.get("/municipalities/<municipality>/try")
@documented(operation_id="pagePlayground", summary="Try imagined cases against a guide", tag="pages",
            media_type="text/html", description="An HTML page", languages=True,
            other={404: "no guide with this id (an HTML page)"})
def playground(municipality: str) -> str | tuple[str, int]:
    guide = store_of(current_app).get(municipality)
    if guide is None:
        return _not_found(municipality)
    lang = current_language()
    catalog, settings = guide.catalog, guide.settings
    services = [{"code": s.code, "label": s.label.in_lang(lang)} for s in catalog.services.values()]
    groups = [{"code": group, "label": text(f"group_{group}", lang),
               "signals": [{"code": s.code, "label": s.label.in_lang(lang), "subjects": " ".join(s.subjects)}
                           for s in catalog.signals.values() if s.group == group]}
              for group in SIGNAL_GROUPS]
    groups = [g for g in groups if g["signals"]]
    strengths = [{"code": code, "label": catalog.strengths[code].in_lang(lang)} for code in STRENGTHS]
    data = {
        "municipality": guide.id,
        "guideName": guide.name.in_lang(lang),
        "lang": lang,
        # the playground's own route: it needs no API key, only the token of this page
        "api": url_for("playground.decide_for_page", municipality=guide.id, lang=lang),
        "token": issue_token(current_app, guide.id),
        "playgroundOff": not playground_enabled(current_app),
        "texts": texts(lang),
        "dueWithin": plural_forms("due_within", "due_within_plural", lang),
        "roles": {code: label.in_lang(lang) for code, label in catalog.roles.items()},
        "consentParties": {code: label.in_lang(lang) for code, label in catalog.consent_parties.items()},
        "signals": {code: s.label.in_lang(lang) for code, s in catalog.signals.items()},
        "stepLabels": {code: s.label.in_lang(lang) for code, s in catalog.steps.items()},
        "forbiddenLabels": {code: f.label.in_lang(lang) for code, f in catalog.forbidden.items()},
        "strengths": {s["code"]: s["label"] for s in strengths},
        "fieldLabels": {path: text(key, lang) for path, key in FIELD_LABELS.items()},
        # each level's steps in the guide's titles, with the reporters each can apply to, for the
        # "step the case is at" choice (status.step)
        "pathway": {str(lv.level): [{"id": st.id, "title": st.title, "reporters": sorted(st.reporters)}
                                    for st in lv.steps] for lv in _pathway_page(guide, lang).levels},
        "ages": {"child": [settings.child_age_min, settings.child_age_max],
                 "pregnant": [settings.pregnant_age_min, settings.pregnant_age_max]},
    }
    default_age = min(max(9, settings.child_age_min), settings.child_age_max)
    # with every "<" written as \u003c (still the same JSON) nothing in it can end or alter the
    # script element, whatever a guide's texts hold
    data_json = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    return render_template("pages/try.html", **_frame(
        guide=guide, name=guide.name.in_lang(lang), services=services, signal_groups=groups,
        strengths=strengths, levels=[guide.level_name(n, lang) for n in range(4)],
        consent_answers=CONSENT_ANSWERS, default_age=default_age, data_json=data_json))
