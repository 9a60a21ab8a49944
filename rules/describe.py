"""A rule condition in the rule language's own words (guide pages, coverage, ``bti explain``)."""

from __future__ import annotations

from rules.fields import OPERATORS
from rules.model import STRENGTHS, AllOf, AnyOf, Condition, FieldTest, NotOf, SettingRef, SignalTest


def describe_condition(cond: Condition) -> str:
    """The condition in the rule language's own words (as the rule file writes it)."""
    if isinstance(cond, AllOf):
        return " and ".join(_wrap(c) for c in cond.items)
    if isinstance(cond, AnyOf):
        return " or ".join(_wrap(c) for c in cond.items)
    if isinstance(cond, NotOf):
        return f"not {_wrap(cond.item)}"
    if isinstance(cond, SignalTest):
        codes = "any signal" if cond.codes is None else " / ".join(cond.codes)
        ranks = sorted(cond.ranks)
        if ranks == [1, 2, 3]:
            strength = "any strength"
        elif ranks and ranks[-1] == 3:
            strength = f"at least {STRENGTHS[ranks[0] - 1]}"
        else:
            strength = " or ".join(STRENGTHS[r - 1] for r in ranks)
        return f"{codes} ({strength})"
    return _field(cond)


def _wrap(cond: Condition) -> str:
    text = describe_condition(cond)
    return f"({text})" if isinstance(cond, AllOf | AnyOf) else text


def _value(value: object) -> str:
    if isinstance(value, SettingRef):
        return f"setting {value.name}"
    if isinstance(value, tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _field(test: FieldTest) -> str:
    if test.op == "present":
        return f"{test.path} {'is given' if test.value else 'is not given'}"
    return f"{test.path} {OPERATORS[test.op].words} {_value(test.value)}"
