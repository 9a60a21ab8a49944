"""``bti laws``: every provision the national catalog cites, where it is used, and which citations
an adopted act not yet in force will change (docs/national-guide.md, "Legal references as dated
data"), so that a maintainer knows what to revise before the date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from i18n import text
from rules.catalog import CATALOG_FILE, load_catalog
from rules.errors import Problem
from rules.laws import LAWS_FILE, Change, citation_problems, load_laws, provisions
from rules.yamlsource import read_yaml


def _when(change: Change, lang: str) -> str:
    return text("laws_from", lang, date=change.in_force.isoformat()) if change.in_force else text("laws_not_set", lang)


def laws_report(national: Path, as_of: dt.date, lang: str = "nb") -> tuple[str, list[Problem]]:
    """The report for the national guide in ``national``, and the catalog's citation problems
    (a citation not in the registry: the report then leaves it out)."""
    catalog = load_catalog(national / CATALOG_FILE)
    registry = load_laws(national / LAWS_FILE, str(national / LAWS_FILE))
    problems = citation_problems(catalog, registry, read_yaml(national / CATALOG_FILE))
    found = provisions(catalog, registry, as_of)
    lines = [text("laws_heading", lang, date=as_of.isoformat()), ""]
    used_in, changed_by = text("laws_used", lang), text("laws_will_change", lang)
    for p in found:
        since = (text("laws_in_force", lang, date=p.act.in_force.isoformat()) if p.act.in_force
                 else text("laws_in_force_unknown", lang))
        lines.append(f"{p.citation} — {p.section.about.in_lang(lang)}")
        lines.append(f"    {p.act.id} ({p.act.title}), {since}: {p.section.url or p.act.url}")
        lines.append(f"    {used_in}: {', '.join(p.used_in)}")
        for change, affected in p.changes:
            lines.append(f"    {changed_by} {change.id} ({_when(change, lang)}): "
                         f"{affected.what.in_lang(lang)}")
    cited = {p.citation for p in found}
    pending = [c for c in registry.changes if c.pending(as_of)]
    done = [c for c in registry.changes if not c.pending(as_of)]
    headings = (text("laws_pending", lang, date=as_of.isoformat()), text("laws_done", lang, date=as_of.isoformat()))
    for heading, changes in zip(headings, (pending, done), strict=True):
        if not changes:
            continue
        lines += ["", heading]
        for change in changes:
            note = f" — {change.in_force_note.in_lang(lang)}" if change.in_force_note else ""
            lines.append(f"  {change.id} {change.title} ({_when(change, lang)}){note}")
            lines.append(f"    {change.url}")
            for affected in change.affects:
                if affected.citation not in cited:
                    continue
                successor = affected.becomes or text("laws_no_successor", lang)
                lines.append(f"    {affected.citation} → {successor}: {affected.what.in_lang(lang)}")
    changing = sum(1 for p in found if p.changes)
    lines += ["", text("laws_summary", lang, n=len(found), m=changing)]
    return "\n".join(lines), problems

