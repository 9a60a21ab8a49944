"""Exceptions of the rule package.

    BTIError
    ├── RuleFileError      a rule, catalog or guide file is wrong (carries every problem found)
    ├── CaseError          a case does not fit the guide (age outside the guide's range, …)
    └── EngineError        durable_rules failed while evaluating a case
"""

from __future__ import annotations

from dataclasses import dataclass, field


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


@dataclass
class CaseError(BTIError):
    """A request that is well-formed but does not fit the guide; ``details`` as (field, message)."""

    details: list[tuple[str, str]] = field(default_factory=list)
    suggestions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # by field

    def __str__(self) -> str:
        return "; ".join(f"{f}: {m}" for f, m in self.details)


class EngineError(BTIError):
    """The rule engine failed; the decision is not given rather than given wrong."""
