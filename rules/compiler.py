"""Compile a guide's rules into a durable_rules ruleset (the dict format).

Each rule becomes one durable rule over a single fact: the phase's merged case fact. Conditions
are put in negation normal form (durable_rules has no negation inside a fact expression and no
``$in``), "one of" becomes ``$or``, settings are filled in from the guide. A sentinel rule per
phase matches every fact of that phase, so no fact goes unhandled and every state has had an
action started before it is deleted (see docs/engine-design.md).

Pure data in, pure data out: this module does not import the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rules.fields import (
    COMPARISONS,
    FIELDS,
    INVOLVED_COUNT_ATTR,
    MAX_STRENGTH_ATTR,
    OPERATORS,
    PHASE_ATTR,
    SERVICE_ATTR_PREFIX,
    SIGNAL_ATTR_PREFIX,
)
from rules.model import (
    AllOf,
    AnyOf,
    Catalog,
    Condition,
    FieldTest,
    NotOf,
    Rule,
    SettingRef,
    Settings,
    SignalTest,
)

PHASES = (1, 2, 3)
SENTINEL_PREFIX = "phase_"
ACTION_PREFIX = "r"
PATHWAY_PREFIX = "q"
PATHWAY_PHASE = 1  # whether a pathway step applies depends on the request alone

# A small intermediate form: ("and", (..)) ("or", (..)) ("cmp", attr, op, value) ("true",) ("false",)
IR = tuple[Any, ...]
TRUE: IR = ("true",)
FALSE: IR = ("false",)


@dataclass(frozen=True)
class CompiledGuide:
    """The durable_rules rulesets (one per phase), the attributes each phase's rules read, and
    how durable rule names map back to the guide's rules."""

    rulesets: dict[int, dict[str, Any]]
    attributes: dict[int, tuple[str, ...]]
    action_rules: dict[str, int]  # durable rule name → index in guide.rules (not those that can never fire)
    # durable rule name → index in guide.pathway.conditions (pathway steps and deadlines)
    pathway_rules: dict[str, int] = field(default_factory=dict)

    @property
    def ruleset(self) -> dict[str, Any]:
        """All phases' rules in one mapping (names are unique across phases)."""
        return {name: rule for phase in PHASES for name, rule in self.rulesets[phase].items()}


def compile_rules(rules: Iterable[Rule], catalog: Catalog, settings: Settings,
                  pathway_conditions: Sequence[Condition] = ()) -> CompiledGuide:
    """The rules, and the conditions of the guide's pathway steps and deadlines (which the
    engine decides in phase 1, beside the rules: the session reports which of them hold)."""
    rulesets: dict[int, dict[str, Any]] = {phase: {} for phase in PHASES}
    attributes: dict[int, set[str]] = {phase: set() for phase in PHASES}
    action_rules: dict[str, int] = {}
    for index, rule in enumerate(rules):
        ir = simplify(lower(rule.when, catalog, settings))
        if ir == FALSE:  # can never hold: no durable rule (rules.checks warns about it)
            continue
        name = f"{ACTION_PREFIX}{index}"
        rulesets[rule.phase][name] = {"all": [{"m": to_durable(ir, rule.phase)}], "pri": index + 1}
        attributes[rule.phase].update(attr for attr, _ in leaf_attrs(ir))
        action_rules[name] = index
    pathway_rules: dict[str, int] = {}
    for index, cond in enumerate(pathway_conditions):
        ir = simplify(lower(cond, catalog, settings))
        if ir == FALSE:
            continue  # `bti check` reports the step; it never applies
        name = f"{PATHWAY_PREFIX}{index}"
        rulesets[PATHWAY_PHASE][name] = {"all": [{"m": to_durable(ir, PATHWAY_PHASE)}], "pri": 500_000 + index}
        attributes[PATHWAY_PHASE].update(attr for attr, _ in leaf_attrs(ir))
        pathway_rules[name] = index
    for phase in PHASES:
        # Fires last in its phase (highest pri); makes every asserted fact handled.
        rulesets[phase][f"{SENTINEL_PREFIX}{phase}"] = {"all": [{"m": {PHASE_ATTR: phase}}], "pri": 1_000_000}
    return CompiledGuide(rulesets, {p: tuple(sorted(a)) for p, a in attributes.items()}, action_rules,
                         pathway_rules)


def leaf_attrs(ir: IR) -> Iterable[tuple[str, Any]]:
    """Each comparison's attribute and constant."""
    if ir[0] in ("and", "or"):
        for item in ir[1]:
            yield from leaf_attrs(item)
    elif ir[0] == "cmp":
        yield ir[1], ir[3]


def lower(cond: Condition, catalog: Catalog, settings: Settings) -> IR:
    if isinstance(cond, AllOf):
        return ("and", tuple(lower(c, catalog, settings) for c in cond.items))
    if isinstance(cond, AnyOf):
        return ("or", tuple(lower(c, catalog, settings) for c in cond.items))
    if isinstance(cond, NotOf):
        return negate(lower(cond.item, catalog, settings))
    if isinstance(cond, SignalTest):
        return _lower_signal(cond, catalog)
    return _lower_field(cond, settings)


def negate(ir: IR) -> IR:
    tag = ir[0]
    if tag == "and":
        return ("or", tuple(negate(i) for i in ir[1]))
    if tag == "or":
        return ("and", tuple(negate(i) for i in ir[1]))
    if tag == "cmp":
        return ("cmp", ir[1], COMPARISONS[ir[2]].negation, ir[3])
    return FALSE if ir == TRUE else TRUE


def _rank_range(attr: str, ranks: frozenset[int]) -> IR:
    """``attr``'s rank (0 = absent … 3) lies in ``ranks``."""
    ranks = frozenset(r for r in ranks if 0 <= r <= 3)
    if not ranks:
        return FALSE
    if ranks == frozenset(range(4)):
        return TRUE
    lo, hi = min(ranks), max(ranks)
    if len(ranks) != hi - lo + 1:  # not contiguous: one equality per rank
        return ("or", tuple(("cmp", attr, "eq", r) for r in sorted(ranks)))
    if lo == hi:
        return ("cmp", attr, "eq", lo)
    parts = []
    if lo > 0:
        parts.append(("cmp", attr, "gte", lo))
    if hi < 3:
        parts.append(("cmp", attr, "lte", hi))
    return ("and", tuple(parts))


def _lower_signal(test: SignalTest, catalog: Catalog) -> IR:
    if test.codes is None and test.ranks and max(test.ranks) == 3 and len(test.ranks) == 4 - min(test.ranks):
        return ("cmp", MAX_STRENGTH_ATTR, "gte", min(test.ranks))  # any signal at least this strong
    codes = catalog.signals if test.codes is None else test.codes
    return ("or", tuple(_rank_range(SIGNAL_ATTR_PREFIX + code, test.ranks) for code in codes))


def _value(value: Any, settings: Settings) -> Any:
    if isinstance(value, SettingRef):
        return settings.value(value.name)
    if isinstance(value, bool):
        return int(value)
    return value


def _lower_field(test: FieldTest, settings: Settings) -> IR:
    spec = FIELDS[test.path]
    attr, op = spec.attr, test.op
    value = test.value
    if op == "contains":
        return ("cmp", SERVICE_ATTR_PREFIX + value, "eq", 1)
    if op == "count_at_least":
        return ("cmp", INVOLVED_COUNT_ATTR, "gte", _value(value, settings))
    if op == "present":
        return ("cmp", attr, "neq" if value else "eq", spec.absent)
    if op == "one_of":
        return ("or", tuple(("cmp", attr, "eq", _value(v, settings)) for v in value))
    if op == "not_one_of":
        ir_not = ("and", tuple(("cmp", attr, "neq", _value(v, settings)) for v in value))
        if isinstance(spec.absent, int):  # "not 0 or 1" says nothing about an absent current level
            return ("and", (("cmp", attr, "neq", spec.absent), ir_not))
        return ir_not
    if op == "between":
        return ("and", (("cmp", attr, "gte", _value(value[0], settings)),
                        ("cmp", attr, "lte", _value(value[1], settings))))
    comparison = OPERATORS[op].comparison
    if comparison is None:
        raise ValueError(f"the compiler does not know the operator {op!r}")
    ir: IR = ("cmp", attr, comparison, _value(value, settings))
    if op != "equals" and isinstance(spec.absent, int):
        # an absent current level (-1) is not "below 2": comparisons hold only when present
        ir = ("and", (("cmp", attr, "neq", spec.absent), ir))
    return ir


def simplify(ir: IR) -> IR:
    tag = ir[0]
    if tag not in ("and", "or"):
        return ir
    unit, zero = (TRUE, FALSE) if tag == "and" else (FALSE, TRUE)
    items: list[IR] = []
    for item in (simplify(i) for i in ir[1]):
        if item == zero:
            return zero
        if item == unit:
            continue
        items.extend(item[1] if item[0] == tag else [item])
    unique = list(dict.fromkeys(items))
    if not unique:
        return unit
    return unique[0] if len(unique) == 1 else (tag, tuple(unique))


def to_durable(ir: IR, phase: int) -> dict[str, Any]:
    """The durable_rules expression for ``ir`` on the fact of ``phase``."""
    phase_test = {PHASE_ATTR: phase}
    if ir == TRUE:
        return phase_test
    return {"$and": [phase_test, _emit(ir)]}


def _emit(ir: IR) -> dict[str, Any]:
    tag = ir[0]
    if tag == "and":
        return {"$and": [_emit(i) for i in ir[1]]}
    if tag == "or":
        return {"$or": [_emit(i) for i in ir[1]]}
    _, attr, op, value = ir
    durable = COMPARISONS[op].durable
    return {durable: {attr: value}} if durable else {attr: value}
