"""Prepare a loaded guide for deciding: compile its rules and load them into the engine, once."""

from __future__ import annotations

from dataclasses import replace

from rules.case import fact_template
from rules.compiler import SENTINEL_PREFIX, compile_rules
from rules.engine import RuleEngine
from rules.model import Guide


def start_guide(guide: Guide) -> Guide:
    """Compile the guide and load it into the engine."""
    compiled = compile_rules(guide.rules, guide.catalog, guide.settings)
    sentinels = frozenset(name for name in compiled.ruleset if name.startswith(SENTINEL_PREFIX))
    engine = RuleEngine(f"{guide.id}-{guide.digest[7:19]}", compiled.rulesets, sentinels, compiled.attributes)
    return replace(guide, compiled=compiled, engine=engine, fact_template=fact_template(guide.catalog), memo={})
