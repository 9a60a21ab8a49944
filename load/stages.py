"""Where the time of one decision goes, stage by stage: the stage table of docs/performance.md.

The bench mix (:mod:`load.mix`) goes through :meth:`service.embed.Decider.decide_json` (the code
the HTTP endpoint runs, up to the response's JSON bytes). Each stage's
function is wrapped with a timer for the run (the real code, not a copy of it), and per decision
the time of every stage is summed; the table gives each stage's median over the decisions.

    python -m load.stages [--seconds 20] [--out FILE]

The wrappers cost a fraction of a microsecond each (about 15 calls per decision), so the stages
add up to a little more than the unwrapped path; the unwrapped full path is timed apart, in the
same run, interleaved. ``make bench`` runs this after :mod:`load.bench_engine`.
"""

from __future__ import annotations

import argparse
import functools
import gc
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import rules.engine
import rules.evaluate
import service.api
from load.mix import build_mix
from load.results import BUNDLED, RESULTS, load_average, percentile, publish
from service.embed import Decider

# the order of the table; "evaluate: …" rows split the evaluate row
STAGES = (
    ("scan", "identity-number scan"),
    ("validate", "validation (JSON-Schema fast path, else marshmallow)"),
    ("evaluate", "evaluate (three asserts + resolve)"),
    ("engine_c", "  evaluate: durable_rules C calls"),
    ("encode", "  evaluate: encoding the facts"),
    ("resolve", "  evaluate: resolve"),
    ("around", "  evaluate: Python around the asserts"),
    ("present", "present: the response's JSON (entries encoded once)"),
    ("observe", "metrics + log call"),
    ("other", "the rest of decide (language, lookup, calls)"),
    ("full", "in-process full path (Decider.decide_json)"),
)

_current: dict[str, int] = {}
_clock = time.perf_counter_ns


def _timed(stage: str, fn: Callable[..., Any], consume: bool = False) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = _clock()
        try:
            result = fn(*args, **kwargs)
            return list(result) if consume else result
        finally:
            _current[stage] = _current.get(stage, 0) + _clock() - t
    return wrapper


@contextmanager
def _patched(owner: Any, name: str, stage: str, consume: bool = False) -> Iterator[None]:
    original = getattr(owner, name)
    setattr(owner, name, _timed(stage, original, consume))
    try:
        yield
    finally:
        setattr(owner, name, original)


class _EngineCalls:
    """The C module as :mod:`rules.engine` sees it, with its per-fact calls timed."""

    TIMED = ("assert_fact", "start_action_for_state", "complete_and_start_action", "delete_state")

    def __init__(self, module: Any) -> None:
        self._module = module
        for name in self.TIMED:
            setattr(self, name, _timed("engine_c", getattr(module, name)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


@contextmanager
def instrumented() -> Iterator[None]:
    with ExitStack() as stack:
        stack.enter_context(_patched(service.api, "identity_numbers", "scan", consume=True))
        stack.enter_context(_patched(service.api, "parse_case", "parse"))
        stack.enter_context(_patched(service.api, "evaluate", "evaluate"))
        stack.enter_context(_patched(service.api, "present_json", "present"))
        stack.enter_context(_patched(service.api, "observe_decision", "observe"))
        stack.enter_context(_patched(rules.evaluate, "resolve", "resolve"))
        stack.enter_context(_patched(rules.engine, "encode_fact", "encode"))
        original = rules.engine._engine
        rules.engine._engine = _EngineCalls(original)
        try:
            yield
        finally:
            rules.engine._engine = original


def profile(root: Path, seconds: float) -> dict[str, Any]:
    decider = Decider(root)
    items, _ = build_mix(decider.registry.prepared, root)
    for item in items:  # warm up: every entry made and encoded, every code path run once
        decider.decide_json(item.guide.id, item.body, item.lang)
    gc.collect()
    gc.freeze()  # as bench_engine's headline: the loaded guides out of the collector's way
    samples: dict[str, list[int]] = {stage: [] for stage, _ in STAGES}
    plain: list[int] = []
    deadline, i = time.perf_counter() + seconds, 0
    while time.perf_counter() < deadline:
        item = items[i % len(items)]
        i += 1
        t = _clock()  # the same decision unwrapped, for the overhead of the wrappers
        decider.decide_json(item.guide.id, item.body, item.lang)
        plain.append(_clock() - t)
        _current.clear()
        with instrumented():
            t0 = _clock()
            decider.decide_json(item.guide.id, item.body, item.lang)
            t1 = _clock()
        got = dict(_current)
        got["full"] = t1 - t0
        got["validate"] = got.get("parse", 0) - got.get("scan", 0)
        got["around"] = got["evaluate"] - got.get("engine_c", 0) - got.get("encode", 0) - got.get("resolve", 0)
        got["other"] = got["full"] - sum(got.get(s, 0) for s in ("scan", "validate", "evaluate", "present",
                                                                       "observe"))
        for stage, _ in STAGES:
            samples[stage].append(got.get(stage, 0))
    gc.unfreeze()
    table = {stage: round(statistics.median(ns) / 1000, 1) for stage, ns in samples.items()}
    plain_us = sorted(x / 1000 for x in plain)
    return {"stage_medians_us": table,
            "stage_full_unwrapped_median_us": round(statistics.median(plain_us), 1),
            "stage_full_unwrapped_p99_us": round(percentile(plain_us, 99), 1),
            "stage_decisions": len(plain), "stage_load_average": load_average()}


def report(r: dict[str, Any]) -> str:
    lines = ["| stage | median µs |", "|---|---|"]
    lines += [f"| {label} | {r['stage_medians_us'][stage]} |" for stage, label in STAGES]
    lines.append(f"| full path without the timers (median / p99) | {r['stage_full_unwrapped_median_us']} / "
                 f"{r['stage_full_unwrapped_p99_us']} |")
    lines.append(f"{r['stage_decisions']} decisions; load average {r['stage_load_average']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--municipalities", type=Path, default=BUNDLED)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    result = profile(args.municipalities, args.seconds)
    return publish({"stages": result}, "stages", args.out, report(result))


if __name__ == "__main__":
    sys.exit(main())
