"""Static questions about compiled conditions: can a rule ever fire, does one rule's condition
imply another's. Answered by trying every combination of the values that matter (each constant a
condition compares with, one below and one above it), attribute by attribute.

Attributes are treated as independent, which only adds combinations the real cases cannot have;
so "never holds" and "implies" are never claimed wrongly, only sometimes missed.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from rules.compiler import FALSE, IR, TRUE, leaf_attrs, negate, simplify
from rules.fields import COMPARISONS

MAX_COMBINATIONS = 200_000
_OTHER = "\0other"  # a string no condition names


def _candidates(ir: IR) -> dict[str, list[Any]]:
    values: dict[str, set[Any]] = {}
    for attr, value in leaf_attrs(ir):
        found = values.setdefault(attr, set())
        if isinstance(value, int):
            found.update({value - 1, value, value + 1})
        else:
            found.update({value, _OTHER})
    return {attr: sorted(v, key=repr) for attr, v in values.items()}


def holds(ir: IR, fact: Mapping[str, Any]) -> bool:
    """Evaluate ``ir`` on a fact (a plain-Python mirror of what durable_rules does)."""
    tag = ir[0]
    if tag == "true":
        return True
    if tag == "false":
        return False
    if tag == "and":
        return all(holds(i, fact) for i in ir[1])
    if tag == "or":
        return any(holds(i, fact) for i in ir[1])
    _, attr, op, value = ir
    actual = fact[attr]
    if op not in ("eq", "neq") and (isinstance(actual, str) or isinstance(value, str)):
        return False  # an order between a word and a number never holds
    return bool(COMPARISONS[op].test(actual, value))


def satisfiable(ir: IR) -> bool | None:
    """True if some combination makes ``ir`` hold, False if none does, None if too many to try."""
    ir = simplify(ir)
    if ir == TRUE:
        return True
    if ir == FALSE:
        return False
    candidates = _candidates(ir)
    total = 1
    for values in candidates.values():
        total *= len(values)
    if total > MAX_COMBINATIONS:
        return None
    names = list(candidates)
    return any(holds(ir, dict(zip(names, combo, strict=True)))
               for combo in itertools.product(*(candidates[n] for n in names)))


def implies(a: IR, b: IR) -> bool:
    """``a`` cannot hold without ``b`` (False when unsure)."""
    return satisfiable(("and", (a, negate(b)))) is False


def boundaries(ir: IR) -> dict[str, set[Any]]:
    """Where each attribute's value starts to change what ``ir`` says: for a number, the first
    value of each band it cuts (``age < 18`` and ``age >= 18`` give 18, ``age > 19`` gives 20);
    for a word, the words it names."""
    out: dict[str, set[Any]] = {}
    stack = [ir]
    while stack:
        item = stack.pop()
        if item[0] in ("and", "or"):
            stack.extend(item[1])
            continue
        if item[0] != "cmp":
            continue
        _, attr, op, value = item
        found = out.setdefault(attr, set())
        if isinstance(value, bool) or not isinstance(value, int) or op in ("lt", "gte"):
            found.add(value)  # a word, or the first value of the upper band
        elif op in ("lte", "gt"):
            found.add(value + 1)
        else:  # eq, neq: the value is a band of its own
            found.update({value, value + 1})
    return out
