"""A guide's pathway: per level the ordered steps its employees follow, with who does them, by
when, with which tools, and (for the deciding step) the ways forward; the guide's tools, local
teams and contacts (docs/rule-language.md, "The pathway").

Plain frozen data. :mod:`rules.pathway_loader` builds it from ``pathway.yaml``; the compiler
turns the steps' conditions into engine rules; :mod:`rules.pathway_resolve` shows the steps of a
decided level with their statuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rules.model import Condition, Text

DUE_FROM = ("concern", "level_start")
OUTCOME_WHEN = ("yes", "partly", "no")  # matching status.measures_effective
OUTCOME_GO = ("stop", "continue", "back", "up")
WHO_KINDS = ("relay_holder", "wondering_owner", "leader")
TOOL_KINDS = ("form", "guide", "template", "plan", "link", "video")
FAMILY_ATTENDS = ("always", "invited", "optional", "never")
STEP_STATUSES = ("done", "current", "next", "todo")
PATHWAY_FILE = "pathway.yaml"


@dataclass(frozen=True)
class Tool:
    """A form, conversation guide or web page the guide names; ``url`` per language (the bokmål
    address stands in for a language without its own)."""

    id: str
    title: Text
    kind: str
    url: Text | None = None


@dataclass(frozen=True)
class Contact:
    """A phone number and/or web address a decision shows on a step (``contact``)."""

    label: Text
    phone: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Team:
    """What a guide says about one of its local teams (a service code of the guide)."""

    service: str
    text: Text | None = None
    members: tuple[str, ...] = ()
    meets: Text | None = None
    how_to_refer: Text | None = None
    family_attends: str | None = None
    levels: tuple[int, ...] = ()
    url: str | None = None


@dataclass(frozen=True)
class Who:
    """Who does a step: a person named by the role they have in the case (``relay_holder``,
    ``wondering_owner``, ``leader``), or a service or team (``service`` with ``role``)."""

    kind: str  # one of WHO_KINDS, or "service"
    service: str | None = None
    role: str | None = None
    label: Text | None = None


@dataclass(frozen=True)
class Deadline:
    """A deadline that replaces the step's own when ``when`` holds (the first that holds)."""

    days: int
    when: Condition
    condition: int = -1  # its index in Pathway.conditions


@dataclass(frozen=True)
class StepOutcome:
    """One way forward from the deciding step: when measures worked (``yes``), partly or not,
    ``go`` stop, continue, back to ``step`` or up a level."""

    when: str
    go: str
    text: Text
    step: str | None = None


@dataclass(frozen=True)
class PathwayStep:
    id: str
    level: int
    number: int
    title: Text
    text: Text
    who: tuple[Who, ...] = ()
    due_days: int | None = None
    due_from: str | None = None
    deadlines: tuple[Deadline, ...] = ()
    tools: tuple[str, ...] = ()
    outcomes: tuple[StepOutcome, ...] = ()
    when: Condition | None = None
    condition: int = -1  # index of ``when`` in Pathway.conditions (-1: the step always applies)
    guide: str = ""
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class PathwayLevel:
    level: int
    steps: tuple[PathwayStep, ...]
    label: str | None = None  # the guide's short name for the level ("A"), else its number
    guide: str = ""
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class Pathway:
    """A guide's whole pathway. ``conditions`` lists every step and deadline condition, in the
    order the compiler numbers them; the engine decides which hold for a case."""

    levels: Mapping[int, PathwayLevel] = field(default_factory=dict)
    tools: Mapping[str, Tool] = field(default_factory=dict)
    teams: Mapping[str, Team] = field(default_factory=dict)
    contacts: Mapping[str, Contact] = field(default_factory=dict)  # by service code
    emergency_numbers: Mapping[str, Contact] = field(default_factory=dict)  # by step code; national only
    titles: Mapping[str, Text] = field(default_factory=dict)  # labels of the WHO_KINDS
    conditions: tuple[Condition, ...] = ()

    def step(self, step_id: str) -> PathwayStep | None:
        for level in self.levels.values():
            for step in level.steps:
                if step.id == step_id:
                    return step
        return None

    def steps(self) -> list[PathwayStep]:
        return [s for n in sorted(self.levels) for s in self.levels[n].steps]

    def contact_for(self, step_code: str, service: str | None) -> Contact | None:
        """The contact a decision shows on a national step: the fixed emergency numbers (112,
        113) first, then the guide's contact for the service the step reaches."""
        fixed = self.emergency_numbers.get(step_code)
        if fixed is not None:
            return fixed
        return self.contacts.get(service) if service else None
