"""The guide's pathway, tools, teams and contacts as data, in one language, for
``GET /v1/municipalities/{id}`` (docs/api.md): enough for an application to show the guide
without the web page. Conditions are given in the rule language's own words."""

from __future__ import annotations

from typing import Any

from rules.describe import describe_condition
from rules.model import Guide
from rules.pathway import PathwayStep, Who
from rules.pathway_loader import describe_reporters


def _who(guide: Guide, who: Who, lang: str) -> dict[str, Any]:
    """A person by their role in the case (the relay holder's title depends on the reporter, so
    it has no label here), or a service with its label."""
    services, titles = guide.catalog.services, guide.pathway.titles
    if who.kind == "relay_holder":
        label = who.label
        return {"kind": who.kind, "service": None, "role": "relay_holder",
                "label": label.in_lang(lang) if label else None}
    if who.kind == "wondering_owner":
        label = who.label or titles.get("wondering_owner")
        return {"kind": who.kind, "service": None, "role": "reporter", "label": label.in_lang(lang) if label else None}
    service = "leader" if who.kind == "leader" else who.service or ""
    role = "consult" if who.kind == "leader" else who.role
    return {"kind": who.kind, "service": service, "role": role,
            "label": (who.label or services[service].label).in_lang(lang)}


def _reporters(guide: Guide, step: PathwayStep) -> list[str]:
    return describe_reporters(step, guide.catalog, guide.settings)


def step_body(guide: Guide, step: PathwayStep, lang: str) -> dict[str, Any]:
    return {
        "id": step.id, "number": step.number, "title": step.title.in_lang(lang), "text": step.text.in_lang(lang),
        "who": [_who(guide, w, lang) for w in step.who],
        "due_days": step.due_days, "due_from": step.due_from,
        "due_if": [{"when": describe_condition(d.when), "days": d.days} for d in step.deadlines],
        "tools": list(step.tools),
        "outcomes": [{"when": o.when, "go": o.go, "step": o.step, "text": o.text.in_lang(lang)} for o in step.outcomes],
        "applies_when": describe_condition(step.when) if step.when is not None else None,
        "reporters": _reporters(guide, step),
    }


def pathway_body(guide: Guide, lang: str) -> dict[str, Any]:
    pathway, services = guide.pathway, guide.catalog.services
    shown_on: dict[str, list[str]] = {}
    for code, info in guide.catalog.steps.items():
        if info.actor and code not in pathway.emergency_numbers:
            shown_on.setdefault(info.actor.service, []).append(code)
    return {
        "level_names": [{"level": n, "label": (level.label if level.label else str(n)),
                         "name": guide.level_name(n, lang)} for n, level in sorted(pathway.levels.items())],
        "pathway": [{"level": n, "label": level.label or str(n), "title": guide.level_name(n, lang),
                     "steps": [step_body(guide, s, lang) for s in level.steps]}
                    for n, level in sorted(pathway.levels.items())],
        "tools": [{"id": t.id, "title": t.title.in_lang(lang), "kind": t.kind,
                   "url": t.url.in_lang(lang) if t.url else None} for t in pathway.tools.values()],
        "teams": [{"service": t.service, "label": services[t.service].label.in_lang(lang),
                   "text": t.text.in_lang(lang) if t.text else None, "members": list(t.members),
                   "meets": t.meets.in_lang(lang) if t.meets else None,
                   "how_to_refer": t.how_to_refer.in_lang(lang) if t.how_to_refer else None,
                   "family_attends": t.family_attends, "levels": list(t.levels), "url": t.url}
                  for t in pathway.teams.values()],
        "contacts": [
            *({"service": None, "steps": [code], "label": c.label.in_lang(lang), "phone": c.phone, "url": c.url}
              for code, c in pathway.emergency_numbers.items()),
            *({"service": service, "steps": shown_on.get(service, []), "label": c.label.in_lang(lang),
               "phone": c.phone, "url": c.url} for service, c in pathway.contacts.items()),
        ],
    }
