"""``make soak-http``: the decision mix of :mod:`load.locustfile` for a long time (default 10 minutes)
against ``bti serve`` on 127.0.0.1, sampling the workers' resident memory as it goes: a leak
shows as memory that keeps growing, a crash as errors or a worker with a new pid.

Writes ``soak_*`` figures to ``load/results/bench.json``.

    python -m load.soak [--seconds 600] [--users 8]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from load.results import BUNDLED, RESULTS, rss_mb, update_results
from load.run_load import DECISION, LOCUSTFILE, _num
from load.server import Server, bti_serve


def sample_memory(server: Server, stop: threading.Event, every: float,
                  out: list[tuple[float, dict[int, float]]]) -> None:
    started = time.perf_counter()
    while not stop.wait(every):
        sample = {}
        for pid in server.workers():
            try:
                sample[pid] = rss_mb(pid)
            except OSError:
                continue
        out.append((time.perf_counter() - started, sample))


def soak(root: Path, seconds: int, users: int, workers: int, folder: Path) -> dict[str, Any]:
    samples: list[tuple[float, dict[int, float]]] = []
    stop = threading.Event()
    with bti_serve(root, workers=workers, log=folder / "server.log") as server:
        first_workers = server.workers()
        start_rss = {pid: rss_mb(pid) for pid in first_workers}
        sampler = threading.Thread(target=sample_memory, args=(server, stop, max(1.0, seconds / 120), samples))
        sampler.start()
        prefix = folder / "soak"
        locust = Path(sys.executable).with_name("locust")
        done = subprocess.run(
            [str(locust), "-f", str(LOCUSTFILE), "--headless", "-u", str(users), "-r", str(users), "-t",
             f"{seconds}s", "--host", server.url, "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"],
            env={**os.environ, "BTI_LOAD_PROFILE": "decisions"}, capture_output=True, text=True,
            timeout=seconds + 180, check=False)
        stop.set()
        sampler.join()
        last_workers = server.workers()
    with prefix.with_name("soak_stats.csv").open(newline="", encoding="utf-8") as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    total, single = rows.get("Aggregated"), rows.get(DECISION)
    # growth after the first tenth of the run (start-up and warm caches excluded)
    warm = [s for t, s in samples if t >= seconds / 10] or [s for _, s in samples]
    first, last = warm[0], warm[-1]
    growth = [last[p] - first[p] for p in first if p in last]
    return {
        "soak_seconds": seconds,
        "soak_requests": int(_num(total, "Request Count")),
        "soak_errors": int(_num(total, "Failure Count")),
        "soak_requests_per_s": round(_num(total, "Requests/s"), 1),
        "soak_p99_ms": _num(single, "99%"),
        "soak_rss_mb_start": round(max(start_rss.values(), default=0.0), 1),
        "soak_rss_mb_end": round(max(last.values(), default=0.0), 1),
        "soak_rss_mb_growth_after_warmup": round(max(growth, default=0.0), 1),
        "soak_workers_restarted": sorted(first_workers) != sorted(last_workers),
        "soak_locust_exit": done.returncode,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--municipalities", type=Path, default=BUNDLED)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bti-soak-") as tmp:
        result = soak(args.municipalities, args.seconds, args.users, args.workers, Path(tmp))
    update_results(result, "soak", args.out)
    for key, value in result.items():
        print(f"{key}: {value}")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
