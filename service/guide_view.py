"""A loaded guide read back for people: what the action-guide page shows, computed from the
guide's rules, catalog and settings (no Flask, nothing written per municipality).

Conditions are put into plain words (:func:`describe`); a rule's dependence on the decided level
is found by evaluating only its ``decision.level`` tests for each level (:func:`at_level`), which
places every level-specific step and actor in the column of the levels it belongs to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from i18n import N_, ntext, text
from rules.describe import describe_condition
from rules.fields import compare
from rules.laws import citation_urls
from rules.model import (
    INVOLVED_REF,
    NATIONAL,
    REPORTER_REF,
    STRENGTHS,
    URGENT_STEPS,
    ActorRef,
    AllOf,
    AnyOf,
    Condition,
    FieldTest,
    Guide,
    NotOf,
    Rule,
    SettingRef,
    Settings,
    SignalTest,
    StepInfo,
    walk_condition,
)

LEVEL_PATH = "decision.level"
SETTING_ROWS = ("child_age", "pregnant_age", "youth_consent_age", "level0_decision_days", "level2_meeting_days",
                "evaluation_interval_days", "relay_log_from_level", "services_for_level_3")

Partial = Condition | bool

# Page texts looked up by a computed name (text(f"cmp_{op}", …)), named here for `make translations`.
COMPUTED_TEXTS = (
    N_("cmp_at_least"), N_("cmp_at_most"), N_("cmp_above"), N_("cmp_below"),
    N_("ans_not_asked"), N_("ans_given"), N_("ans_refused"), N_("ans_withdrawn"), N_("ans_partial"),
    N_("age_below"), N_("age_at_least"), N_("age_at_most"), N_("age_above"), N_("age_equals"),
    N_("kind_child_short"), N_("kind_pregnant_short"),
    N_("resp_shared"), N_("resp_one_parent"), N_("resp_child_welfare"),
    N_("measures_yes"), N_("measures_partly"), N_("measures_no"),
    N_("set_child_age"), N_("set_pregnant_age"), N_("set_youth_consent_age"), N_("set_level0_decision_days"),
    N_("set_level2_meeting_days"), N_("set_evaluation_interval_days"), N_("set_relay_log_from_level"),
    N_("set_services_for_level_3"),
)


# --- conditions in plain words -------------------------------------------------------------


def _setting(value: Any, settings: Settings) -> Any:
    return settings.value(value.name) if isinstance(value, SettingRef) else value


def _lower_first(label: str) -> str:
    """'Seksuelle overgrep' → 'seksuelle overgrep', but 'NAV' and 'BUP' stay as they are."""
    if len(label) > 1 and label[0].isupper() and not label[1].isupper():
        return label[0].lower() + label[1:]
    return label


def _join(items: Sequence[str], word: str) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]


def _strength(ranks: frozenset[int], guide: Guide, lang: str) -> str:
    labels = [_lower_first(guide.catalog.strengths[s].in_lang(lang)) for s in STRENGTHS]
    ordered = sorted(ranks)
    if ordered == [1, 2, 3]:
        return text("any_strength", lang)
    if len(ordered) > 1 and ordered[-1] == 3 and ordered == list(range(ordered[0], 4)):
        return text("or_stronger", lang, s=labels[ordered[0] - 1])
    return _join([labels[r - 1] for r in ordered], text("or", lang))


def _signals(test: SignalTest, guide: Guide, lang: str, known: frozenset[str] = frozenset()) -> str:
    if known and set(test.codes or ()) == known:
        return _strength(test.ranks, guide, lang)  # the signals are named already (a bypass card)
    if test.codes is None:
        what = text("any_signal", lang)
    else:
        what = _join([_lower_first(guide.catalog.signals[c].label.in_lang(lang)) for c in test.codes],
                     text("or", lang))
    return f"{what} ({_strength(test.ranks, guide, lang)})"


def _service(code: str, guide: Guide, lang: str) -> str:
    service = guide.catalog.services.get(code)
    return service.label.in_lang(lang) if service else code


def _compare(op: str, value: Any, lang: str) -> str | None:
    """'2 or higher' and the like, for a level number."""
    if op == "equals":
        return str(value)
    if op == "one_of":
        return _join([str(v) for v in value], text("or", lang))
    if op == "between":
        return text("cmp_between", lang, a=value[0], b=value[1])
    if op in ("at_least", "at_most", "above", "below"):
        return text(f"cmp_{op}", lang, n=value)
    return None


def _answers(value: Any, lang: str) -> str:
    values = value if isinstance(value, tuple | list) else (value,)
    return _join([text(f"ans_{v}", lang) for v in values], text("or", lang))


def _field(test: FieldTest, guide: Guide, lang: str) -> str:
    path, op = test.path, test.op
    value = test.value
    if isinstance(value, tuple | list):
        value = tuple(_setting(v, guide.settings) for v in value)
    else:
        value = _setting(value, guide.settings)
    fallback = describe_condition(test)
    if path == "subject.age":
        if op == "between":
            return text("age_between", lang, a=value[0], b=value[1])
        if op in ("below", "at_least", "at_most", "above", "equals"):
            return text(f"age_{op}", lang, n=value)
    elif path == "subject.kind" and op == "equals":
        return _lower_first(text(f"kind_{value}_short", lang))
    elif path == "reporter.service" and op in ("equals", "one_of"):
        codes = value if isinstance(value, tuple) else (value,)
        return text("reported_by", lang, s=_join([_service(c, guide, lang) for c in codes], text("or", lang)))
    elif path == "reporter.health_service" and op == "equals":
        return text(N_("reporter_health") if value else N_("reporter_not_health"), lang)
    elif path == "family.parental_responsibility" and op in ("equals", "one_of"):
        values = value if isinstance(value, tuple) else (value,)
        return _join([text(f"resp_{v}", lang) for v in values], text("or", lang))
    elif path in ("consent.parents", "consent.subject", "consent.answer") and op in ("equals", "one_of",
                                                                                       "not_one_of"):
        who_key = {"consent.parents": N_("the_parents"), "consent.subject": N_("the_subject")}.get(path)
        who = text(who_key or N_("the_required"), lang)
        key = N_("consent_not") if op == "not_one_of" else N_("consent_of")
        return text(key, lang, who=who, what=_answers(value, lang))
    elif path == "consent.required_from" and op in ("equals", "one_of", "not_one_of"):
        values = value if isinstance(value, tuple) else (value,)
        parties = _join([guide.catalog.consent_parties[v].in_lang(lang).lower() for v in values], text("or", lang))
        phrase = text("required_from_is", lang, who=parties)
        return text("not", lang) + f": {phrase}" if op == "not_one_of" else phrase
    elif path == "status.current_level":
        if op == "present":
            return text(N_("has_level") if value else N_("new_case"), lang)
        cmp = _compare(op, value, lang)
        if cmp is not None:
            return text("current_level_cmp", lang, cmp=cmp)
    elif path == "status.measures_effective":
        if op == "present":
            return text(N_("measures_known") if value else N_("measures_unknown"), lang)
        if op in ("equals", "one_of"):
            values = value if isinstance(value, tuple) else (value,)
            return _join([text(f"measures_{v}", lang) for v in values], text("or", lang))
    elif path == "status.services_involved":
        if op == "count_at_least":
            return text("services_count", lang, n=value)
        if op == "contains":
            return text("service_involved", lang, s=_service(value, guide, lang))
    elif path == "status.complex_long_term_needs" and op == "equals":
        return text(N_("complex_needs") if value else N_("no_complex_needs"), lang)
    elif path == "decision.urgent" and op == "equals":
        return text(N_("urgent_case") if value else N_("not_urgent_case"), lang)
    elif path == "decision.parents_suspected" and op == "equals":
        return text(N_("suspected") if value else N_("not_suspected"), lang)
    elif path in ("decision.ladder_level", LEVEL_PATH):
        cmp = _compare(op, value, lang)
        if cmp is not None:
            return text(N_("ladder_calls") if path == "decision.ladder_level" else N_("decided_level"), lang, cmp=cmp)
    return fallback


def describe(cond: Partial, guide: Guide, lang: str, nested: bool = False, known: frozenset[str] = frozenset()) -> str:
    """The condition in plain words in ``lang`` (the rule language's own words for anything unusual);
    signal tests naming exactly the ``known`` signals say only the strength."""
    if cond is True:
        return text("always", lang)
    if cond is False:
        return text("not", lang)
    if isinstance(cond, AllOf):
        return ", ".join(describe(c, guide, lang, True, known) for c in cond.items)
    if isinstance(cond, AnyOf):
        parts = [describe(c, guide, lang, True, known) for c in cond.items]
        parts = [f"({p})" if isinstance(c, AllOf) and len(c.items) > 1 else p for c, p in zip(cond.items, parts,
                                                                                              strict=True)]
        joined = (" " + text("or", lang) + " ").join(parts)
        return f"({joined})" if nested and len(cond.items) > 1 else joined
    if isinstance(cond, NotOf):
        if isinstance(cond.item, AllOf):  # "unless a and b"
            inner = (" " + text("and", lang) + " ").join(describe(c, guide, lang, True, known) for c in cond.item.items)
            return text("unless", lang) + f" {inner}"
        return text("not", lang) + f" ({describe(cond.item, guide, lang, known=known)})"
    if isinstance(cond, SignalTest):
        return _signals(cond, guide, lang, known)
    return _field(cond, guide, lang)


def sentence(cond: Partial, guide: Guide, lang: str, known: frozenset[str] = frozenset()) -> str:
    words = describe(cond, guide, lang, known=known)
    return words[:1].upper() + words[1:]


# --- the decided level ---------------------------------------------------------------------


def _holds(level: int, op: str, value: Any) -> bool:
    if op == "one_of":
        return level in value
    if op == "not_one_of":
        return level not in value
    if op == "between":
        return bool(value[0] <= level <= value[1])
    if op == "present":
        return bool(value)  # a decision always has a level
    return compare(op, level, value)  # equals, at_least, at_most, above, below


def at_level(cond: Condition, level: int, settings: Settings, path: str = LEVEL_PATH) -> Partial:
    """``cond`` with its tests of ``path`` (a level: by default the decided one) decided for
    ``level``: True, False, or what is left to know about the case."""
    if isinstance(cond, FieldTest):
        if cond.path != path:
            return cond
        value = (tuple(_setting(v, settings) for v in cond.value) if isinstance(cond.value, tuple | list)
                 else _setting(cond.value, settings))
        return _holds(level, cond.op, value)
    if isinstance(cond, NotOf):
        inner = at_level(cond.item, level, settings, path)
        return (not inner) if isinstance(inner, bool) else NotOf(inner)
    if isinstance(cond, AllOf | AnyOf):
        stop, skip = (False, True) if isinstance(cond, AllOf) else (True, False)
        items: list[Condition] = []
        for item in cond.items:
            part = at_level(item, level, settings, path)
            if part is stop:
                return stop
            if part is skip:
                continue
            assert not isinstance(part, bool)
            items.append(part)
        if not items:
            return skip
        return items[0] if len(items) == 1 else type(cond)(tuple(items))
    return cond


def tests_level(rule: Rule) -> bool:
    return any(isinstance(c, FieldTest) and c.path == LEVEL_PATH for c, _ in walk_condition(rule.when))


def has_signal_test(cond: Partial) -> bool:
    return not isinstance(cond, bool) and any(isinstance(c, SignalTest) for c, _ in walk_condition(cond))


# --- what the page shows -------------------------------------------------------------------


@dataclass(frozen=True)
class StepView:
    code: str
    label: str
    due: str | None
    legal_basis: tuple[str, ...]
    only_if: str | None = None
    laws: tuple[tuple[str, str | None], ...] = ()  # (citation, its Lovdata address)
    guidance: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleView:
    id: str
    title: str
    because: str
    when: str
    local: bool
    steps: tuple[StepView, ...] = ()
    forbidden: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (code, label, legal basis)
    outcome: str = ""
    urgent: bool = False
    actors: tuple[tuple[str, str], ...] = ()  # (role, who)


@dataclass(frozen=True)
class BypassCard:
    title: str
    signals: tuple[str, ...]
    urgent: bool
    rules: tuple[RuleView, ...]


@dataclass(frozen=True)
class ActorView:
    role: str
    who: str
    only_if: str | None = None


@dataclass(frozen=True)
class LevelCard:
    level: int
    name: str
    local_name: bool
    when: tuple[RuleView, ...]
    actors: tuple[ActorView, ...]
    relay_titles: tuple[tuple[str, str], ...]  # (service, the relay holder's title there)
    steps: tuple[StepView, ...]
    routed: bool


@dataclass
class GuidePage:
    bypass: list[BypassCard] = field(default_factory=list)
    bypass_notes: list[RuleView] = field(default_factory=list)
    levels: list[LevelCard] = field(default_factory=list)
    ladder: list[RuleView] = field(default_factory=list)
    caps: list[RuleView] = field(default_factory=list)
    routing: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    consent_parties: list[tuple[str, str]] = field(default_factory=list)
    consent_rules: list[RuleView] = field(default_factory=list)
    participation: list[RuleView] = field(default_factory=list)
    local_services: list[tuple[str, str]] = field(default_factory=list)
    local_labels: list[tuple[str, str]] = field(default_factory=list)
    settings: list[tuple[str, str, bool]] = field(default_factory=list)
    local_rules: list[RuleView] = field(default_factory=list)
    duties: list[tuple[StepView, str]] = field(default_factory=list)
    # (code, label, text, (citation, Lovdata address) pairs, guidance)
    forbidden: list[tuple[str, str, str, tuple[tuple[str, str | None], ...], tuple[str, ...]]] = field(
        default_factory=list)
    youth_consent_age: int = 16


def due_text(step: StepInfo, settings: Settings, lang: str) -> str | None:
    if step.due == "today":
        return text("due_today", lang)
    if step.due_setting:
        days = settings.value(step.due_setting)
        return text("set_a_date", lang) if days is None else ntext("due_within", "due_within_plural", days, lang)
    return None


def legal_basis(step: StepInfo, guide: Guide, lang: str) -> tuple[str, ...]:
    reporters: dict[str, list[str]] = {}  # each law once, with every reporter it applies to
    for who, laws in step.legal_basis_by_reporter.items():
        name = text("health_services", lang) if who == "health" else _lower_first(_service(who, guide, lang))
        for law in laws:
            reporters.setdefault(law, []).append(name)
    extra = []
    for law, names in reporters.items():
        when = text("for_reporter", lang, who=", ".join(names))
        extra.append(f"{law} ({when})")
    for signals, laws in step.legal_basis_by_signal:
        named = ", ".join(_lower_first(guide.catalog.signals[s].label.in_lang(lang)) for s in signals)
        situation = text("for_signals", lang, signals=named)
        extra += [f"{law} ({situation})" for law in laws]
    return (*step.legal_basis, *extra)


def law_links(laws: tuple[str, ...], guide: Guide) -> tuple[tuple[str, str | None], ...]:
    """Each citation (possibly followed by when it applies) with the Lovdata address of its section."""
    urls = citation_urls(guide.laws, [law.split(" (")[0] for law in laws])
    return tuple((law, urls.get(law.split(" (")[0])) for law in laws)


def step_view(code: str, guide: Guide, lang: str, only_if: str | None = None) -> StepView:
    step = guide.catalog.steps[code]
    laws = legal_basis(step, guide, lang)
    return StepView(code, step.label.in_lang(lang), due_text(step, guide.settings, lang),
                    laws, only_if, law_links(laws, guide), step.guidance)


def _outcome(rule: Rule, guide: Guide, lang: str) -> str:
    then = rule.then
    parts = []
    if then.level is not None:
        call = then.level
        if not call.from_current:
            parts.append(guide.level_name(call.value or 0, lang))
        elif call.add:
            parts.append(ntext("up_levels", "up_levels_plural", call.add, lang))
        else:
            parts.append(text("stay_level", lang))
    if then.level_at_most is not None:
        parts.append(text("at_most_level", lang, n=then.level_at_most))
    if then.consent_from:
        parts.append(guide.catalog.consent_parties[then.consent_from].in_lang(lang))
    return "; ".join(parts)


def rule_view(rule: Rule, guide: Guide, lang: str, known: frozenset[str] = frozenset()) -> RuleView:
    return RuleView(
        id=rule.id, title=rule.title.in_lang(lang), because=rule.because.in_lang(lang),
        when=sentence(rule.when, guide, lang, known), local=rule.guide != NATIONAL,
        steps=tuple(step_view(s, guide, lang) for s in _catalog_order(rule.then.steps, guide)),
        forbidden=tuple((f, guide.catalog.forbidden[f].label.in_lang(lang), guide.catalog.forbidden[f].legal_basis)
                        for f in rule.then.forbidden),
        outcome=_outcome(rule, guide, lang), urgent=bool(URGENT_STEPS & set(rule.then.steps)),
        actors=tuple((guide.catalog.roles[a.role].in_lang(lang), _actor_who(a, guide, lang)) for a in rule.then.actors),
    )


def _catalog_order(codes: Iterable[str], guide: Guide) -> list[str]:
    return sorted(set(codes), key=lambda c: guide.catalog.steps[c].order)


def _is_bypass(rule: Rule) -> bool:
    return rule.group == "bypass" or (rule.guide != NATIONAL and bool(URGENT_STEPS & set(rule.then.steps)))


def bypass_cards(guide: Guide, lang: str) -> tuple[list[BypassCard], list[RuleView]]:
    """Bypass rules grouped by the signals they share (acute danger, abuse, social control, …)."""
    groups: list[tuple[set[str], list[Rule]]] = []
    notes: list[RuleView] = []
    for rule in (r for r in guide.rules if _is_bypass(r)):
        codes = {c for t in rule.signal_tests for c in (t.codes or ())}
        if not codes:
            notes.append(rule_view(rule, guide, lang))
            continue
        joined = [g for g in groups if g[0] & codes]
        merged_codes, merged_rules = set(codes), [rule]
        for g in joined:
            merged_codes |= g[0]
            merged_rules = g[1] + merged_rules
            groups.remove(g)
        groups.append((merged_codes, sorted(merged_rules, key=lambda r: r.order)))
    groups.sort(key=lambda g: g[1][0].order)
    cards = []
    for codes, rules in groups:
        views = tuple(rule_view(r, guide, lang, frozenset(codes)) for r in rules)
        signals = tuple(guide.catalog.signals[c].label.in_lang(lang)
                        for c in sorted(codes, key=lambda c: guide.catalog.signals[c].order))
        cards.append(BypassCard(views[0].title, signals, any(v.urgent for v in views), views))
    return cards, notes


def _actor_who(ref: ActorRef, guide: Guide, lang: str) -> str:
    if ref.service == REPORTER_REF:
        return text("ref_reporter", lang)
    if ref.service == INVOLVED_REF:
        return text("ref_involved", lang)
    return _service(ref.service, guide, lang)


def level_cards(guide: Guide, national: Guide, lang: str) -> list[LevelCard]:
    settings, catalog = guide.settings, guide.catalog
    titles = tuple((_service(code, guide, lang), title.in_lang(lang))
                   for code, title in settings.relay_holder_titles.items())
    cards = []
    for level in range(4):
        when = tuple(rule_view(r, guide, lang) for r in guide.rules if _leads_to(r, level, settings))
        actors: dict[tuple[str, str], ActorView] = {}
        steps: dict[str, StepView] = {}
        routed = False
        for rule in (r for r in guide.rules if tests_level(r)):
            rest = at_level(rule.when, level, settings)
            if rest is False:
                continue
            only_if = None if rest is True else describe(rest, guide, lang)
            for ref in rule.then.actors:
                if ref.role == "involve" and has_signal_test(rest):
                    routed = True
                    continue
                who = _actor_who(ref, guide, lang)
                actors.setdefault((ref.role, who), ActorView(ref.role, who, only_if))
            for code in rule.then.steps:
                if code not in steps or (only_if is None and steps[code].only_if is not None):
                    steps[code] = step_view(code, guide, lang, only_if)
                actor = catalog.steps[code].actor
                if actor is not None:
                    who = _actor_who(actor, guide, lang)
                    actors.setdefault((actor.role, who), ActorView(actor.role, who, only_if))
        roles = {role: i for i, role in enumerate(catalog.roles)}
        ordered = sorted(actors.values(), key=lambda a: (roles.get(a.role, 99), a.only_if is not None))
        cards.append(LevelCard(
            level=level, name=guide.level_name(level, lang),
            local_name=guide.level_names[level] != national.level_names[level],
            when=when, actors=tuple(ordered),
            relay_titles=titles if any(a.role == "relay_holder" for a in ordered) else (),
            steps=tuple(steps[c] for c in _catalog_order(steps, guide)), routed=routed,
        ))
    return cards


def _leads_to(rule: Rule, level: int, settings: Settings) -> bool:
    """Whether the rule can call for ``level``: a fixed level, or a step up from a current level
    its conditions allow (staying at the current level leads nowhere new)."""
    call = rule.then.level
    if call is None:
        return False
    if not call.from_current:
        return call.value == level
    return call.add > 0 and any(call.resolve(current) == level
                                and at_level(rule.when, current, settings, "status.current_level") is not False
                                for current in range(4))


def routing_rows(guide: Guide, lang: str) -> list[tuple[str, tuple[str, ...]]]:
    rows = []
    for rule in guide.rules:
        services = [ref for ref in rule.then.actors if ref.role == "involve" and ref.service in guide.catalog.services]
        rest = at_level(rule.when, 3, guide.settings)
        if services and has_signal_test(rest):
            rows.append((sentence(rest, guide, lang), tuple(_service(r.service, guide, lang) for r in services)))
    return rows


def _settings_rows(guide: Guide, national: Guide, lang: str) -> list[tuple[str, str, bool]]:
    def shown(settings: Settings, name: str) -> str:
        if name in ("child_age", "pregnant_age"):
            return text("years_range", lang, a=settings.value(f"{name}_min"), b=settings.value(f"{name}_max"))
        value = settings.value(name)
        if name.endswith("_days"):
            return text("set_a_date", lang) if value is None else ntext("days", "days_plural", value, lang)
        return ntext("years", "years_plural", value, lang) if name == "youth_consent_age" else str(value)

    return [(text(f"set_{name}", lang), shown(guide.settings, name),
             shown(guide.settings, name) != shown(national.settings, name)) for name in SETTING_ROWS]


def build_guide_page(guide: Guide, national: Guide, lang: str) -> GuidePage:
    """Everything the action-guide page shows, in ``lang``."""
    page = GuidePage(youth_consent_age=guide.settings.youth_consent_age)
    page.bypass, page.bypass_notes = bypass_cards(guide, lang)
    page.levels = level_cards(guide, national, lang)
    page.ladder = [rule_view(r, guide, lang) for r in guide.rules if r.then.level is not None]
    page.caps = [rule_view(r, guide, lang) for r in guide.rules if r.then.level_at_most is not None]
    page.routing = routing_rows(guide, lang)
    page.consent_parties = [(guide.catalog.consent_parties[r.then.consent_from].in_lang(lang),
                             sentence(r.when, guide, lang)) for r in guide.rules if r.then.consent_from]
    page.consent_rules = [rule_view(r, guide, lang) for r in guide.rules
                          if r.group == "consent" and not r.then.consent_from]
    page.participation = [rule_view(r, guide, lang) for r in guide.rules if r.group == "participation"]
    page.local_services = [(s.code, s.label.in_lang(lang)) for s in guide.catalog.services.values() if s.local]
    page.local_labels = [(national.catalog.services[code].label.in_lang(lang), s.label.in_lang(lang))
                         for code, s in guide.catalog.services.items()
                         if not s.local and code in national.catalog.services
                         and s.label != national.catalog.services[code].label]
    page.settings = _settings_rows(guide, national, lang)
    page.local_rules = [rule_view(r, guide, lang) for r in guide.rules if r.guide != NATIONAL]
    used = {s for r in guide.rules for s in r.then.steps}
    page.duties = [(step_view(c, guide, lang), guide.catalog.steps[c].text.in_lang(lang))
                   for c in _catalog_order(used, guide)]
    banned = {f for r in guide.rules for f in r.then.forbidden}
    page.forbidden = [(f.code, f.label.in_lang(lang), f.text.in_lang(lang), law_links(f.legal_basis, guide),
                       f.guidance) for f in guide.catalog.forbidden.values() if f.code in banned]
    return page
