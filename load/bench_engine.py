"""``make bench``: the decision path in-process, single thread, against the reference evaluator.

The same mix (scenario requests + generated cases, :mod:`load.mix`) goes through

  (a) the full decision path as users get it: :meth:`service.embed.Decider.decide_json` (the code
      the HTTP endpoint runs: identity-number scan, validate, evaluate, present, metrics and log,
      and the response's JSON bytes), and, apart, its stages: validate (:func:`service.api.parse_case`: the JSON-Schema
      fast path, else the schema) → evaluate (engine + resolve) → dump (:func:`service.wire.present_json`, the
      response's JSON from entries encoded once), and
  (b) the plain-Python reference evaluator (:func:`toolkit.reference.evaluate_reference`) on the
      same parsed cases,

one item after the other (alternating which goes first), so noise from other processes on a
shared machine hits both alike: the ratio is the robust figure, the absolute numbers are not.
The run alternates blocks with the garbage collector as is and after ``gc.collect(); gc.freeze()``
and keeps, for the headline figures, whichever gave the lower p99.

    python -m load.bench_engine [--seconds 30] [--municipalities DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow.experimental.context import Context

from load.mix import Item, build_mix
from load.results import BUNDLED, RESULTS, percentile, publish
from rules.evaluate import evaluate
from schemas.request import DecisionRequestSchema
from service.api import parse_case
from service.embed import Decider
from service.wire import present, present_json
from toolkit.reference import evaluate_reference
from toolkit.scenarios import decision_summary

BLOCK_SECONDS = 1.0  # one block of decisions under one garbage-collector setting


@dataclass
class Samples:
    """Nanoseconds per decision, by what was timed."""

    wall_ns: int = 0  # the blocks' wall time and the CPU time this thread got in it
    cpu_ns: int = 0
    full: list[int] = field(default_factory=list)
    validate: list[int] = field(default_factory=list)
    evaluate: list[int] = field(default_factory=list)
    dump: list[int] = field(default_factory=list)
    reference: list[int] = field(default_factory=list)

    def extend(self, other: Samples) -> None:
        self.wall_ns += other.wall_ns
        self.cpu_ns += other.cpu_ns
        for name in STAGES:
            getattr(self, name).extend(getattr(other, name))


STAGES = ("full", "validate", "evaluate", "dump", "reference")


def run_block(items: list[Item], start: int, seconds: float, schema: DecisionRequestSchema,
              decider: Decider) -> tuple[Samples, int]:
    """Decide items from ``start`` on, round the mix, for about ``seconds``; return the samples and
    where to go on."""
    out = Samples()
    clock = time.perf_counter_ns
    began, began_cpu = clock(), time.thread_time_ns()
    deadline = began + int(seconds * 1e9)
    i, n = start, len(items)
    while clock() < deadline:
        item = items[i % n]
        reference_first = i % 2 == 1
        if reference_first:
            t = clock()
            evaluate_reference(item.guide, item.case, item.lang)
            out.reference.append(clock() - t)
        t = clock()
        decider.decide_json(item.guide.id, item.body, item.lang)
        out.full.append(clock() - t)
        t0 = clock()
        case = parse_case(item.guide, item.body)  # as the endpoint: the fast path, else the schema
        t1 = clock()
        decision = evaluate(item.prepared, case, item.lang)
        t2 = clock()
        present_json(decision)
        t3 = clock()
        out.validate.append(t1 - t0)
        out.evaluate.append(t2 - t1)
        out.dump.append(t3 - t2)
        if not reference_first:
            t = clock()
            evaluate_reference(item.guide, item.case, item.lang)
            out.reference.append(clock() - t)
        i += 1
    out.wall_ns, out.cpu_ns = clock() - began, time.thread_time_ns() - began_cpu
    return out, i


def stats(ns: list[int]) -> dict[str, float]:
    us = sorted(x / 1000 for x in ns)
    return {"median_us": round(statistics.median(us), 2) if us else 0.0,
            "p90_us": round(percentile(us, 90), 2), "p99_us": round(percentile(us, 99), 2),
            "mean_us": round(statistics.fmean(us), 2) if us else 0.0, "n": len(us)}


def check_agreement(items: list[Item]) -> list[dict[str, Any]]:
    """Decide every item both ways once (the warm-up); the decisions that differ (should be none:
    the differential tests guard this, the benchmark only notices)."""
    schema = DecisionRequestSchema()
    differ = []
    for item in items:
        with Context({"guide": item.guide}):
            case = schema.load(item.body)
        engine = decision_summary(evaluate(item.prepared, case, item.lang))
        present(evaluate(item.prepared, case, item.lang))
        reference = decision_summary(evaluate_reference(item.guide, item.case, item.lang))
        if engine != reference:
            differ.append({"guide": item.guide.id, "body": item.body, "lang": item.lang,
                           "engine": {k: v for k, v in engine.items() if v != reference[k]},
                           "reference": {k: v for k, v in reference.items() if v != engine[k]}})
    return differ


def bench(root: Path, seconds: float, sample_every: int, warmup_seconds: float) -> dict[str, Any]:
    started = time.perf_counter()
    decider = Decider(root)
    registry = decider.registry
    if registry.errors:
        raise SystemExit(f"guides failed to load: {', '.join(sorted(registry.errors))} (run bti check)")
    load_s = time.perf_counter() - started
    items, counts = build_mix(registry.prepared, root, sample_every)
    if not items:
        raise SystemExit("no decisions to replay")
    differ = check_agreement(items)
    schema = DecisionRequestSchema()
    run_block(items, 0, warmup_seconds, schema, decider)  # warm caches and the allocator

    by_gc: dict[str, Samples] = {"default": Samples(), "frozen": Samples()}
    position, frozen, blocks = 0, False, 0
    block = min(BLOCK_SECONDS, seconds / 4)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or blocks < 2:
        if frozen:
            gc.collect()
            gc.freeze()  # the loaded guides move out of the collector's way
        samples, position = run_block(items, position, block, schema, decider)
        if frozen:
            gc.unfreeze()
        by_gc["frozen" if frozen else "default"].extend(samples)
        frozen = not frozen
        blocks += 1

    summary = {name: {stage: stats(getattr(s, stage)) for stage in STAGES}
               for name, s in by_gc.items()}
    kept = "frozen" if summary["frozen"]["full"]["p99_us"] < summary["default"]["full"]["p99_us"] else "default"
    head = summary[kept]
    full, engine_only, reference = head["full"], head["evaluate"], head["reference"]
    return {
        "engine_median_us": full["median_us"],
        "engine_p99_us": full["p99_us"],
        "reference_median_us": reference["median_us"],
        "reference_p99_us": reference["p99_us"],
        "engine_ratio": round(full["median_us"] / reference["median_us"], 3),
        "engine_only_median_us": engine_only["median_us"],
        "engine_only_p99_us": engine_only["p99_us"],
        "engine_only_ratio": round(engine_only["median_us"] / reference["median_us"], 3),
        "validate_median_us": head["validate"]["median_us"],
        "dump_median_us": head["dump"]["median_us"],
        "bench_decisions": full["n"],
        "bench_seconds": round(seconds, 1),
        # the share of the wall time the benchmark had a CPU: well below 1, other processes ran
        "bench_cpu_share": round(sum(s.cpu_ns for s in by_gc.values()) / max(1, sum(s.wall_ns for s in by_gc.values())),
                                 3),
        "bench_gc": {"kept": kept, "default_p99_us": summary["default"]["full"]["p99_us"],
                     "frozen_p99_us": summary["frozen"]["full"]["p99_us"],
                     "default_median_us": summary["default"]["full"]["median_us"],
                     "frozen_median_us": summary["frozen"]["full"]["median_us"]},
        "bench_mix": {"items": len(items), "guides": len(registry.guides), "scenario_requests": counts.scenarios,
                      "scenario_requests_refused": counts.scenarios_refused, "generated": counts.samples,
                      "generated_every": sample_every, "engine_reference_disagree": len(differ),
                      "registry_load_s": round(load_s, 3)},
        "bench_stages": summary,
        "bench_disagreements": differ[:5],
    }


def report(r: dict[str, Any]) -> str:
    gcr = r["bench_gc"]
    lines = [
        f"{r['bench_decisions']} decisions of a mix of {r['bench_mix']['items']} "
        f"({r['bench_mix']['scenario_requests']} scenario requests, {r['bench_mix']['generated']} generated) "
        f"over {r['bench_mix']['guides']} guides; gc kept: {gcr['kept']}",
        f"{'':28}{'median µs':>12}{'p99 µs':>12}",
        f"{'full path':28}{r['engine_median_us']:>12.1f}{r['engine_p99_us']:>12.1f}",
        f"{'  validate':28}{r['validate_median_us']:>12.1f}",
        f"{'  evaluate (engine+resolve)':28}{r['engine_only_median_us']:>12.1f}{r['engine_only_p99_us']:>12.1f}",
        f"{'  dump (present + JSON)':28}{r['dump_median_us']:>12.1f}",
        f"{'reference evaluator':28}{r['reference_median_us']:>12.1f}{r['reference_p99_us']:>12.1f}",
        f"ratio full/reference {r['engine_ratio']:.2f}, evaluate/reference {r['engine_only_ratio']:.2f}",
        f"CPU share {r['bench_cpu_share']:.2f} (below 1: other processes took the CPU; p99 suffers first)",
        f"gc default p99 {gcr['default_p99_us']:.1f} µs, after gc.freeze() {gcr['frozen_p99_us']:.1f} µs",
    ]
    if r["bench_mix"]["engine_reference_disagree"]:
        lines.append(f"WARNING: engine and reference disagree on {r['bench_mix']['engine_reference_disagree']} "
                     "decisions (run the differential tests)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="measured time (default 30)")
    parser.add_argument("--warmup", type=float, default=None, help="warm-up seconds (default: seconds/10, ≤3)")
    parser.add_argument("--sample-every", type=int, default=8,
                        help="replay every N-th generated case of each guide (default 8; 0 = scenarios only)")
    parser.add_argument("--municipalities", type=Path, default=BUNDLED)
    parser.add_argument("--out", type=Path, default=RESULTS, help="the JSON file to merge the figures into")
    args = parser.parse_args(argv)
    warmup = args.warmup if args.warmup is not None else min(3.0, args.seconds / 10)
    result = bench(args.municipalities, args.seconds, args.sample_every, warmup)
    return publish(result, "bench", args.out, report(result))


if __name__ == "__main__":
    sys.exit(main())
