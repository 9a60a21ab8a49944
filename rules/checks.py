"""Checks on a whole guide once its files are read: an error for a condition comparing with a
setting the guide leaves empty; warnings (the guide still loads) for rules that can never fire,
rules another rule shadows, and texts missing a language the guide offers (they fall back to
bokmål)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from rules.analysis import implies, satisfiable
from rules.compiler import IR, lower, simplify
from rules.errors import Problem
from rules.model import NATIONAL, FieldTest, Guide, Rule, SettingRef, Settings, Text, walk_condition


def _setting_refs(rule: Rule) -> Iterator[str]:
    for c, _ in walk_condition(rule.when):
        if isinstance(c, FieldTest):
            values = c.value if isinstance(c.value, tuple) else (c.value,)
            yield from (v.name for v in values if isinstance(v, SettingRef))


def unset_setting_problems(rules: Iterable[Rule], settings: Settings) -> list[Problem]:
    """A condition comparing with a setting the guide leaves empty would silently never hold."""
    return [Problem(rule.file, rule.line, f"{rule.id}.when",
                    f"the setting {name} has no value in this guide (null); set it in guide.yaml or compare "
                    "with a number")
            for rule in rules for name in dict.fromkeys(_setting_refs(rule)) if settings.value(name) is None]


def lint_guide(guide: Guide) -> list[Problem]:
    return [*_never_fire(guide), *_shadowed(guide), *_missing_translations(guide)]


def _own(guide: Guide) -> list[int]:
    """Indexes of the rules this guide defines (not those it inherits)."""
    return [i for i, r in enumerate(guide.rules) if r.guide == guide.id]


def _condition(guide: Guide, index: int) -> IR:
    rule = guide.rules[index]
    return simplify(lower(rule.when, guide.catalog, guide.settings))


def _warning(rule_file: str, line: int, rule_id: str, message: str) -> Problem:
    return Problem(rule_file, line, rule_id, message, severity="warning")


def _never_fire(guide: Guide) -> Iterator[Problem]:
    for i in _own(guide):
        rule = guide.rules[i]
        if satisfiable(_condition(guide, i)) is False:
            yield _warning(rule.file, rule.line, rule.id,
                           "this rule can never fire: no case satisfies its conditions together")


def _shadowed(guide: Guide) -> Iterator[Problem]:
    own = _own(guide)
    conditions = {i: _condition(guide, i) for i in own}
    for n, i in enumerate(own):
        rule = guide.rules[i]
        for j in own[:n]:
            earlier = guide.rules[j]
            if earlier.group != rule.group:
                continue
            if conditions[i] == conditions[j]:
                yield _warning(rule.file, rule.line, rule.id,
                               f"same conditions as {earlier.id} ({earlier.file}:{earlier.line}); merge the two")
                break
            if rule.first_hit and implies(conditions[i], conditions[j]):
                yield _warning(rule.file, rule.line, rule.id,
                               f"shadowed: whenever it applies, {earlier.id} ({earlier.file}:{earlier.line}) "
                               "applies first (hit: first), so this rule never decides")
                break


def _texts(guide: Guide) -> Iterator[tuple[str, int | None, str, Text | None]]:
    for i in _own(guide):
        rule = guide.rules[i]
        for name in ("title", "because", "notes"):
            yield rule.file, rule.line, f"{rule.id}.{name}", getattr(rule, name)
    where = f"{guide.id}/guide.yaml"
    yield where, None, "name", guide.name
    for code, title in guide.settings.relay_holder_titles.items():
        yield where, None, f"settings.relay_holder_titles.{code}", title
    for level, level_name in guide.level_names.items():
        yield where, None, f"level_names.{level}", level_name
    for service in guide.catalog.services.values():
        if service.local or guide.id == NATIONAL:
            yield where, None, f"services.{service.code}.label", service.label
    if guide.id == NATIONAL:
        for step in guide.catalog.steps.values():
            yield where, None, f"steps.{step.code}.text", step.text


def _missing_translations(guide: Guide) -> Iterator[Problem]:
    for file, line, path, text in _texts(guide):
        if text is None:
            continue
        missing = [lang for lang in guide.settings.languages if lang not in text]
        if missing:
            yield Problem(file, line, path, f"no {'/'.join(missing)} text: falls back to bokmål (nb)",
                          severity="warning")


def status_problems(guide: Guide, bundled: bool) -> list[Problem]:
    """What a guide says about itself (its status and sources): a warning for a guide that names no
    source; an error for a guide bundled with the service that calls itself adopted, because only a
    municipality can adopt its guide and the bundled ones are examples and drafts."""
    where = f"{guide.id}/guide.yaml"
    found = []
    if not guide.sources:
        found.append(Problem(where, None, "sources", "the guide names no sources: list what it was built from "
                             "(title, url, read) so readers can check it", severity="warning"))
    if bundled and guide.adopted:
        found.append(Problem(where, None, "status", "a guide bundled with the service is never adopted: only the "
                             "municipality adopts its guide; use status: example (or draft)"))
    return found
