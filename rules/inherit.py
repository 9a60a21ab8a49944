"""What a municipality's guide may change in the national baseline, and what it may not.

It may add rules, local teams (new service codes with their labels), local labels for national
services and levels, its own step texts, stricter or local settings, and replace the national
routing with its own. It may not remove or weaken a rule of the national guide (docs/national-guide.md):
the groups below bind every municipality, and its own rules may only add steps, actors, forbidden
actions that remove no step, and higher levels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from rules.errors import Problem
from rules.model import Catalog, Rule, Service, Settings, Text
from rules.yamlsource import Document, format_path

# National groups and the rules of the national guide (docs/national-guide.md) each carries; only
# routing may be replaced.
BASELINE_GROUPS = {
    "bypass": "national rules 1–7 (acute danger, abuse, negative social control, duty to inform, "
              "radicalisation, the pause)",
    "consent": "national rules 8–9 (whose consent, the consent gate)",
    "participation": "national rule 10 (the child's and the family's participation)",
    "levels": "national rules 11–15 (the level ladder)",
    "steps": "the steps of each level",
    "actors": "the actors (relay holder, reporter, services involved)",
}
REPLACEABLE_GROUPS = {"routing": "the default routing"}


def municipal_catalog(baseline: Catalog, head: Mapping[str, Any], doc: Document) -> tuple[Catalog, list[Problem]]:
    """The baseline catalog with the guide's local teams, local labels and step texts."""
    problems: list[Problem] = []
    local: dict[str, Service] = {}
    for i, (code, entry) in enumerate((head.get("local_services") or {}).items()):
        if code in baseline.services:
            problems.append(Problem(doc.file, doc.line_of(("local_services", code)), f"local_services.{code}",
                                    f"{code!r} is a national service code; a municipality may give it a local "
                                    "label (service_labels) but not redefine it: choose another code"))
            continue
        local[code] = Service(code, entry["label"], entry["health"], len(baseline.services) + i, local=True,
                              reports=entry["reports"])
    catalog = baseline.with_local_services(local, head.get("service_labels") or {})
    step_texts = head.get("step_texts") or {}
    if step_texts:
        steps = dict(catalog.steps)
        for code, texts in step_texts.items():
            step = steps[code]
            steps[code] = replace(step, label=_merge(step.label, texts.get("label")),
                                  text=_merge(step.text, texts.get("text")))
        catalog = replace(catalog, steps=steps)
    return catalog, problems


def _merge(base: Text, override: Text | None) -> Text:
    return Text({**base, **override}) if override else base


def inherited_rules(baseline_rules: Iterable[Rule], head: Mapping[str, Any],
                    doc: Document) -> tuple[list[Rule], list[Problem]]:
    """The baseline's rules less the groups the guide replaces (routing only)."""
    problems: list[Problem] = []
    replaced: set[str] = set()
    for i, group in enumerate(head.get("replaces") or []):
        where = ("replaces", i)
        if group in BASELINE_GROUPS:
            problems.append(Problem(doc.file, doc.line_of(where), format_path(where),
                                    f"national.{group} carries {BASELINE_GROUPS[group]} (docs/national-guide.md), "
                                    "which binds every municipality: it cannot be replaced or removed; "
                                    "add your own rules instead"))
        elif group not in REPLACEABLE_GROUPS:
            problems.append(Problem(doc.file, doc.line_of(where), format_path(where),
                                    f"there is no national group {group!r} to replace",
                                    tuple(REPLACEABLE_GROUPS)))
        else:
            replaced.add(group)
    return [r for r in baseline_rules if r.group not in replaced], problems


def weakening_problems(rule: Rule, index: int, doc: Document, kept: Iterable[Rule],
                       catalog: Catalog) -> list[Problem]:
    """Why a municipality's rule would weaken the baseline, if it would."""
    out, where = rule.then, ("rules", index)
    found: list[tuple[tuple[str | int, ...], str]] = []
    clash = next((r for r in kept if r.group == rule.group and r.name == rule.name), None)
    if clash is not None:
        part = BASELINE_GROUPS.get(rule.group, REPLACEABLE_GROUPS.get(rule.group, ""))
        found.append(((*where, "id"), f"{clash.id} is a national rule ({part}) and cannot be redefined or "
                                      "removed; give your rule another id to add to it"))
    if out.level_at_most is not None:
        found.append(((*where, "then", "level_at_most"),
                      "a municipality's rule cannot cap the level: that would weaken the national ladder "
                      "(national rules 7, 9 and 11–15, docs/national-guide.md); it may call for a higher level"))
    for code in out.forbidden:
        removed = catalog.forbidden[code].removes
        if removed:
            found.append(((*where, "then", "forbidden"),
                          f"{code} removes {', '.join(removed)}, which national rules require; a municipality "
                          "may add only forbidden actions that remove no step"))
    if out.consent_from is not None:
        found.append(((*where, "then", "consent_from"),
                      "whose consent is needed is fixed by national rule 8 (docs/national-guide.md) and the "
                      "youth_consent_age setting"))
    if out.sets:
        found.append(((*where, "then", "sets"),
                      "parents_suspected is set only by national rules 3, 3 b and 4 (docs/national-guide.md); "
                      "it would pause the ladder"))
    return [Problem(doc.file, doc.line_of(path), format_path(path), message) for path, message in found]


@dataclass(frozen=True)
class SettingDirection:
    """Which way a setting may move from the national value, and why.

    ``stricter`` is ``lower`` (a smaller number asks more of the services; for a deadline, ``null``
    means no deadline, the loosest), ``narrower`` (an age range), or ``free`` (a municipal choice
    that is neither stricter nor looser, within the bounds the rule-file grammar sets)."""

    stricter: str
    why: str


SETTING_DIRECTIONS: dict[str, SettingDirection] = {
    "youth_consent_age": SettingDirection(
        "free", "the age from which the young person consents alone instead of the parents: a lower age moves "
        "the say from the parents to the youth, which protects neither more nor less; guides use 15 or 16"),
    "child_age": SettingDirection("narrower", "a guide may serve fewer ages than the national range, not more"),
    "pregnant_age": SettingDirection("narrower", "a guide may serve fewer ages than the national range, not more"),
    "level0_decision_days": SettingDirection("lower", "a deadline in days: sooner is stricter, none is the loosest"),
    "level2_meeting_days": SettingDirection("lower", "a deadline in days: sooner is stricter, none is the loosest"),
    "evaluation_interval_days": SettingDirection(
        "lower", "days between evaluations: more often is stricter, none is the loosest"),
    "relay_log_from_level": SettingDirection("lower", "the relay log may start at an earlier level, not a later one"),
    "services_for_level_3": SettingDirection(
        "lower", "the number of services already involved that calls for level 3: fewer is stricter"),
    "relay_holder_titles": SettingDirection("free", "what the relay holder is called: a label"),
    "languages": SettingDirection("free", "the languages the guide's texts are offered in"),
}


def settings_problems(settings: Settings, national: Settings, doc: Document) -> list[Problem]:
    """Refuse every setting a guide moves in the looser direction, naming the national value."""
    found: list[tuple[str, str]] = []
    for kind in ("child", "pregnant"):
        lo, hi = getattr(settings, f"{kind}_age_min"), getattr(settings, f"{kind}_age_max")
        n_lo, n_hi = getattr(national, f"{kind}_age_min"), getattr(national, f"{kind}_age_max")
        if lo > hi:
            found.append((f"{kind}_age", f"min {lo} is above max {hi}"))
        elif lo < n_lo or hi > n_hi:
            found.append((f"{kind}_age", f"{lo}–{hi} is wider than the national {n_lo}–{n_hi}; a guide may only "
                                         "narrow it"))
    for name, direction in SETTING_DIRECTIONS.items():
        if direction.stricter != "lower":
            continue
        value, base = settings.value(name), national.value(name)
        if value == base or (base is None and value is not None):
            continue
        if value is None:
            found.append((name, f"no value is looser than the national value {base} ({direction.why})"))
        elif base is not None and value > base:
            found.append((name, f"{value} is looser than the national value {base} ({direction.why}); a guide may "
                                f"choose {base} or lower"))
    return [Problem(doc.file, doc.line_of(("settings", name)), f"settings.{name}", message) for name, message in found]
