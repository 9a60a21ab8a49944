"""Read-only views of the catalog and of a guide, in one language."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rules.model import Catalog, Guide
from service.pathway_view import pathway_body


def catalog_body(catalog: Catalog, lang: str) -> dict[str, Any]:
    return {
        "lang": lang,
        "levels": [{"level": n, "label": t.in_lang(lang)} for n, t in sorted(catalog.levels.items())],
        "services": [{"code": s.code, "label": s.label.in_lang(lang), "health": s.health, "reports": s.reports}
                     for s in catalog.services.values()],
        "signals": [{"code": s.code, "group": s.group, "label": s.label.in_lang(lang), "subjects": list(s.subjects)}
                    for s in catalog.signals.values()],
        "strengths": [{"code": c, "label": t.in_lang(lang)} for c, t in catalog.strengths.items()],
        "steps": [{"code": s.code, "kind": s.kind, "label": s.label.in_lang(lang), "text": s.text.in_lang(lang),
                   "legal_basis": list(s.legal_basis),
                   "legal_basis_by_reporter": {k: list(v) for k, v in s.legal_basis_by_reporter.items()},
                   "legal_basis_by_signal": [{"signals": list(sig), "legal_basis": list(b)}
                                             for sig, b in s.legal_basis_by_signal],
                   "guidance": list(s.guidance)}
                  for s in catalog.steps.values()],
        "forbidden": [{"code": f.code, "label": f.label.in_lang(lang), "text": f.text.in_lang(lang),
                       "legal_basis": list(f.legal_basis), "guidance": list(f.guidance)}
                      for f in catalog.forbidden.values()],
        "roles": [{"code": c, "label": t.in_lang(lang)} for c, t in catalog.roles.items()],
        "consent_parties": [{"code": c, "label": t.in_lang(lang)} for c, t in catalog.consent_parties.items()],
    }


def municipality_body(guide: Guide, lang: str) -> dict[str, Any]:
    settings = asdict(guide.settings)
    settings["relay_holder_titles"] = {k: v.in_lang(lang) for k, v in guide.settings.relay_holder_titles.items()}
    settings["languages"] = list(guide.settings.languages)
    return {
        "id": guide.id,
        "name": guide.name.in_lang(lang),
        "version": guide.version,
        "digest": guide.digest,
        "status": guide.status,
        "sources": [{"title": s.title, "url": s.url, "read": s.read} for s in guide.sources],
        "extends": guide.extends,
        "date": guide.date,
        "languages": list(guide.settings.languages),
        "settings": settings,
        "levels": [{"code": str(n), "label": guide.level_name(n, lang)} for n in range(4)],
        "local_services": [{"code": s.code, "label": s.label.in_lang(lang)}
                           for s in guide.catalog.services.values() if s.local],
        "rules": [{"id": r.id, "title": r.title.in_lang(lang), "group": r.group, "file": r.file, "line": r.line}
                  for r in guide.rules],
        **pathway_body(guide, lang),
    }
