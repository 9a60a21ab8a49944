"""The decision the service answers with (docs/api.md, Response), as plain data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActorOut:
    service: str
    role: str
    label: str


@dataclass(frozen=True)
class ContactOut:
    label: str
    phone: str | None
    url: str | None


@dataclass(frozen=True)
class StepOut:
    code: str
    kind: str
    label: str
    text: str
    legal_basis: tuple[str, ...]
    due_days: int | None
    guidance: tuple[str, ...] = ()
    contact: ContactOut | None = None


@dataclass(frozen=True)
class ForbiddenOut:
    code: str
    label: str
    text: str
    legal_basis: tuple[str, ...]
    guidance: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConsentOut:
    required_from: str | None
    satisfied: bool
    blocks_level: int | None


@dataclass(frozen=True)
class ExplanationOut:
    rule: str
    title: str
    because: str
    signals: tuple[str, ...]


@dataclass(frozen=True)
class ToolOut:
    id: str
    title: str
    url: str | None


@dataclass(frozen=True)
class OutcomeOut:
    when: str
    go: str
    step: str | None
    text: str


@dataclass(frozen=True)
class PathwayStepOut:
    id: str
    number: int
    title: str
    text: str
    who: tuple[ActorOut, ...]
    due_days: int | None
    due_from: str | None
    tools: tuple[ToolOut, ...]
    outcomes: tuple[OutcomeOut, ...]
    status: str


@dataclass(frozen=True)
class TeamOut:
    service: str
    label: str
    text: str | None
    url: str | None


@dataclass(frozen=True)
class PathwayOut:
    level: int
    title: str
    paused: bool
    steps: tuple[PathwayStepOut, ...]
    teams: tuple[TeamOut, ...]


@dataclass(frozen=True)
class Decision:
    municipality: str
    version: str
    digest: str
    status: str  # the guide's status: adopted, draft or example
    lang: str
    level: int
    level_name: str
    urgent: bool
    actors: tuple[ActorOut, ...]
    steps: tuple[StepOut, ...]
    forbidden: tuple[ForbiddenOut, ...]
    consent: ConsentOut
    explanation: tuple[ExplanationOut, ...]
    pathway: PathwayOut | None = None
