"""Build a guide's pathway from ``pathway.yaml`` and check it.

The national guide's file gives the default pathway, the national contacts and the fixed
emergency numbers. A municipality's file replaces whole levels (the steps of each level it
lists), adds tools and teams and replaces contacts by service; the rest is inherited. Every
problem is reported with file, line and YAML path, with the closest valid ids for an unknown one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError
from marshmallow.experimental.context import Context

from rules.analysis import satisfiable
from rules.compiler import IR, lower, simplify
from rules.errors import Problem, RuleFileError
from rules.fields import FIELDS
from rules.messages import closest, flatten
from rules.model import SUBJECT_KINDS, AllOf, AnyOf, Catalog, Condition, FieldTest, NotOf, Settings
from rules.pathway import (
    PATHWAY_FILE,
    Deadline,
    Pathway,
    PathwayLevel,
    PathwayStep,
)
from rules.pathway_grammar import PathwayFileSchema, StepSchema, make_team, make_tool
from rules.yamlsource import Document, format_path, read_yaml


def _validate(schema: Schema, doc: Document, catalog: Catalog, data: Any, prefix: tuple[str | int, ...],
              problems: list[Problem]) -> Any:
    try:
        with Context({"catalog": catalog}):
            return schema.load(data)
    except ValidationError as exc:
        for path, message, suggestions in flatten(exc.messages):
            key = str(path[-1]) if path else ""
            if message == "Unknown field.":
                message = f"unknown key {key!r}"
                suggestions = tuple(closest(key, _keys(schema, path[:-1])))
            elif message == "Missing data for required field.":
                message = f"missing: {key} is required here"
            full = _in_document((*prefix, *path), doc)
            problems.append(Problem(doc.file, doc.line_of(full), format_path(full), message, suggestions))
        return None


def _in_document(path: tuple[str | int, ...], doc: Document) -> tuple[str | int, ...]:
    """Marshmallow puts a mapping's value errors under ``value``: drop it where the document
    has no such key."""
    out: tuple[str | int, ...] = ()
    for part in path:
        if part == "value" and (*out, part) not in doc.lines:
            continue
        out = (*out, part)
    return out


def _keys(schema: Schema, path: tuple[str | int, ...]) -> list[str]:
    """Valid keys at ``path`` (only the top level and a nested schema one level down)."""
    if not path:
        return list(schema.fields)
    nested = getattr(schema.fields.get(str(path[0])), "nested", None)
    return list(nested().fields) if isinstance(nested, type) and issubclass(nested, Schema) else []


def _phase_problems(cond: Condition, doc: Document, where: tuple[str | int, ...]) -> list[Problem]:
    """A step's condition may test the request only: whether a step applies is known before the
    level is decided (``status.step`` is checked against the current level)."""
    late = sorted({c.path for c in _field_tests(cond) if FIELDS[c.path].phase > 1})
    if not late:
        return []
    return [Problem(doc.file, doc.line_of(where), format_path(where),
                    f"a step's condition may test only the request, not {', '.join(late)}")]


def _field_tests(cond: Condition) -> Iterator[FieldTest]:
    if isinstance(cond, AllOf | AnyOf):
        for item in cond.items:
            yield from _field_tests(item)
    elif isinstance(cond, NotOf):
        yield from _field_tests(cond.item)
    elif isinstance(cond, FieldTest):
        yield cond


def _load_steps(doc: Document, guide_id: str, catalog: Catalog, level: int, raw: list[Any],
                problems: list[Problem]) -> list[PathwayStep]:
    steps: list[PathwayStep] = []
    for i, raw_step in enumerate(raw):
        where = ("levels", level, "steps", i)
        data = _validate(StepSchema(), doc, catalog, raw_step, where, problems)
        if data is None:
            continue
        if data.get("when") is not None:
            problems.extend(_phase_problems(data["when"], doc, (*where, "when")))
        deadlines = []
        for k, d in enumerate(data["due_if"]):
            problems.extend(_phase_problems(d["when"], doc, (*where, "due_if", k, "when")))
            deadlines.append(Deadline(d["days"], d["when"]))
        outcome_whens = [o.when for o in data["outcomes"]]
        steps.append(PathwayStep(
            id=data["id"], level=level, number=len(steps) + 1, title=data["title"], text=data["text"],
            who=tuple(data["who"]), due_days=data.get("due_days"), due_from=data.get("due_from"),
            deadlines=tuple(deadlines), tools=tuple(dict.fromkeys(data["tools"])), outcomes=tuple(data["outcomes"]),
            when=data.get("when"), guide=guide_id, file=doc.file, line=doc.line_of(where) or 0,
        ))
        if outcome_whens and set(outcome_whens) != {"yes", "partly", "no"}:
            missing = [w for w in ("yes", "partly", "no") if w not in outcome_whens]
            problems.append(Problem(doc.file, doc.line_of((*where, "outcomes")), format_path((*where, "outcomes")),
                                    "the deciding step says what happens for every evaluation answer; missing: "
                                    + ", ".join(missing)))
    return steps


def load_pathway(folder: Path, guide_id: str, catalog: Catalog, base: Pathway | None,
                 display: str) -> tuple[Pathway, list[Problem], bytes | None]:
    """The guide's pathway (``base``, the national one, with this folder's file on top), the
    problems found, and the file's bytes for the guide's digest (None without a file)."""
    path = folder / PATHWAY_FILE
    problems: list[Problem] = []
    if not path.is_file():
        if base is None:
            problems.append(Problem(display, None, "", f"the national guide needs {PATHWAY_FILE} (its default "
                                                       "pathway, contacts and emergency numbers)"))
        return base or Pathway(), problems, None
    try:
        doc = read_yaml(path, display)
    except RuleFileError as exc:
        return base or Pathway(), exc.problems, path.read_bytes()
    raw = doc.data if isinstance(doc.data, dict) else {}
    if doc.data is not None and not isinstance(doc.data, dict):
        problems.append(Problem(doc.file, 1, "", "pathway.yaml is a mapping (levels, tools, teams, contacts)"))
    head = _validate(PathwayFileSchema(), doc, catalog, raw, (), problems) or {}
    levels: dict[int, PathwayLevel] = dict(base.levels) if base else {}
    for level, entry in sorted((head.get("levels") or {}).items()):
        steps = _load_steps(doc, guide_id, catalog, level, raw["levels"][level]["steps"], problems)
        levels[level] = PathwayLevel(level, tuple(steps), entry.get("label"), guide_id, doc.file,
                                     doc.line_of(("levels", level)) or 0)
    if base is None:
        missing = [n for n in range(4) if n not in levels]
        if missing:
            problems.append(Problem(doc.file, doc.line_of(("levels",)), "levels",
                                    f"the national pathway needs every level 0–3; missing: {missing}"))
    elif head.get("emergency_numbers"):
        problems.append(Problem(doc.file, doc.line_of(("emergency_numbers",)), "emergency_numbers",
                                "112 and 113 are national emergency numbers: a municipality cannot replace them "
                                "(give its own numbers under contacts, by service)"))
    tools = {tool_id: make_tool(tool_id, data) for tool_id, data in (head.get("tools") or {}).items()}
    teams = {code: make_team(code, data) for code, data in (head.get("teams") or {}).items()}
    pathway = Pathway(
        levels=dict(sorted(levels.items())),
        tools={**(base.tools if base else {}), **tools},
        teams={**(base.teams if base else {}), **teams},
        contacts={**(base.contacts if base else {}), **(head.get("contacts") or {})},
        emergency_numbers=dict(base.emergency_numbers) if base else dict(head.get("emergency_numbers") or {}),
        titles={**(base.titles if base else {}), **(head.get("titles") or {})},
    )
    declared = {str(s.get("id")) for level in (raw.get("levels") or {}).values() if isinstance(level, dict)
                for s in (level.get("steps") or []) if isinstance(s, dict)}
    problems.extend(_reference_problems(pathway, guide_id, doc, catalog, declared))
    return number_conditions(pathway), problems, path.read_bytes()


def number_conditions(pathway: Pathway) -> Pathway:
    """Give every step and deadline condition its index in ``pathway.conditions``."""
    conditions: list[Condition] = []
    levels = {}
    for n, level in pathway.levels.items():
        steps = []
        for step in level.steps:
            index = -1
            if step.when is not None:
                index = len(conditions)
                conditions.append(step.when)
            deadlines = []
            for d in step.deadlines:
                deadlines.append(replace(d, condition=len(conditions)))
                conditions.append(d.when)
            steps.append(replace(step, condition=index, deadlines=tuple(deadlines)))
        levels[n] = replace(level, steps=tuple(steps))
    return replace(pathway, levels=levels, conditions=tuple(conditions))


def _reference_problems(pathway: Pathway, guide_id: str, doc: Document, catalog: Catalog,
                        declared: set[str]) -> list[Problem]:
    """Ids the guide's own steps use: unique, tools that exist, steps to go back to (``declared``:
    the ids written in the file, also of steps that failed validation, so no problem is reported twice)."""
    problems: list[Problem] = []
    seen: dict[str, PathwayStep] = {}
    all_ids = [s.id for s in pathway.steps()]
    for level in pathway.levels.values():
        for i, step in enumerate(level.steps):
            where: tuple[str | int, ...] = ("levels", level.level, "steps", i)
            own = step.guide == guide_id
            first = seen.get(step.id)
            if first is not None and own:
                problems.append(Problem(doc.file, doc.line_of((*where, "id")), format_path((*where, "id")),
                                        f"step id {step.id!r} is used twice in this guide (first at {first.file}:"
                                        f"{first.line}); every step id is unique in the guide"))
            seen.setdefault(step.id, step)
            if not own:
                continue
            for k, tool in enumerate(step.tools):
                if tool not in pathway.tools:
                    at = (*where, "tools", k)
                    problems.append(Problem(doc.file, doc.line_of(at), format_path(at), f"unknown tool {tool!r}",
                                            tuple(closest(tool, pathway.tools))))
            for k, outcome in enumerate(step.outcomes):
                if outcome.step is not None and outcome.step not in all_ids and outcome.step not in declared:
                    at = (*where, "outcomes", k, "step")
                    problems.append(Problem(doc.file, doc.line_of(at), format_path(at),
                                            f"unknown step {outcome.step!r} to go back to",
                                            tuple(closest(outcome.step, [s.id for s in level.steps] or all_ids))))
    for code in pathway.teams:
        if code not in catalog.services:  # pragma: no cover - the schema checks the code
            problems.append(Problem(doc.file, doc.line_of(("teams", code)), f"teams.{code}", "unknown service"))
    return problems


# --- checks that need the compiled conditions ---------------------------------------------


def _ir(cond: Condition | None, catalog: Catalog, settings: Settings) -> IR:
    return ("true",) if cond is None else simplify(lower(cond, catalog, settings))


def coverage_problems(pathway: Pathway, guide_id: str, catalog: Catalog, settings: Settings) -> list[Problem]:
    """Steps that can never apply, and levels with no step for some reporter or subject."""
    problems: list[Problem] = []
    reporters = [code for code, s in catalog.services.items() if s.reports]
    for level in pathway.levels.values():
        if level.guide != guide_id:
            continue
        conditions = []
        for step in level.steps:
            ir = _ir(step.when, catalog, settings)
            conditions.append(ir)
            if satisfiable(ir) is False:
                problems.append(Problem(step.file, step.line, f"levels.{level.level}.steps.{step.id}.when",
                                        "this step can never apply: no case satisfies its conditions together"))
        if ("true",) in conditions:
            continue
        any_step: IR = ("or", tuple(conditions))
        uncovered = [f"{code} ({kind})" for kind in SUBJECT_KINDS for code in reporters
                     if satisfiable(("and", (("cmp", "rep", "eq", code), ("cmp", "kind", "eq", kind),
                                             any_step))) is False]
        if uncovered:
            shown = ", ".join(uncovered[:6]) + (f" and {len(uncovered) - 6} more" if len(uncovered) > 6 else "")
            problems.append(Problem(level.file, level.line, f"levels.{level.level}",
                                    f"no step of level {level.level} applies when the reporter is {shown}: give "
                                    "these reporters a step (a step without `when` applies to everyone)"))
    return problems


def describe_reporters(step: PathwayStep, catalog: Catalog, settings: Settings) -> list[str]:
    """The reporters a step can apply to (every reporter when it has no condition)."""
    reporters = [code for code, s in catalog.services.items() if s.reports]
    if step.when is None:
        return reporters
    ir = _ir(step.when, catalog, settings)
    return [code for code in reporters if satisfiable(("and", (("cmp", "rep", "eq", code), ir))) is not False]
