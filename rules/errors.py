"""Exceptions of the rule package.

    BTIError
    ├── RuleFileError      a rule, catalog or guide file is wrong (carries every problem found)
    ├── StepError          status.step names a pathway step that does not apply to the case
    └── EngineError        durable_rules failed while evaluating a case

(A request that does not fit its guide is refused by the request schema, schemas.request,
before it becomes a Case — except a pathway step that does not apply to it, which only the
engine can tell; toolkit adds ScenarioFileError under BTIError.)
"""

from __future__ import annotations

from dataclasses import dataclass


class BTIError(Exception):
    """Base of every error this package raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a rule file, with where it is and what to do about it."""

    file: str
    line: int | None
    path: str
    message: str
    suggestions: tuple[str, ...] = ()
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        if self.suggestions:
            text += " (did you mean: " + ", ".join(self.suggestions) + "?)"
        if self.severity != "error":
            text += f" [{self.severity}]"
        return text


class RuleFileError(BTIError):
    """One or more rule files are invalid; ``problems`` lists every one."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class EngineError(BTIError):
    """The rule engine failed; the decision is not given rather than given wrong."""


class StepError(BTIError):
    """``status.step`` names a step of the current level whose condition does not hold for the
    case (the engine decides it); ``suggestions`` are steps that apply."""

    field = "status.step"

    def __init__(self, message: str, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.suggestions = suggestions
