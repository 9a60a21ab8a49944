"""A guide's pathway read back for people: what the guide page shows first (every level with its
steps, who does them, by when, with which tools and where they lead), the phone numbers for when
the levels are skipped, and the tools page. Computed from the guide's ``pathway.yaml`` (no Flask).

A step with a condition on the reporter (``when: {reporter.service: …}``) is a *variant*: the page
offers a filter by reporter, and :func:`for_reporter` keeps only the steps that can apply to one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from i18n import N_, ntext, text
from rules.model import Guide
from rules.pathway import PathwayStep, Who
from rules.pathway_loader import describe_reporters
from service.guide_view import describe

# Texts looked up by a computed name, named here for `make translations`.
COMPUTED_TEXTS = (
    N_("tool_kind_form"), N_("tool_kind_guide"), N_("tool_kind_template"), N_("tool_kind_plan"),
    N_("tool_kind_link"), N_("tool_kind_video"),
    N_("outcome_yes"), N_("outcome_partly"), N_("outcome_no"),
    N_("due_from_concern"), N_("due_from_level_start"),
)
# The child welfare contacts every level's banner shows after the fixed numbers, in this order.
BANNER_SERVICES = ("police", "child_welfare_emergency", "child_welfare")


@dataclass(frozen=True)
class ToolLink:
    id: str
    title: str
    kind: str
    url: str | None


@dataclass(frozen=True)
class StepCard:
    id: str
    anchor: str
    number: int
    title: str
    text: str
    who: tuple[str, ...]
    due: str | None
    due_if: tuple[str, ...]
    tools: tuple[ToolLink, ...]
    outcomes: tuple[tuple[str, str], ...]  # (the evaluation's answer in words, what happens)
    applies_when: str | None
    reporters: frozenset[str]  # the reporters it can apply to


@dataclass(frozen=True)
class LevelPath:
    level: int
    label: str
    name: str
    steps: tuple[StepCard, ...]


@dataclass(frozen=True)
class ContactView:
    label: str
    phone: str | None
    url: str | None


@dataclass(frozen=True)
class ToolRow:
    tool: ToolLink
    used_by: tuple[tuple[str, str, str], ...]  # (level label, step title, step anchor)


@dataclass(frozen=True)
class PathwayPage:
    levels: tuple[LevelPath, ...]
    contacts: tuple[ContactView, ...]
    reporters: tuple[tuple[str, str], ...]  # (code, label) to filter by; empty without variants
    tools: tuple[ToolRow, ...]


def step_anchor(step: PathwayStep) -> str:
    return f"path-{step.id}"


def _who(guide: Guide, who: Who, lang: str) -> str:
    pathway, services = guide.pathway, guide.catalog.services
    if who.label is not None:
        return who.label.in_lang(lang)
    if who.kind == "relay_holder":
        return text("who_relay_holder", lang)
    if who.kind == "wondering_owner":
        title = pathway.titles.get("wondering_owner")
        return title.in_lang(lang) if title else text("who_wondering_owner", lang)
    if who.kind == "leader":
        return text("who_leader", lang)
    service = services.get(who.service or "")
    return service.label.in_lang(lang) if service else (who.service or "")


def _due(days: int | None, due_from: str | None, lang: str) -> str | None:
    if days is None:
        return None
    within = ntext("due_within", "due_within_plural", days, lang)
    return f"{within} {text(f'due_from_{due_from}', lang)}" if due_from else within


def _tool(guide: Guide, tool_id: str, lang: str) -> ToolLink:
    tool = guide.pathway.tools[tool_id]
    return ToolLink(tool.id, tool.title.in_lang(lang), text(f"tool_kind_{tool.kind}", lang),
                    tool.url.in_lang(lang) if tool.url else None)


def _step(guide: Guide, step: PathwayStep, lang: str) -> StepCard:
    outcomes = tuple((text(f"outcome_{o.when}", lang), o.text.in_lang(lang)) for o in step.outcomes)
    return StepCard(
        id=step.id, anchor=step_anchor(step), number=step.number, title=step.title.in_lang(lang),
        text=step.text.in_lang(lang), who=tuple(_who(guide, w, lang) for w in step.who),
        due=_due(step.due_days, step.due_from, lang),
        due_if=tuple(text("due_if", lang, when=describe(d.when, guide, lang), due=_due(d.days, step.due_from, lang))
                     for d in step.deadlines),
        tools=tuple(_tool(guide, t, lang) for t in step.tools if t in guide.pathway.tools),
        outcomes=outcomes,
        applies_when=describe(step.when, guide, lang) if step.when is not None else None,
        reporters=frozenset(describe_reporters(step, guide.catalog, guide.settings)),
    )


def _contacts(guide: Guide, lang: str) -> tuple[ContactView, ...]:
    pathway = guide.pathway
    shown = [*pathway.emergency_numbers.values(),
             *(pathway.contacts[s] for s in BANNER_SERVICES if s in pathway.contacts)]
    return tuple(ContactView(c.label.in_lang(lang), c.phone, c.url) for c in shown)


def build_pathway_page(guide: Guide, lang: str) -> PathwayPage:
    """The pathway, its contacts and tools in ``lang``, every step included."""
    pathway = guide.pathway
    levels = tuple(LevelPath(n, level.label or str(n), guide.level_name(n, lang),
                             tuple(_step(guide, s, lang) for s in level.steps))
                   for n, level in sorted(pathway.levels.items()))
    everyone = {code for code, s in guide.catalog.services.items() if s.reports}
    varied = {code for lv in levels for s in lv.steps if s.reporters != everyone for code in s.reporters}
    reporters = tuple((code, s.label.in_lang(lang)) for code, s in guide.catalog.services.items()
                      if s.reports and varied) if varied else ()
    tools = tuple(
        ToolRow(_tool(guide, t.id, lang),
                tuple((lv.label, s.title, s.anchor) for lv in levels for s in lv.steps
                      if any(tl.id == t.id for tl in s.tools)))
        for t in pathway.tools.values())
    return PathwayPage(levels, _contacts(guide, lang), reporters, tools)


def for_reporter(page: PathwayPage, reporter: str | None) -> PathwayPage:
    """The page with only the steps that can apply to ``reporter`` (all of them for None), numbered
    1, 2, … per level as a decision numbers them."""
    if reporter is None:
        return page
    levels = tuple(replace(lv, steps=tuple(replace(s, number=n) for n, s in enumerate(
        (s for s in lv.steps if reporter in s.reporters), 1))) for lv in page.levels)
    return replace(page, levels=levels)
