"""Every Norwegian municipality on one machine: 357 generated guides (:mod:`load.generate_guides`)
loaded at once. Measures

  startup_s_357   ``bti serve`` (2 workers, production settings) from launch until /readyz is 200
  rss_mb_357      resident memory (VmRSS) of the largest gunicorn worker with the 357 loaded
  reload_ms_one   ``GuideStore.check()`` after touching one guide's guide.yaml (median of several)
  mb_per_guide_357  worker memory per guide: (worker RSS with the 357 − with the bundled six) / 352

and beside them the in-process ``load_registry`` time, memory per guide (in-process and per worker,
against the bundled six), the reload of the national guide (which rebuilds every guide), and the
decision latency across the 357 guides against one guide in the same run.

    python -m load.measure_scale [--count 357] [--seconds 10] [--guides DIR]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from marshmallow.experimental.context import Context

from load.generate_guides import COUNT, generate
from load.mix import Item, build_mix
from load.results import BUNDLED, RESULTS, percentile, publish, rss_mb
from load.server import Server, bti_serve
from rules.evaluate import evaluate
from rules.loader import GUIDE_FILE, NATIONAL, load_registry
from schemas.request import DecisionRequestSchema
from service.api import present
from service.store import GuideStore


def _settled(server: Server, timeout: float = 120.0) -> float:
    """Seconds until every worker has stopped loading (its CPU time stands still for 0.5 s)."""
    from load.results import cpu_seconds

    started = time.perf_counter()
    last: dict[int, float] = {}
    quiet_since: float | None = None
    while time.perf_counter() - started < timeout:
        now = {pid: cpu_seconds(pid) for pid in server.workers()}
        busy = not now or any(now[p] - last.get(p, -1.0) > 0.02 for p in now)
        last = now
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.perf_counter()
        elif time.perf_counter() - quiet_since >= 0.5:
            return quiet_since - started
        time.sleep(0.1)
    return timeout


def serve_figures(root: Path, workers: int) -> dict[str, Any]:
    """Start-up time and worker memory of ``bti serve`` on ``root``, and a few HTTP decisions."""
    with bti_serve(root, workers=workers) as server:
        ready_s = server.ready_s
        settle_s = _settled(server)
        worker_rss = [round(rss_mb(pid), 1) for pid in server.workers()]
        master_rss = round(rss_mb(server.process.pid), 1)
        return {"ready_s": round(ready_s, 2), "all_workers_idle_s": round(ready_s + settle_s, 2),
                "worker_rss_mb": worker_rss, "master_rss_mb": master_rss, "url": server.url}


def http_latency(root: Path, workers: int, items: list[Item], count: int) -> dict[str, float]:
    """``count`` single decisions one after another from one client, each to a random guide."""
    rng = random.Random(7)
    with bti_serve(root, workers=workers) as server:
        times = []
        for _ in range(count):
            item = rng.choice(items)
            request = urllib.request.Request(f"{server.url}/v1/municipalities/{item.guide.id}/decisions",
                                             data=json.dumps(item.body).encode(), method="POST",
                                             headers={"Content-Type": "application/json"})
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2), "p99_ms": round(percentile(times, 99), 2), "n": count}


def reload_figures(root: Path, repeats: int = 5) -> dict[str, Any]:
    """In-process: the time of a GuideStore check with nothing changed, after touching one guide,
    and after touching the national guide (every guide extends it, so every one is rebuilt)."""
    store = GuideStore(root)
    store.load()
    ids = sorted(g for g in store.registry.guides if g != NATIONAL)
    idle, one = [], []
    for i in range(repeats):
        started = time.perf_counter()
        store.check()
        idle.append((time.perf_counter() - started) * 1000)
        path = root / ids[i * len(ids) // repeats] / GUIDE_FILE
        os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000 * (i + 1)))
        started = time.perf_counter()
        changed = store.check()
        one.append((time.perf_counter() - started) * 1000)
        if not changed:
            raise RuntimeError(f"touching {path} reloaded nothing")
    national = root / NATIONAL / GUIDE_FILE
    os.utime(national, ns=(time.time_ns(), time.time_ns() + 10_000_000_000))
    started = time.perf_counter()
    store.check()
    national_ms = (time.perf_counter() - started) * 1000
    return {"reload_ms_one": round(statistics.median(one), 1), "reload_ms_one_all": [round(x, 1) for x in one],
            "check_ms_nothing_changed": round(statistics.median(idle), 2),
            "reload_ms_national": round(national_ms, 1), "guides": len(store.registry.guides)}


def latency_across(items: list[Item], one_guide: list[Item], seconds: float) -> dict[str, Any]:
    """Full-path decisions to random guides of the 357, alternating with decisions to one guide
    only, in blocks; then the same with the loaded guides frozen out of the garbage collector."""
    schema = DecisionRequestSchema()
    rng = random.Random(11)
    results: dict[str, dict[str, list[float]]] = {gc_mode: {"across": [], "one": []}
                                                  for gc_mode in ("default", "frozen")}
    deadline = time.perf_counter() + seconds
    block = 0
    while time.perf_counter() < deadline or block < 4:
        gc_mode = "frozen" if block % 4 >= 2 else "default"
        which = "across" if block % 2 == 0 else "one"
        pool = items if which == "across" else one_guide
        if gc_mode == "frozen":
            gc.collect()
            gc.freeze()
        end = time.perf_counter() + min(0.5, seconds / 8)
        while time.perf_counter() < end:
            item = rng.choice(pool)
            started = time.perf_counter_ns()
            with Context({"guide": item.guide}):
                case = schema.load(item.body)
            present(evaluate(item.prepared, case, item.lang))
            results[gc_mode][which].append((time.perf_counter_ns() - started) / 1000)
        if gc_mode == "frozen":
            gc.unfreeze()
        block += 1
    out: dict[str, Any] = {}
    for gc_mode, by in results.items():
        for which, values in by.items():
            values.sort()
            out[f"{which}_{gc_mode}"] = {"median_us": round(statistics.median(values), 1),
                                         "p99_us": round(percentile(values, 99), 1), "n": len(values)}
    return out


def measure(root: Path, workers: int, seconds: float, http_requests: int) -> dict[str, Any]:
    guides_n = sum(1 for p in root.iterdir() if (p / GUIDE_FILE).is_file())
    # in-process: load time and memory per guide (imports done above, so only the guides count)
    gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    registry = load_registry(root)
    load_s = time.perf_counter() - started
    gc.collect()
    after = rss_mb()
    if registry.errors:
        raise SystemExit(f"{len(registry.errors)} guides failed to load: {', '.join(sorted(registry.errors)[:5])}")
    items, _ = build_mix(registry.prepared, None, sample_every=200)
    national_items = [i for i in items if i.guide.id == NATIONAL] or items[:50]
    latency = latency_across(items, national_items, seconds)

    serve = serve_figures(root, workers)
    bundled = serve_figures(BUNDLED, workers)
    http = http_latency(root, workers, items, http_requests)
    reload = reload_figures(root)
    extra_guides = guides_n - sum(1 for p in BUNDLED.iterdir() if (p / GUIDE_FILE).is_file())
    worker_mb = max(serve["worker_rss_mb"])
    per_guide_worker = (worker_mb - max(bundled["worker_rss_mb"])) / max(1, extra_guides)
    best_gc = min(("default", "frozen"), key=lambda m: latency[f"across_{m}"]["p99_us"])
    return {
        "startup_s_357": serve["ready_s"],
        "rss_mb_357": worker_mb,
        "reload_ms_one": reload["reload_ms_one"],
        "mb_per_guide_357": round(per_guide_worker, 3),
        "scale": {
            "guides": guides_n,
            "workers": workers,
            "all_workers_idle_s": serve["all_workers_idle_s"],
            "worker_rss_mb": serve["worker_rss_mb"],
            "master_rss_mb": serve["master_rss_mb"],
            "bundled_startup_s": bundled["ready_s"],
            "bundled_worker_rss_mb": bundled["worker_rss_mb"],
            "mb_per_guide_worker": round(per_guide_worker, 3),
            "registry_load_s": round(load_s, 2),
            "registry_load_ms_per_guide": round(1000 * load_s / guides_n, 2),
            "mb_per_guide_in_process": round((after - before) / guides_n, 3),
            "check_ms_nothing_changed": reload["check_ms_nothing_changed"],
            "reload_ms_one_all": reload["reload_ms_one_all"],
            "reload_ms_national": reload["reload_ms_national"],
            "latency_in_process": latency,
            "latency_gc_kept": best_gc,
            "http_sequential": http,
        },
    }


def report(r: dict[str, Any]) -> str:
    s = r["scale"]
    lat = s["latency_in_process"]
    return "\n".join([
        f"{s['guides']} guides, {s['workers']} workers",
        f"start-up until /readyz 200: {r['startup_s_357']:.2f} s (every worker idle after {s['all_workers_idle_s']} s; "
        f"bundled six: {s['bundled_startup_s']} s); in-process load_registry {s['registry_load_s']} s "
        f"({s['registry_load_ms_per_guide']} ms per guide)",
        f"worker RSS {s['worker_rss_mb']} MB (bundled six: {s['bundled_worker_rss_mb']} MB) → "
        f"{s['mb_per_guide_worker']} MB per guide; in-process {s['mb_per_guide_in_process']} MB per guide",
        f"reload of one guide {r['reload_ms_one']} ms (check with nothing changed {s['check_ms_nothing_changed']} ms); "
        f"national changed (all rebuilt) {s['reload_ms_national']} ms",
        "full-path µs median/p99, random guide of all vs one guide: "
        + ", ".join(f"{k} {v['median_us']}/{v['p99_us']}" for k, v in lat.items()),
        f"HTTP one client, random guides: p50 {s['http_sequential']['p50_ms']} ms, "
        f"p99 {s['http_sequential']['p99_ms']} ms over {s['http_sequential']['n']}",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=COUNT)
    parser.add_argument("--guides", type=Path, help="use (and regenerate) this folder instead of a temporary one")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0, help="in-process latency run (default 10)")
    parser.add_argument("--http-requests", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bti-357-") as tmp:
        root = args.guides or Path(tmp) / "municipalities"
        generate(root, args.count)
        result = measure(root, args.workers, args.seconds, args.http_requests)
    return publish(result, "scale", args.out, report(result))


if __name__ == "__main__":
    sys.exit(main())
