"""The fast validation path (schemas/fastpath.py) against the old path, A/B in one process.

Item by item over the bench mix (:mod:`load.mix`), in alternating order, it times ``parse_case``
(validation, identity-number scan included) and ``Decider.decide_json`` (the full in-process path) twice:
once as they are, and once with ``service.api.fast_case`` replaced by a function that always answers
``None``, which gives exactly the path as it was before (scan, then marshmallow). Load from other
processes hits both alike, so the ratios can be trusted more than the absolute figures.

    python -m load.fastpath_ab [--seconds 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import service.api as api
from load.mix import build_mix
from load.results import BUNDLED, percentile
from service.embed import Decider


def _off(guide: Any, body: Any) -> None:
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    args = parser.parse_args()
    decider = Decider()
    items, _ = build_mix(decider.registry.prepared, BUNDLED, 8)
    fast = api.fast_case
    took_fast_path = sum(fast(item.guide, item.body) == item.case for item in items)
    times: dict[str, list[int]] = {f"{stage} {mode}": [] for stage in ("validate", "full")
                                   for mode in ("before", "after")}
    clock = time.perf_counter_ns
    deadline = time.perf_counter() + args.seconds
    i = 0
    try:
        while time.perf_counter() < deadline:
            item = items[i % len(items)]
            for mode in ("before", "after") if i % 2 else ("after", "before"):
                api.fast_case = fast if mode == "after" else _off  # type: ignore[assignment]
                t = clock()
                api.parse_case(item.guide, item.body)
                times[f"validate {mode}"].append(clock() - t)
                t = clock()
                decider.decide_json(item.guide.id, item.body, item.lang)
                times[f"full {mode}"].append(clock() - t)
            i += 1
    finally:
        api.fast_case = fast
    median = {name: statistics.median(ns) / 1000 for name, ns in times.items()}
    print(f"{len(items)} items, {took_fast_path} of them through the fast path; {i} rounds; "
          f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name, ns in times.items():
        print(f"{name:16} median {median[name]:8.1f} µs   p99 {percentile(sorted(x / 1000 for x in ns), 99):9.1f} µs")
    for stage in ("validate", "full"):
        print(f"{stage}: after/before {median[f'{stage} after'] / median[f'{stage} before']:.3f}")


if __name__ == "__main__":
    main()
