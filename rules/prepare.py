"""Prepare a loaded guide for deciding: compile its rules and load them into the engine, once
(compile once, evaluate many). The :class:`~rules.model.Guide` stays plain data; what deciding
needs besides it sits on the :class:`PreparedGuide`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rules.case import fact_template
from rules.compiler import SENTINEL_PREFIX, CompiledGuide, compile_rules
from rules.engine import RuleEngine
from rules.model import Guide
from rules.resolve import Merged, Outputs

if TYPE_CHECKING:  # rules.evaluate imports this module
    from rules.evaluate import Hits


@dataclass(frozen=True, eq=False)
class PreparedGuide:
    """A guide ready to decide cases: its compiled rulesets, the engine they are loaded in, the
    fact every case starts from, and the step entries made so far."""

    guide: Guide
    compiled: CompiledGuide
    engine: RuleEngine
    fact_template: Mapping[str, int]
    outputs: Outputs
    # what a phase's fired rules mean, by the rule names the engine gave (rules.evaluate)
    hits: dict[tuple[int, tuple[str, ...]], Hits] = field(default_factory=dict)
    # the merged outcome of the three phases' hits, by those hits (rules.evaluate)
    merged: dict[tuple[Hits, Hits, Hits], Merged] = field(default_factory=dict)

    def close(self) -> None:
        """Release the engine's rulesets once no evaluation uses them any more."""
        self.engine.close()


def prepare(guide: Guide) -> PreparedGuide:
    """Compile ``guide`` and load it into the engine (raises EngineError if the engine refuses)."""
    compiled = compile_rules(guide.rules, guide.catalog, guide.settings, guide.pathway.conditions)
    sentinels = frozenset(name for name in compiled.ruleset if name.startswith(SENTINEL_PREFIX))
    template = fact_template(guide.catalog)
    engine = RuleEngine(f"{guide.id}-{guide.digest[7:19]}", compiled.rulesets, sentinels, compiled.attributes,
                        template)
    return PreparedGuide(guide, compiled, engine, template, Outputs(guide))
