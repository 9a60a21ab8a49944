"""A decision's pathway (docs/api.md, "pathway"): the steps of the decided level that apply to
the case, with who does them, their deadlines, tools, ways forward and statuses.

Which steps and deadlines apply was decided by the engine (their conditions are compiled with the
rules); here the held conditions are only looked up.
"""

from __future__ import annotations

from collections.abc import Iterable, Set

from rules.case import Case
from rules.decision import ActorOut, ContactOut, OutcomeOut, PathwayOut, PathwayStepOut, TeamOut, ToolOut
from rules.errors import StepError
from rules.messages import closest
from rules.model import Guide
from rules.pathway import Contact, PathwayStep, Tool, Who


def applicable_steps(guide: Guide, level: int, held: Set[int]) -> list[PathwayStep]:
    """The steps of ``level`` whose conditions hold (a step without one always applies)."""
    found = guide.pathway.levels.get(level)
    if found is None:
        return []
    return [s for s in found.steps if s.condition < 0 or s.condition in held]


def step_due_days(step: PathwayStep, held: Set[int]) -> int | None:
    """The first conditional deadline that holds, else the step's own."""
    return next((d.days for d in step.deadlines if d.condition in held), step.due_days)


def check_step(guide: Guide, case: Case, held: Set[int]) -> None:
    """``status.step`` must be a step of the current level that applies to this case."""
    if case.step is None or case.current_level is None:
        return
    ids = [s.id for s in applicable_steps(guide, case.current_level, held)]
    if case.step in ids:
        return
    other = guide.pathway.step(case.step)
    if other is not None and other.level == case.current_level:
        message = f"step {case.step!r} does not apply to this reporter and subject"
    else:
        message = f"{case.step!r} is not a step of level {case.current_level} in this guide"
    hint = f"; the steps of level {case.current_level} here: {', '.join(ids)}" if ids else ""
    raise StepError(message + hint, tuple(closest(case.step, ids) or ids[:3]))


def statuses(ids: list[str], case: Case, level: int) -> list[str]:
    """done / current / next / todo: from ``status.step`` when the case stays at its level,
    else the first step is next."""
    if case.step in ids and case.current_level == level:
        at = ids.index(case.step)
        return ["done" if i < at else "current" if i == at else "next" if i == at + 1 else "todo"
                for i in range(len(ids))]
    return ["next" if i == 0 else "todo" for i in range(len(ids))]


def contact_out(contact: Contact | None, lang: str) -> ContactOut | None:
    if contact is None:
        return None
    return ContactOut(contact.label.in_lang(lang), contact.phone, contact.url)


def _who(guide: Guide, case: Case, who: Who, lang: str) -> ActorOut:
    services, settings = guide.catalog.services, guide.settings
    if who.kind == "relay_holder":
        service = "midwife" if case.subject_kind == "pregnant" else case.reporter
        title = settings.relay_holder_titles.get(service)
        return ActorOut(service, "relay_holder", (who.label or title or services[service].label).in_lang(lang))
    if who.kind == "wondering_owner":
        label = who.label or guide.pathway.titles.get("wondering_owner") or services[case.reporter].label
        return ActorOut(case.reporter, "reporter", label.in_lang(lang))
    if who.kind == "leader":
        return ActorOut("leader", "consult", (who.label or services["leader"].label).in_lang(lang))
    service = who.service or ""
    return ActorOut(service, who.role or "involve", (who.label or services[service].label).in_lang(lang))


def _teams(guide: Guide, steps: Iterable[PathwayStep], level: int, lang: str) -> tuple[TeamOut, ...]:
    """The guide's local teams the steps name, then those it places at this level."""
    services, teams = guide.catalog.services, guide.pathway.teams
    named = [w.service for s in steps for w in s.who if w.kind == "service" and w.service]
    codes = [c for c in named if c in teams or services[c].local]
    codes += [code for code, team in teams.items() if level in team.levels]
    out = []
    for code in dict.fromkeys(codes):
        team = teams.get(code)
        text = team.text.in_lang(lang) if team and team.text else None
        out.append(TeamOut(code, services[code].label.in_lang(lang), text, team.url if team else None))
    return tuple(out)


def _tool(tool: Tool, lang: str) -> ToolOut:
    return ToolOut(tool.id, tool.title.in_lang(lang), tool.url.in_lang(lang) if tool.url else None)


def resolve_pathway(guide: Guide, case: Case, held: Set[int], level: int, paused: bool, lang: str) -> PathwayOut:
    title = guide.level_name(level, lang)
    if paused:  # the guide's process waits until the notification or consultation is done
        return PathwayOut(level, title, True, (), ())
    steps = applicable_steps(guide, level, held)
    tools = guide.pathway.tools
    out = []
    for number, (step, status) in enumerate(zip(steps, statuses([s.id for s in steps], case, level), strict=True), 1):
        out.append(PathwayStepOut(
            id=step.id, number=number, title=step.title.in_lang(lang), text=step.text.in_lang(lang),
            who=tuple(_who(guide, case, w, lang) for w in step.who),
            due_days=step_due_days(step, held), due_from=step.due_from,
            tools=tuple(_tool(tools[t], lang) for t in step.tools),
            outcomes=tuple(OutcomeOut(o.when, o.go, o.step, o.text.in_lang(lang)) for o in step.outcomes),
            status=status,
        ))
    return PathwayOut(level, title, False, tuple(out), _teams(guide, steps, level, lang))
