"""The web pages in a real browser: Playwright driving Debian's Chromium against a server the
tests start on 127.0.0.1.

Without /usr/bin/chromium (or without the playwright package) these tests skip and say how to
install it; with the environment variable CI set they fail instead, because CI must run them.
Screenshots of each page land in test-artifacts/ (git-ignored), with axe-core's findings.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from werkzeug.serving import BaseWSGIServer, make_server

from rules.loader import Registry
from service.app import create_app
from toolkit.scenarios import load_scenarios, run_scenario

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

pytestmark = pytest.mark.slow  # a real browser against a real server: seconds a test

ROOT = Path(__file__).resolve().parent.parent
MUNICIPALITIES = ROOT / "municipalities"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("BTI_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
GUIDE_IDS = sorted(p.name for p in MUNICIPALITIES.iterdir() if (p / "guide.yaml").is_file())
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}
SERIOUS = {"serious", "critical"}


# --- the browser and the server ------------------------------------------------------------


def _browser_problem() -> str | None:
    if not CHROMIUM.exists():
        return (f"no Chromium at {CHROMIUM}: install Debian's with `apt-get install chromium` "
                "(or run .ci/install-browser); never `playwright install`")
    try:
        import axe_playwright_python  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed: pip install -e '.[dev]'"
    return None


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    problem = _browser_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests are required in CI: {problem}")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """The service on a free port of 127.0.0.1, in a thread of this process."""
    app = create_app({"TESTING": True, "BTI_MUNICIPALITIES": str(MUNICIPALITIES)})
    httpd: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, name="bti-test-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def variant_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service over the national guide and a guide whose steps differ by reporter."""
    from tests.test_pages_pathway import make_variant_root

    root = make_variant_root(tmp_path_factory.mktemp("municipalities"))
    app = create_app({"TESTING": True, "BTI_MUNICIPALITIES": str(root)})
    httpd: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, name="bti-test-variants", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def context(browser: Browser) -> Iterator[BrowserContext]:
    """One browser context for the tests (a fresh page each): the pages keep no state."""
    context = browser.new_context(viewport=DESKTOP, locale="nb-NO")
    yield context
    context.close()


@pytest.fixture()
def page(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(f"{msg.text} ({msg.location.get('url')})")
            if msg.type == "error" and "/nowhere" not in msg.location.get("url", "") else None)
    yield page
    page.close()
    assert not errors, f"the page reported errors: {errors}"


def shoot(page: Page, name: str, long: bool = False, phone_full: bool = True) -> None:
    """Screenshots at desktop and phone width; the phone view must not scroll sideways. A long
    page is saved as JPEG (a full-page PNG of it takes seconds); ``phone_full`` False keeps only
    the first screen on the phone."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("() => window.scrollTo(0, 0)")  # sticky parts sit where a reader first sees them
    kind: dict[str, Any] = {"type": "jpeg", "quality": 70} if long else {"type": "png"}
    suffix = "jpg" if long else "png"
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(ARTIFACTS / f"{name}-desktop.{suffix}"), full_page=True, **kind)
    page.set_viewport_size(PHONE)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    page.screenshot(path=str(ARTIFACTS / f"{name}-phone.{suffix}"), full_page=phone_full, **kind)
    page.set_viewport_size(DESKTOP)
    assert overflow <= 0, f"{name} scrolls sideways on a phone by {overflow}px"


def api_decision(server: str, guide_id: str, request: Any, lang: str = "nb") -> tuple[int, Any]:
    body = json.dumps(request).encode()
    req = urllib.request.Request(f"{server}/v1/municipalities/{guide_id}/decisions?lang={lang}", data=body,
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


# --- index and guide pages -----------------------------------------------------------------


def test_index_lists_the_guides_and_skips_to_content(page: Page, server: str, registry: Registry) -> None:
    page.goto(f"{server}/?lang=nb")
    assert page.locator("html").get_attribute("lang") == "nb"
    items = page.locator(".guide-item")
    assert items.count() == len(registry.guides)
    for guide in registry.guides.values():
        item = page.locator(f'.guide-item[data-guide="{guide.id}"]')
        assert guide.name.in_lang("nb") in item.inner_text()
        assert guide.version in item.inner_text()
        assert guide.digest not in item.inner_text()  # folded away: employees see version and date
    # keyboard: the first Tab reaches the skip link, Enter moves to the main content
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    shoot(page, "index")
    national = page.locator('.guide-item[data-guide="national"]')
    national.locator("summary").click()  # the digest is there for whoever checks it
    assert registry.guides["national"].digest in national.inner_text()


@pytest.mark.parametrize("guide_id", GUIDE_IDS)
def test_guide_page_shows_every_level_and_the_bypass(page: Page, server: str, registry: Registry,
                                                     guide_id: str) -> None:
    guide = registry.guides[guide_id]
    page.goto(f"{server}/municipalities/{guide_id}?lang=nb")
    assert page.locator("h1").inner_text() == guide.name.in_lang("nb")
    # the first screen shows the pathway overview: every level's name there, its steps below it
    overview = page.locator("#pathway")
    for name in overview.locator(".overview-name").all():
        box = name.bounding_box()
        assert box is not None and box["y"] + box["height"] <= DESKTOP["height"], \
            f"a level of the overview ends at {box} on a {DESKTOP['height']}px screen"
    for level, path in sorted(guide.pathway.levels.items()):
        item = overview.locator(f'[data-overview-level="{level}"]')
        assert item.is_visible()
        assert item.locator(".overview-name").inner_text().startswith(guide.level_name(level, "nb"))
        assert item.locator(".overview-steps > li").count() == len(path.steps)
    # the four levels sit side by side on a desktop: one row, left to right
    boxes = [overview.locator(f'[data-overview-level="{n}"]').bounding_box() for n in range(4)]
    assert all(b is not None for b in boxes)
    assert len({round(b["y"]) for b in boxes if b}) == 1 and [b["x"] for b in boxes if b] == sorted(
        b["x"] for b in boxes if b)
    # every level says whom to call when the levels are skipped; the bypass rules come after the levels
    for level in range(4):
        banner = page.locator(f"#level-{level} .bypass-banner")
        assert banner.is_visible() and "112" in banner.inner_text()
    # their rules come after the levels, folded: one click on the summary opens them
    bypass = page.locator("#bypass")
    assert bypass.is_visible()
    assert page.evaluate("() => document.getElementById('level-3').compareDocumentPosition("
                         "document.getElementById('bypass')) & Node.DOCUMENT_POSITION_FOLLOWING")
    assert not bypass.locator("article.card.urgent").first.is_visible()
    bypass.locator("summary").click()
    cards = bypass.locator("article.card")
    assert cards.count() >= 3
    for rule in (r for r in guide.rules if r.group == "bypass"):
        assert bypass.locator(f'[data-rule="{rule.id}"]').count() == 1, rule.id
    assert bypass.locator("article.card.urgent").first.is_visible()
    bypass.locator("summary").click()
    ARTIFACTS.mkdir(exist_ok=True)
    height = page.evaluate("() => document.documentElement.scrollHeight")
    (ARTIFACTS / f"guide-{guide_id}-height.txt").write_text(f"{height}\n", encoding="utf-8")
    shoot(page, f"guide-{guide_id}", long=True, phone_full=guide_id == "national")


def test_walk_from_the_overview_to_a_level_a_step_and_a_tool(page: Page, server: str, registry: Registry) -> None:
    guide = registry.guides["loten" if "loten" in registry.guides else "national"]
    step = next(s for s in guide.pathway.steps() if s.tools)
    tool = guide.pathway.tools[step.tools[0]]
    page.goto(f"{server}/municipalities/{guide.id}?lang=nb")
    page.locator(f'#pathway a[href="#level-{step.level}"]').click()
    assert page.evaluate("() => location.hash") == f"#level-{step.level}"
    assert page.locator(f"#level-{step.level}-h").is_visible()
    page.locator(f'#pathway a[data-step-link="{step.id}"]').click()
    card = page.locator(f'li.path-step[data-step="{step.id}"]')
    assert card.is_visible() and step.title.in_lang("nb") in card.locator("h3").inner_text()
    top = card.bounding_box()
    assert top is not None and 0 <= top["y"] < DESKTOP["height"], "the step is on screen after its link"
    card.locator(f'a[data-tool="{tool.id}"]').click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/municipalities/{guide.id}/tools?lang=nb#tool-{tool.id}")
    row = page.locator(f'tr[data-tool="{tool.id}"]')
    assert row.is_visible() and tool.title.in_lang("nb") in row.inner_text()
    # and back to the step the tool is used in
    row.locator(f'a[href$="#path-{step.id}"]').first.click()
    page.wait_for_load_state()
    assert page.locator(f'li.path-step[data-step="{step.id}"]').is_visible()
    shoot(page, f"tools-{guide.id}")


def test_reporter_filter_shows_a_reporters_steps_and_keeps_the_language(page: Page, variant_server: str) -> None:
    page.goto(f"{variant_server}/municipalities/testkommune?lang=nb")
    level_1 = page.locator("#level-1 li.path-step")
    assert [level_1.nth(i).get_attribute("data-step") for i in range(level_1.count())] == [
        "1.1", "1.1b", "1.2", "1.3", "1.4"]
    page.locator('#pathway a[data-reporter="school"]').click()
    page.wait_for_load_state()
    assert "reporter=school" in page.url
    assert page.locator('#pathway a[data-reporter="school"]').get_attribute("aria-current") == "true"
    assert [level_1.nth(i).get_attribute("data-step") for i in range(level_1.count())] == ["1.1", "1.2", "1.3", "1.4"]
    page.locator("nav.langs").get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "reporter=school" in page.url
    assert page.locator('#level-1 li.path-step[data-step="1.1b"]').count() == 0
    page.locator("#pathway .filter a").first.click()  # every service again
    page.wait_for_load_state()
    assert page.locator('#level-1 li.path-step[data-step="1.1b"]').count() == 1
    shoot(page, "guide-variants")


def test_guide_page_prints(page: Page, server: str) -> None:
    """On paper: the pathway, and the situations that skip the levels open; the rules and the
    duties as the reader left them on screen (folded: their summary; opened: all of it)."""
    page.goto(f"{server}/municipalities/national?lang=nb")
    page.emulate_media(media="print")
    assert not page.locator("nav.langs").is_visible()
    assert page.locator("#pathway").is_visible() and page.locator("#level-3 .bypass-banner").is_visible()
    assert page.locator("#bypass article.card.urgent").first.is_visible()
    assert page.locator("#duties-h").is_visible() and not page.locator("#duties table").first.is_visible()
    assert not page.locator("#levels").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = page.pdf(path=str(ARTIFACTS / "guide-national-print.pdf"), format="A4")
    assert pdf.startswith(b"%PDF")
    page.emulate_media(media="screen")
    page.locator("#duties-details > summary").click()
    page.emulate_media(media="print")
    assert page.locator("#duties table").first.is_visible()
    assert not page.locator("nav.toc").is_visible()
    # the script opens the folded situations for the browser's own printing, and folds them after
    page.emulate_media(media="screen")
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    assert page.locator("#bypass").evaluate("d => d.open")
    page.evaluate("() => window.dispatchEvent(new Event('afterprint'))")
    assert not page.locator("#bypass").evaluate("d => d.open")


def test_the_parts_behind_the_steps_are_folded_and_one_click_away(page: Page, server: str) -> None:
    """The page is the overview and the levels with their steps; the bypass rules, the rule cards
    and the duties are folded below them, and open from a link that leads into them."""
    page.goto(f"{server}/municipalities/national?lang=nb")
    for fold in ("bypass", "rules", "duties-details"):
        assert not page.locator(f"#{fold}").evaluate("d => d.open"), fold
    # the page ends soon after the last level: the folded parts add a few lines, not screens
    end_of_levels = page.evaluate("() => document.getElementById('level-3').getBoundingClientRect().bottom + scrollY")
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height - end_of_levels < 2 * DESKTOP["height"], (end_of_levels, height)
    # a level's banner leads to the situations, open
    page.locator("#level-2 .bypass-banner a[href='#bypass']").click()
    assert page.locator("#bypass").evaluate("d => d.open")
    card = page.locator("#bypass article.card.urgent").first
    assert card.is_visible()
    # a step named in a rule leads to the duties table, open, with that step's row on screen
    link = card.locator("ul.steps a[href^='#step-']").first
    code = (link.get_attribute("href") or "")[len("#step-"):]
    link.click()
    assert page.locator("#duties-details").evaluate("d => d.open")
    row = page.locator(f"#step-{code}")
    box = row.bounding_box()
    assert row.is_visible() and box is not None and -1 <= box["y"] < DESKTOP["height"]  # sub-pixel scroll positions
    # the rules behind the guide: from the overview, open, its contents leading on
    page.locator("#pathway .overview-more a[href='#rules']").click()
    assert page.locator("#rules").evaluate("d => d.open")
    page.locator("#rules nav.toc a[href='#consent']").click()
    assert page.locator("#consent-h").is_visible()
    # an address that leads into a fold opens it when the page loads
    page.goto(f"{server}/municipalities/national?lang=en#routing")
    assert page.locator("#rules").evaluate("d => d.open") and page.locator("#routing-h").is_visible()


def test_language_switch_on_the_guide_page(page: Page, server: str, registry: Registry) -> None:
    guide = registry.guides["overhalla" if "overhalla" in registry.guides else "national"]
    page.goto(f"{server}/municipalities/{guide.id}?lang=nb")
    for lang, name in (("en", "English"), ("nn", "Nynorsk"), ("nb", "Bokmål")):
        page.locator("nav.langs").get_by_role("link", name=name).click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == lang
        assert page.locator("h1").inner_text() == guide.name.in_lang(lang)
        assert page.locator('li.level[data-level="2"] h4').text_content().strip().startswith(guide.level_name(2, lang))
        assert page.locator("#level-2-h").inner_text().startswith(guide.level_name(2, lang))
        assert page.locator(f'nav.langs a[data-lang="{lang}"]').get_attribute("aria-current") == "true"
        # the links onwards keep the language
        onwards = page.locator(".page-head a.button").get_attribute("href")
        assert onwards == f"/municipalities/{guide.id}/try?lang={lang}"


# --- the playground ------------------------------------------------------------------------


def _signals(request: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s, "concern") if isinstance(s, str) else (s["code"], s.get("strength") or "concern")
            for s in request["signals"]]


def _expressible(request: Any) -> bool:
    """Cases the form can state as written: valid, each signal once."""
    if not isinstance(request, dict) or not isinstance(request.get("signals"), list):
        return False
    codes = [code for code, _ in _signals(request)]
    return len(codes) == len(set(codes))


def _playground_cases() -> list[Any]:
    cases = []
    for path in sorted((MUNICIPALITIES / "national" / "scenarios").glob("*.yaml")):
        picked = [s for s in load_scenarios(path, "national")
                  if "error" not in s.expect and s.lang == "nb" and _expressible(s.request)]
        cases += [pytest.param(s, id=f"{path.stem}-{s.line}") for s in picked[:1]]
    return cases


def normalise(request: dict[str, Any]) -> dict[str, Any]:
    """A request with its defaults filled in and its signals sorted, to compare two statements of it."""
    family, consent = request.get("family") or {}, request.get("consent") or {}
    status = {k: v for k, v in (request.get("status") or {}).items() if v not in (None, False, [])}
    if "services_involved" in status:
        status["services_involved"] = sorted(set(status["services_involved"]))
    return {"subject": request["subject"], "reporter": request["reporter"], "signals": sorted(_signals(request)),
            "family": family.get("parental_responsibility") or "shared",
            "consent": (consent.get("parents") or "not_asked", consent.get("subject") or "not_asked"),
            "status": status}


def fill_case(page: Page, request: dict[str, Any]) -> None:
    """State ``request`` with the form's controls, as a person would."""
    subject = request["subject"]
    page.check(f'input[name=kind][value="{subject["kind"]}"]')
    page.fill("#age", str(subject["age"]))
    page.select_option("#reporter", request["reporter"]["service"])
    for code, strength in _signals(request):
        page.select_option(f"#sig-{code}", strength)
    family = request.get("family") or {}
    page.select_option("#responsibility", family.get("parental_responsibility") or "shared")
    consent = request.get("consent") or {}
    page.select_option("#consent-parents", consent.get("parents") or "not_asked")
    page.select_option("#consent-subject", consent.get("subject") or "not_asked")
    status = request.get("status") or {}
    if status.get("current_level") is not None:
        page.select_option("#current-level", str(status["current_level"]))
        page.select_option("#step", status.get("step") or "")
        page.select_option("#measures", status.get("measures_effective") or "")
    for code in status.get("services_involved") or ():
        page.check(f'input[name=involved][value="{code}"]')
    if status.get("complex_long_term_needs"):
        page.check("#complex")


def wait_for_answer(page: Page) -> str:
    """Wait until the answer shown is the one for the request the form states now."""
    page.wait_for_function("""() => {
        const r = document.getElementById('result');
        return ['ok', 'invalid'].includes(r.dataset.state)
            && r.dataset.for === document.getElementById('request-json').textContent;
    }""", timeout=10_000)
    return str(page.locator("#result").get_attribute("data-state"))


def shown_decision(page: Page) -> dict[str, Any]:
    consent = page.locator("#result-consent")
    blocks = consent.get_attribute("data-blocks-level")
    return {
        "level": int(page.locator("#result").get_attribute("data-level") or -1),
        "level_text": page.locator("#result-level").inner_text(),
        "steps": page.eval_on_selector_all("#result-steps > li", "els => els.map(e => e.dataset.code)"),
        "labels": page.eval_on_selector_all("#result-steps > li > strong", "els => els.map(e => e.textContent)"),
        "laws": page.eval_on_selector_all("#result-steps > li .law", "els => els.map(e => e.textContent)"),
        "guidance": page.eval_on_selector_all("#result-steps > li",
                                              "els => els.map(e => (e.querySelector('.guidance') || {}).textContent"
                                              " || '')"),
        "forbidden": page.eval_on_selector_all("#result-forbidden > li", "els => els.map(e => e.dataset.code)"),
        "actors": page.eval_on_selector_all("#result-actors > li",
                                            "els => els.map(e => e.dataset.service + ':' + e.dataset.role)"),
        "explanation": page.eval_on_selector_all("#result-explanation > li", "els => els.map(e => e.dataset.rule)"),
        "pathway": {"paused": page.locator("#result-pathway").get_attribute("data-paused") == "true",
                    "steps": page.eval_on_selector_all("#result-pathway > li",
                                                       "els => els.map(e => [e.dataset.step, e.dataset.status])")},
        "consent": {"required_from": consent.get_attribute("data-required-from") or None,
                    "satisfied": consent.get_attribute("data-satisfied") == "true",
                    "blocks_level": int(blocks) if blocks else None},
    }


def assert_same_decision(shown: dict[str, Any], api: dict[str, Any]) -> None:
    assert shown["level"] == api["level"]
    assert api["level_name"] in shown["level_text"]
    assert shown["steps"] == [s["code"] for s in api["steps"]]
    assert shown["laws"] == [("§ " + "; ".join(s["legal_basis"])) if s["legal_basis"] else "" for s in api["steps"]]
    # the guidance beside the statutes, set apart under its own label ("Faglig anbefaling" in nb)
    label = {"nb": "Faglig anbefaling", "nn": "Fagleg tilråding", "en": "Professional guidance"}[api["lang"]]
    assert shown["guidance"] == [f"{label}: " + "; ".join(s["guidance"]) if s["guidance"] else ""
                                 for s in api["steps"]]
    assert shown["forbidden"] == [f["code"] for f in api["forbidden"]]
    assert shown["actors"] == [f"{a['service']}:{a['role']}" for a in api["actors"]]
    assert shown["explanation"] == [e["rule"] for e in api["explanation"]]
    assert shown["consent"] == api["consent"]
    assert shown["pathway"] == {"paused": api["pathway"]["paused"],
                                "steps": [[s["id"], s["status"]] for s in api["pathway"]["steps"]]}


@pytest.mark.parametrize("scenario", _playground_cases())
def test_playground_gives_the_decision_of_the_api(page: Page, server: str, registry: Registry,
                                                  scenario: Any) -> None:
    page.goto(f"{server}/municipalities/national/try?lang=nb")
    fill_case(page, scenario.request)
    assert wait_for_answer(page) == "ok"
    shown = shown_decision(page)
    # the page asked for the case as stated, and shows what the API answers for it
    sent = json.loads(page.locator("#request-json").text_content() or "")
    assert normalise(sent) == normalise(scenario.request)
    status, api = api_decision(server, "national", scenario.request)
    assert status == 200, api
    assert_same_decision(shown, api)
    catalog = registry.guides["national"].catalog
    assert shown["labels"] == [catalog.steps[code].label.in_lang("nb") for code in shown["steps"]]
    status, api_for_sent = api_decision(server, "national", sent)
    assert status == 200 and api_for_sent["steps"] == api["steps"]
    for key in ("level", "steps", "actors", "forbidden"):  # and what the scenario file expects
        if key in scenario.expect:
            assert shown[key] == scenario.expect[key], key


def test_playground_shows_the_step_the_case_is_at_and_the_pause(page: Page, server: str, registry: Registry) -> None:
    """The guide's steps of the answer's level, with the step the case is at and the next one
    marked (docs/api.md, the pathway); paused, without steps, when the parents are suspected."""
    guide = registry.guides["national"]
    level_1 = guide.pathway.levels[1].steps
    evaluation = level_1[3]  # meeting, plan, carry out, evaluate, decide: the shared BTI template
    page.goto(f"{server}/municipalities/national/try?lang=nb")
    assert page.locator("#step").is_disabled()  # a step belongs to a current level
    case = {"subject": {"kind": "child", "age": 9}, "reporter": {"service": "school"},
            "signals": [{"code": "school_absence", "strength": "concern"}]}
    fill_case(page, case)
    page.select_option("#current-level", "1")
    # the choice lists the level's steps in the guide's titles, in order
    options = page.eval_on_selector_all("#step option", "els => els.map(e => [e.value, e.textContent])")
    assert options[1:] == [[s.id, f"{n}. {s.title.in_lang('nb')}"] for n, s in enumerate(level_1, 1)]
    page.select_option("#step", evaluation.id)
    assert wait_for_answer(page) == "ok"
    sent = json.loads(page.locator("#request-json").text_content() or "")
    assert sent["status"] == {"current_level": 1, "step": evaluation.id}
    pathway = page.locator("#result-pathway")
    assert pathway.get_attribute("data-paused") == "false" and pathway.get_attribute("data-level") == "1"
    statuses = page.eval_on_selector_all("#result-pathway > li",
                                         "els => els.map(e => [e.dataset.step, e.dataset.status])")
    assert statuses == [[s.id, "done"] for s in level_1[:3]] + [[evaluation.id, "current"], [level_1[4].id, "next"]]
    current = pathway.locator("li[aria-current=step]")
    assert current.count() == 1 and current.get_attribute("data-step") == evaluation.id
    assert evaluation.title.in_lang("nb") in current.inner_text() and "Saken er her" in current.inner_text()
    assert "Neste" in pathway.locator('li[data-status="next"]').inner_text()
    # the scenario entry to copy states the pathway too
    expected = ('pathway: {level: 1, paused: false, steps: ["1.1", "1.2", "1.3", "1.4", "1.5"], '
                'current: "1.4", next: "1.5"}')
    assert expected in (page.locator("#scenario-yaml").text_content() or "")
    shoot(page, "playground-pathway", phone_full=False)
    # a caregiver's violence: the ladder waits (rule 7), no step is shown, the step stays chosen
    page.select_option("#sig-violence_by_caregiver", "concern")
    assert wait_for_answer(page) == "ok"
    assert page.locator("#result-pathway").get_attribute("data-paused") == "true"
    assert page.locator("#result-pathway > li").count() == 0
    assert page.locator("#result-pathway").inner_text().startswith("Stegene i veilederen venter")
    status, api = api_decision(server, "national", json.loads(page.locator("#request-json").text_content() or ""))
    assert status == 200 and api["pathway"]["paused"] is True and api["pathway"]["steps"] == []
    # another level lists its own steps, and forgets a step of the level before
    page.select_option("#current-level", "2")
    assert page.locator("#step").input_value() == ""
    assert page.eval_on_selector_all("#step option", "els => els.slice(1).map(e => e.value)") == [
        s.id for s in guide.pathway.levels[2].steps]


def test_playground_lists_the_steps_of_the_chosen_reporter(page: Page, variant_server: str) -> None:
    """Where a guide's steps differ by reporter, the step choice offers the reporter's own."""
    page.goto(f"{variant_server}/municipalities/testkommune/try?lang=nb")
    page.select_option("#reporter", "school")
    page.select_option("#current-level", "1")
    school = page.eval_on_selector_all("#step option", "els => els.slice(1).map(e => e.value)")
    page.select_option("#reporter", "kindergarten")  # the choice follows the reporter
    kindergarten = page.eval_on_selector_all("#step option", "els => els.slice(1).map(e => e.value)")
    assert school == ["1.1", "1.2", "1.3", "1.4"] and kindergarten == ["1.1b", "1.2", "1.3", "1.4"]


def test_playground_follows_keyboard_input_and_copies_a_scenario(browser: Browser, server: str,
                                                                 registry: Registry, tmp_path: Path) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page = context.new_page()
    try:
        page.goto(f"{server}/municipalities/national/try?lang=en")
        assert page.locator("#result").get_attribute("data-state") == "empty"
        # keyboard only: focus a signal's select and choose a strength with the arrow keys
        page.locator("#sig-withdrawn").focus()
        page.keyboard.press("ArrowDown")  # wondering
        page.keyboard.press("ArrowDown")  # concern
        assert wait_for_answer(page) == "ok"
        assert page.locator("#result").get_attribute("data-level") == "1"
        page.select_option("#current-level", "1")
        page.select_option("#measures", "no")
        page.check('input[name=involved][value="ppt"]')
        page.select_option("#consent-parents", "given")
        assert wait_for_answer(page) == "ok"
        request = json.loads(page.locator("#request-json").text_content() or "")
        status, api = api_decision(server, "national", request, "en")
        assert status == 200
        assert_same_decision(shown_decision(page), api)
        shoot(page, "try-national")

        page.click("#copy-request")
        page.wait_for_function("() => document.getElementById('copy-status').textContent.length > 0")
        assert json.loads(page.evaluate("() => navigator.clipboard.readText()")) == request
        page.click("#copy-scenario")
        page.wait_for_function("() => document.getElementById('copy-status').textContent.length > 0")
        entry = page.evaluate("() => navigator.clipboard.readText()")
        assert entry == page.locator("#scenario-yaml").text_content()

        # the copied entry is a scenario the runner accepts, and it passes
        suite = tmp_path / "tried.yaml"
        suite.write_text("suite: tried in the playground\ncases:\n" + entry, encoding="utf-8")
        assert isinstance(yaml.safe_load(suite.read_text(encoding="utf-8"))["cases"], list)
        (scenario,) = load_scenarios(suite, "national")
        assert scenario.request == request
        assert scenario.expect["level"] == api["level"]
        outcome = run_scenario(registry.prepared["national"], scenario)
        assert outcome.passed, outcome.mismatches

        # an invalid age shows the API's field errors
        page.fill("#age", "70")
        assert wait_for_answer(page) == "invalid"
        assert page.locator('#result-errors li[data-field="subject.age"]').count() == 1
        # named as the form names it, never by the API's field path or a code (it showed
        # "subject.age … for child"); the national range for a child is 0–25 (docs/api.md, Ages)
        shown_error = page.locator('#result-errors li[data-field="subject.age"]').text_content() or ""
        assert shown_error == "Age (years): the age must be 0–25 for a child or young person in this guide"
    finally:
        context.close()


def test_language_switch_keeps_the_case_in_the_playground(page: Page, server: str) -> None:
    page.goto(f"{server}/municipalities/national/try?lang=nb")
    fill_case(page, {"subject": {"kind": "child", "age": 10}, "reporter": {"service": "school"},
                     "signals": [{"code": "school_absence", "strength": "concern"}]})
    assert wait_for_answer(page) == "ok"
    before = page.locator("#request-json").text_content() or ""
    page.locator('nav.langs a[data-lang="nn"]').click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "nn"
    assert wait_for_answer(page) == "ok"
    assert (page.locator("#request-json").text_content() or "") == before
    status, api = api_decision(server, "national", json.loads(before), "nn")
    assert status == 200
    assert api["level_name"] in page.locator("#result-level").inner_text()
    assert page.locator("label[for=age]").inner_text() == "Alder (år)"
    assert page.locator("#answer-h").inner_text() == "Svaret"


# --- accessibility -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["index", "guide", "tools", "playground", "not-found"])
def test_axe_finds_no_serious_violations(page: Page, server: str, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    path = {"index": "/",
            "guide": "/municipalities/overhalla" if "overhalla" in GUIDE_IDS else "/municipalities/national",
            "tools": "/municipalities/loten/tools" if "loten" in GUIDE_IDS else "/municipalities/national/tools",
            "playground": "/municipalities/national/try", "not-found": "/municipalities/nowhere"}[name]
    page.goto(f"{server}{path}?lang=nb")
    if name == "playground":  # with an answer on show, and an error list
        fill_case(page, {"subject": {"kind": "child", "age": 9}, "reporter": {"service": "school"},
                         "signals": [{"code": "violence_by_caregiver", "strength": "reason_to_believe"}]})
        assert wait_for_answer(page) == "ok"
        page.locator("#request-details").evaluate("d => d.open = true")
    if name == "guide":  # with its folded parts open, so that axe-core checks them too
        page.locator("details.fold").evaluate_all("folds => folds.forEach(d => d.open = true)")
    results = Axe().run(page, options={"resultTypes": ["violations"]})
    assert len(results.response["passes"]) >= 20, "axe-core ran hardly any rules"
    violations = results.response["violations"]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(
        [{"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]]}
         for v in violations], indent=2, ensure_ascii=False), encoding="utf-8")
    serious = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
               for v in violations if v["impact"] in SERIOUS]
    assert not serious, "\n".join(serious)


def test_axe_would_see_a_serious_violation(page: Page) -> None:
    """The check above can fail: on a page with an unlabelled field and an image without text,
    axe-core reports serious or critical violations."""
    from axe_playwright_python.sync_playwright import Axe

    page.set_content('<html lang="nb"><head><title>x</title></head><body><main><h1>x</h1>'
                     '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><input type="text"></main></body></html>')
    impacts = {v["id"]: v["impact"] for v in Axe().run(page).response["violations"]}
    assert {"image-alt", "label"} <= set(impacts) and SERIOUS & set(impacts.values()), impacts


# --- the playground with API keys on (the production setting) -------------------------------------

@pytest.fixture(scope="module")
def keyed_server() -> Iterator[str]:
    from service.access import key_hash

    app = create_app({"TESTING": True, "BTI_MUNICIPALITIES": str(MUNICIPALITIES),
                      "BTI_API_KEYS": key_hash("a-key-the-page-does-not-have")})
    httpd: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, name="bti-keyed-test-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _settled(page: Page) -> str:
    page.wait_for_function("() => !['loading', 'empty'].includes(document.getElementById('result').dataset.state)",
                           timeout=10_000)
    return str(page.locator("#result").get_attribute("data-state"))


def test_playground_works_with_api_keys_on(page: Page, keyed_server: str) -> None:
    """Regression: with keys on the playground said "the case cannot be decided: missing API key"."""
    case = {"subject": {"kind": "child", "age": 9}, "reporter": {"service": "school"}, "signals": ["withdrawn"]}
    status, _ = api_decision(keyed_server, "national", case)
    assert status == 401  # the API itself still wants a key
    page.goto(f"{keyed_server}/municipalities/national/try?lang=en")
    fill_case(page, case)
    assert wait_for_answer(page) == "ok"


@pytest.mark.parametrize(("status", "code", "state"), [(401, "unauthorized", "refused"), (403, "forbidden", "refused"),
                                                       (503, "guide_unavailable", "failed"),
                                                       (500, "internal_error", "failed")])
def test_playground_never_blames_the_case_for_an_access_or_service_problem(
        context: BrowserContext, keyed_server: str, status: int, code: str, state: str) -> None:
    """Whatever the service answers other than a decision or a 422, the page says it is not about the
    case (the browser reports the refused request as a console error, so this page is not the fixture's)."""
    page = context.new_page()
    try:
        page.route("**/try/decisions*", lambda route: route.fulfill(
            status=status, content_type="application/json",
            body=json.dumps({"error": {"code": code, "message": "said by the service", "details": []}})))
        page.goto(f"{keyed_server}/municipalities/national/try?lang=en")
        fill_case(page, {"subject": {"kind": "child", "age": 9}, "reporter": {"service": "school"},
                         "signals": ["withdrawn"]})
        assert _settled(page) == state
        shown = page.locator("#result").inner_text()
        assert "cannot be decided" not in shown
        assert "cannot be decided" not in page.locator("#result-status").inner_text()
        assert "says nothing about the case" in shown
        assert "said by the service" in shown
        assert "error:" not in (page.locator("#scenario-yaml").text_content() or "")
    finally:
        page.close()
