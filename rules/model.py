"""The validated rule model: catalog, conditions, outcomes, rules and guides.

Plain frozen data. The loader builds it from YAML, the compiler turns it into a durable_rules
ruleset, the resolver reads the outcomes of the rules that fired.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rules.laws and rules.pathway build on this module
    from rules.laws import LawRegistry
    from rules.pathway import Pathway

NATIONAL = "national"  # the baseline guide every municipality's guide extends
LANGUAGES = ("nb", "nn", "en")
# What a guide rests on (docs/rule-language.md, "Status and sources"): the municipality's own adopted
# version, a draft, or an example someone else built from public material.
GUIDE_STATUSES = ("adopted", "draft", "example")
DEFAULT_LANGUAGE = "nb"

STRENGTHS = ("wondering", "concern", "reason_to_believe")
STRENGTH_RANK = {s: i + 1 for i, s in enumerate(STRENGTHS)}  # 0 means "signal absent"

ROLES = ("relay_holder", "reporter", "involve", "coordinator", "notify", "emergency", "consult")
CONSENT_PARTIES = ("subject", "both_parents", "one_parent", "child_welfare")
CONSENT_ANSWERS = ("not_asked", "given", "refused", "withdrawn", "partial")
RESPONSIBILITIES = ("shared", "one_parent", "child_welfare")
MEASURES = ("yes", "partly", "no")
SUBJECT_KINDS = ("child", "pregnant")
URGENT_STEPS = frozenset({"call_emergency_112", "call_medical_emergency_113", "contact_child_welfare_emergency",
                          "notify_police", "report_to_child_welfare"})
DERIVED_FLAGS = ("parents_suspected",)


class Text(dict[str, str]):
    """A text in several languages; ``get`` falls back to bokmål, never to a blank."""

    def in_lang(self, lang: str) -> str:
        return self.get(lang) or self.get(DEFAULT_LANGUAGE) or next(iter(self.values()), "")


# --- catalog -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    code: str
    label: Text
    health: bool
    order: int
    local: bool = False
    reports: bool = True  # may be the reporter of a request (emergency_medical may not)


@dataclass(frozen=True)
class SignalInfo:
    code: str
    group: str
    label: Text
    subjects: tuple[str, ...]
    order: int


# Actors a rule may name by where they stand in the case rather than by a service code.
REPORTER_REF, INVOLVED_REF = "reporter.service", "status.services_involved"
CASE_ACTOR_REFS = (REPORTER_REF, INVOLVED_REF)


@dataclass(frozen=True)
class ActorRef:
    """An actor named by a rule or a step: a service code, or a reference into the case
    (``reporter.service``, ``status.services_involved``)."""

    service: str
    role: str


@dataclass(frozen=True)
class StepInfo:
    code: str
    kind: str
    label: Text
    text: Text
    legal_basis: tuple[str, ...]
    order: int
    legal_basis_by_reporter: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    actor: ActorRef | None = None
    subjects: tuple[str, ...] = SUBJECT_KINDS
    min_age: int | None = None
    due: str | None = None  # "today"
    due_setting: str | None = None
    dropped_when: tuple[str, ...] = ()
    guidance: tuple[str, ...] = ()  # professional sources that recommend it (never a statute)
    # statutes added when the request has one of the signals (straffeloven § 196 on call_emergency_112)
    legal_basis_by_signal: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class ForbiddenInfo:
    code: str
    label: Text
    text: Text
    legal_basis: tuple[str, ...]
    removes: tuple[str, ...]
    order: int
    guidance: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalog:
    languages: tuple[str, ...]
    levels: Mapping[int, Text]
    strengths: Mapping[str, Text]
    roles: Mapping[str, Text]
    consent_parties: Mapping[str, Text]
    services: Mapping[str, Service]
    signals: Mapping[str, SignalInfo]
    steps: Mapping[str, StepInfo]
    forbidden: Mapping[str, ForbiddenInfo]

    def with_local_services(self, local: Mapping[str, Service], labels: Mapping[str, Text]) -> Catalog:
        """A copy with a guide's local teams added and national services relabelled."""
        services = {
            code: (Service(code, labels[code], s.health, s.order, reports=s.reports) if code in labels else s)
            for code, s in self.services.items()
        }
        services.update(local)
        return Catalog(self.languages, self.levels, self.strengths, self.roles, self.consent_parties,
                       services, self.signals, self.steps, self.forbidden)


# --- conditions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class NotOf:
    item: Condition


@dataclass(frozen=True)
class SignalTest:
    """Some signal among ``codes`` (None: any signal) has a strength rank in ``ranks``."""

    codes: tuple[str, ...] | None
    ranks: frozenset[int]


@dataclass(frozen=True)
class FieldTest:
    """``path`` compared with ``value`` by ``op``: eq, one_of, not_one_of, at_least, at_most,
    above, below, between, present, contains, count_at_least."""

    path: str
    op: str
    value: Any


Condition = AllOf | AnyOf | NotOf | SignalTest | FieldTest


def walk_condition(cond: Condition, negated: bool = False) -> Iterator[tuple[Condition, bool]]:
    """Every part of ``cond``, outermost first, each with whether it sits under an odd number of
    ``not``."""
    yield cond, negated
    if isinstance(cond, AllOf | AnyOf):
        for item in cond.items:
            yield from walk_condition(item, negated)
    elif isinstance(cond, NotOf):
        yield from walk_condition(cond.item, not negated)


# --- outcomes and rules --------------------------------------------------------------------


@dataclass(frozen=True)
class LevelCall:
    """A level a rule calls for: a number, or the current level plus ``add`` (at most 3)."""

    value: int | None = None
    from_current: bool = False
    add: int = 0

    def resolve(self, current_level: int | None) -> int:
        if not self.from_current:
            return self.value or 0
        return max(0, min(3, (current_level or 0) + self.add))


@dataclass(frozen=True)
class Outcome:
    level: LevelCall | None = None
    level_at_most: int | None = None
    blocks_level: bool = False
    steps: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    actors: tuple[ActorRef, ...] = ()
    consent_from: str | None = None
    sets: tuple[str, ...] = ()


CATEGORY_ORDER = ("bypass", "consent", "participation", "ladder", "municipal")
GROUP_CATEGORY = {"bypass": "bypass", "consent": "consent", "participation": "participation"}
# Within the ladder category the explanation reads: level, then its steps, actors and routing.
LADDER_GROUPS = ("levels", "steps", "actors", "routing")


@dataclass(frozen=True)
class Rule:
    id: str  # <guide>.<group>.<name>
    guide: str
    group: str
    name: str
    title: Text
    because: Text
    when: Condition
    then: Outcome
    first_hit: bool  # the rule's group decides by the first rule that applies
    order: int  # position over the whole guide, baseline first
    file: str
    line: int
    notes: Text | None = None
    phase: int = 1
    signal_tests: tuple[SignalTest, ...] = ()  # its positive signal tests, to name matched signals

    @property
    def category(self) -> str:
        if self.guide != NATIONAL:
            return "municipal"
        return GROUP_CATEGORY.get(self.group, "ladder")

    @cached_property
    def explanation_key(self) -> tuple[int, int, int]:
        """Where the rule's entry stands in a decision's explanation (docs/api.md, Response)."""
        group = LADDER_GROUPS.index(self.group) if self.group in LADDER_GROUPS else len(LADDER_GROUPS)
        return CATEGORY_ORDER.index(self.category), group, self.order


@dataclass(frozen=True)
class Settings:
    youth_consent_age: int = 16
    child_age_min: int = 0
    child_age_max: int = 25
    pregnant_age_min: int = 12
    pregnant_age_max: int = 55
    level0_decision_days: int | None = None
    level2_meeting_days: int | None = None
    evaluation_interval_days: int | None = None
    relay_log_from_level: int = 2
    services_for_level_3: int = 2
    relay_holder_titles: Mapping[str, Text] = field(default_factory=dict)
    languages: tuple[str, ...] = LANGUAGES

    def value(self, name: str) -> Any:
        return getattr(self, name)


SETTING_NAMES = (
    "youth_consent_age", "child_age_min", "child_age_max", "pregnant_age_min", "pregnant_age_max",
    "level0_decision_days", "level2_meeting_days", "evaluation_interval_days",
    "relay_log_from_level", "services_for_level_3",
)


@dataclass(frozen=True)
class Source:
    """A published document a guide was built from, and the day it was read."""

    title: str
    url: str
    read: str  # ISO date


@dataclass(frozen=True)
class Guide:
    id: str
    name: Text
    version: str
    digest: str
    settings: Settings
    catalog: Catalog
    rules: tuple[Rule, ...]
    level_names: Mapping[int, Text]
    files: tuple[str, ...] = ()
    extends: str | None = None
    date: str | None = None  # when this version was adopted (guide.yaml `date:`), ISO
    laws: LawRegistry | None = field(default=None, compare=False, repr=False)  # the national guide's statutes
    pathway: Pathway = field(default_factory=lambda: _empty_pathway())  # steps per level, tools, teams, contacts
    status: str = "draft"  # one of GUIDE_STATUSES; anything but "adopted" is shown with a notice
    sources: tuple[Source, ...] = ()

    @property
    def adopted(self) -> bool:
        return self.status == "adopted"

    def level_name(self, level: int, lang: str) -> str:
        return self.level_names[level].in_lang(lang)


def _empty_pathway() -> Pathway:
    from rules.pathway import Pathway

    return Pathway()


@dataclass(frozen=True)
class SettingRef:
    """A number in a condition taken from the guide's settings (``{setting: youth_consent_age}``)."""

    name: str
