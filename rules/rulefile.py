"""Read one rule file (``rules/*.yaml``) into rules: its head (group, ``hit``) first, then each
rule on its own, so one bad rule hides no other problem; and check that each rule changes only
what is still open in the phase its conditions can be known (see :mod:`rules.fields`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rules.errors import Problem, RuleFileError
from rules.fields import FIELDS
from rules.grammar import RuleFileHeadSchema, RuleSchema
from rules.model import URGENT_STEPS, Catalog, Condition, FieldTest, Rule, SignalTest, walk_condition
from rules.validate import validate_document
from rules.yamlsource import Document, display_name, format_path, read_yaml

RULES_DIR = "rules"


def _phase(cond: Condition) -> int:
    return max((FIELDS[c.path].phase for c, _ in walk_condition(cond) if isinstance(c, FieldTest)), default=1)


def _phase_problems(rule: Rule, doc: Document, index: int) -> list[Problem]:
    """A rule may only change what is still open when its conditions can be known."""
    out = rule.then
    where = ("rules", index, "then")
    checks = [
        (out.level is not None and rule.phase > 1, "level",
         "a rule that calls for a level may test only the request, not decision.* or consent.required_from/"
         "answer (those are derived from the levels called for)"),
        (out.level_at_most is not None and rule.phase > 2, "level_at_most",
         "a rule that caps the level cannot test decision.level (the level it would change)"),
        (out.consent_from is not None and rule.phase > 1, "consent_from",
         "who must consent is decided from the request alone"),
        (bool(out.sets) and rule.phase > 1, "sets", "derived facts are set from the request alone"),
        (bool(URGENT_STEPS & set(out.steps)) and rule.phase > 1, "steps",
         "urgent notification steps (112, 113, barnevernvakt, police, report to child welfare) decide whether the "
         "ladder pauses, so the rule that gives them may test only the request"),
    ]
    return [Problem(doc.file, doc.line_of((*where, key)), format_path((*where, key)), message)
            for bad, key, message in checks if bad]


def load_rule_file(path: Path, guide_id: str, catalog: Catalog, start: int, root: Path | None = None,
                   doc: Document | None = None) -> tuple[list[Rule], list[Problem], Document]:
    """The valid rules of one file (each rule's ``order`` is ``start`` + its index in the file),
    the problems found, and the parsed document (for later checks that need its lines); ``doc``
    is the file already parsed, if it was."""
    if doc is None:
        doc = read_yaml(path, display_name(path, root))
    problems: list[Problem] = []
    context = {"catalog": catalog}
    raw = doc.data if isinstance(doc.data, dict) else {}
    try:
        data = validate_document(RuleFileHeadSchema(), doc, context)
    except RuleFileError as exc:
        problems.extend(exc.problems)
        data = {"group": raw.get("group", "?"), "hit": raw.get("hit", "all"), "rules": raw.get("rules")}
    raw_rules = data["rules"] if isinstance(data.get("rules"), list) else []
    loaded: list[tuple[int, dict[str, Any]]] = []
    for i, raw_rule in enumerate(raw_rules):
        try:
            loaded.append((i, validate_document(RuleSchema(), doc, context, raw_rule, ("rules", i))))
        except RuleFileError as exc:
            problems.extend(exc.problems)
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, r in loaded:
        if r["id"] in seen:
            problems.append(Problem(doc.file, doc.line_of(("rules", i, "id")), f"rules[{i}].id",
                                    f"rule id {r['id']!r} is used twice in this group"))
        seen.add(r["id"])
        tests = tuple(c for c, negated in walk_condition(r["when"]) if isinstance(c, SignalTest) and not negated)
        rule = Rule(
            id=f"{guide_id}.{data['group']}.{r['id']}", guide=guide_id, group=data["group"], name=r["id"],
            title=r["title"], because=r["because"], when=r["when"], then=r["then"],
            first_hit=data["hit"] == "first", order=start + i, file=doc.file,
            line=doc.line_of(("rules", i)) or 0, notes=r.get("notes"), phase=_phase(r["when"]),
            signal_tests=tests,
        )
        problems.extend(_phase_problems(rule, doc, i))
        rules.append(rule)
    groups_phases = {r.phase for r in rules if r.first_hit}
    if len(groups_phases) > 1:
        problems.append(Problem(doc.file, doc.line_of(("hit",)), "hit",
                                "with hit: first every rule of the group must test the same kind of facts "
                                "(all request-only, or all using decision.*)"))
    return rules, problems, doc
