"""docs/api.md keeps up with the service: every code of the national catalog and every route is
described there, and the tables that fix an order list it as the catalog does."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask

from rules.loader import Registry
from rules.model import Guide

API_DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def _api_doc() -> str:
    return API_DOC.read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    """The text under ``heading`` (a whole heading line) up to the next heading of any level."""
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    following = re.search(r"^#{1,6} ", text[start:], flags=re.MULTILINE)
    return text[start:start + following.start()] if following else text[start:]


def _table_codes(section: str) -> list[str]:
    """The backquoted codes of the table rows of ``section``, in order (first and second column)."""
    codes: list[str] = []
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = line.strip("|").split("|")
            for cell in cells[:2]:
                codes.extend(re.findall(r"`([a-z0-9_]+)`", cell))
    return codes


def test_every_code_of_the_national_catalog_is_in_the_api_doc(guide: Guide) -> None:
    text = _api_doc()
    catalog = guide.catalog
    sections = {
        "services": catalog.services, "signals": catalog.signals, "strengths": catalog.strengths,
        "steps": catalog.steps, "forbidden actions": catalog.forbidden, "roles": catalog.roles,
        "consent parties": catalog.consent_parties,
    }
    missing = {name: [code for code in codes if f"`{code}`" not in text] for name, codes in sections.items()}
    assert not any(missing.values()), f"docs/api.md, Vocabulary, does not name these codes: {missing}"


def test_the_api_doc_lists_steps_and_forbidden_actions_in_the_catalog_order(guide: Guide) -> None:
    text = _api_doc()
    steps = [c for c in _table_codes(_section(text, "### Steps")) if c in guide.catalog.steps]
    assert steps == list(guide.catalog.steps)
    forbidden = [c for c in _table_codes(_section(text, "### Forbidden actions")) if c in guide.catalog.forbidden]
    assert forbidden == list(guide.catalog.forbidden)


def test_every_route_is_in_the_api_doc(app: Flask) -> None:
    text = _api_doc()
    # a guide id is written {id} in the doc, any other path variable {file}
    paths = {re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: "{id}" if m[1] == "municipality" else "{file}", rule.rule)
             for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    missing = sorted(path for path in paths if f"`GET {path}`" not in text and f"`POST {path}`" not in text)
    assert not missing, f"docs/api.md does not describe these routes: {missing}"


def _anchors(markdown: str) -> set[str]:
    """The anchors a heading gets when the page is rendered (GitHub's rule: lower case, spaces to
    hyphens, punctuation other than hyphens and underscores dropped)."""
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+)$", markdown, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def test_links_between_the_docs_lead_somewhere() -> None:
    """Every relative link in README.md and docs/*.md names a file of the repository and, when it
    has one, a heading of that file."""
    root = API_DOC.parent.parent
    broken: list[str] = []
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{page.relative_to(root)}: {target} (no such file)")
            elif anchor and file.suffix == ".md" and anchor not in _anchors(file.read_text(encoding="utf-8")):
                broken.append(f"{page.relative_to(root)}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_the_readme_links_every_page_of_the_docs() -> None:
    root = API_DOC.parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    missing = [page.name for page in sorted((root / "docs").glob("*.md")) if f"](docs/{page.name})" not in readme]
    assert not missing, f"README.md's docs list does not link: {missing}"


def test_the_published_guide_example_in_the_rule_language_guide_loads(tmp_path: Path, registry: Registry) -> None:
    """docs/rule-language.md, "From a published guide": its level 1 loads as it says. The national
    ids are reused, nynorsk falls back to the bokmål text, the evaluation's "no" offers two ways
    on, and a decision at the evaluation step shows the five steps with it current."""
    from rules.case import Case
    from rules.evaluate import evaluate
    from rules.prepare import prepare
    from tests.test_pathway import make_guide

    doc = (API_DOC.parent / "rule-language.md").read_text(encoding="utf-8")
    example = doc.split("<!-- pathway-example-published -->", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    guide = make_guide(tmp_path, registry.guides["national"], example)
    steps = guide.pathway.levels[1].steps
    assert [s.id for s in steps] == ["1.1", "1.2", "1.3", "1.4", "1.5"]
    assert steps[0].title.in_lang("nn") == steps[0].title.in_lang("nb") == "Møte med foreldrene og barnet"
    assert [(o.when, o.go, o.step) for o in steps[4].outcomes] == [
        ("yes", "stop", None), ("partly", "continue", None), ("no", "back", "1.2"), ("no", "up", None)]
    assert [s.id for s in guide.pathway.levels[2].steps] == [
        s.id for s in registry.guides["national"].pathway.levels[2].steps]  # a level left out stays national
    decided = evaluate(prepare(guide), Case(subject_kind="child", age=9, reporter="school",
                                            signals={"school_absence": 2}, current_level=1, step="1.4"))
    assert decided.pathway is not None
    assert [(s.id, s.status) for s in decided.pathway.steps] == [
        ("1.1", "done"), ("1.2", "done"), ("1.3", "done"), ("1.4", "current"), ("1.5", "next")]
