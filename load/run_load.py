"""``make load``: locust, headless, against ``bti serve`` (production settings, 2 workers) on
127.0.0.1, first the realistic decision mix, then ``/healthz`` under the same load shape.

Writes to ``load/results/bench.json``:

  http_decisions_per_s   requests per second of the decision mix (80 % single decisions, ~5 %
                         batches of 10, the rest catalog and municipality reads), every request
                         counted once
  http_p50_ms, http_p99_ms   latency of the single-decision requests in that run
  healthz_per_s          requests per second of ``GET /healthz`` under the same users and shape
  http_ratio             http_decisions_per_s / healthz_per_s
  http_errors            failed requests of the decision mix (any unexpected status, 422 included)

and, to tell the server's cost from the client's on a shared 2-core machine, the CPU time the
server's processes and locust used per request in each run.

    python -m load.run_load [--users 8] [--spawn-rate 8] [--seconds 30] [--workers 2]
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from load.results import BUNDLED, HERE, RESULTS, publish
from load.server import Server, bti_serve

LOCUSTFILE = HERE / "locustfile.py"
DECISION = "POST /v1/municipalities/[id]/decisions"
BATCH = "POST /v1/municipalities/[id]/decisions/batch"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_locust(server: Server, profile: str, users: int, spawn_rate: float, seconds: int, folder: Path,
               batch_size: int) -> dict[str, Any]:
    """One headless locust run; the rows of its stats CSV by name, and the CPU each side used."""
    prefix = folder / profile
    locust = Path(sys.executable).with_name("locust")
    command = [str(locust), "-f", str(LOCUSTFILE), "--headless", "-u", str(users), "-r", str(spawn_rate),
               "-t", f"{seconds}s", "--host", server.url, "--csv", str(prefix), "--only-summary",
               "--stop-timeout", "10", "--loglevel", "WARNING"]
    env = {**os.environ, "BTI_LOAD_PROFILE": profile, "BTI_LOAD_BATCH_SIZE": str(batch_size)}
    server_cpu, client_cpu, started = server.cpu_seconds(), _children_cpu(), time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 120, check=False)
    wall = time.perf_counter() - started
    server_cpu, client_cpu = server.cpu_seconds() - server_cpu, _children_cpu() - client_cpu
    (folder / f"{profile}.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    stats_file = prefix.with_name(prefix.name + "_stats.csv")
    if not stats_file.is_file():
        raise RuntimeError(f"locust wrote no statistics (exit {done.returncode}):\n{done.stderr[-2000:]}")
    with stats_file.open(newline="", encoding="utf-8") as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    return {"rows": rows, "server_cpu_s": server_cpu, "client_cpu_s": client_cpu, "wall_s": wall,
            "exit": done.returncode}


def _num(row: dict[str, str] | None, key: str) -> float:
    if not row:
        return 0.0
    value = row.get(key, "")
    return float(value) if value not in ("", "N/A") else 0.0


def summarise(mix: dict[str, Any], healthz: dict[str, Any], batch_size: int, args: argparse.Namespace,
              workers: int) -> dict[str, Any]:
    total, single, batch = mix["rows"].get("Aggregated"), mix["rows"].get(DECISION), mix["rows"].get(BATCH)
    health = healthz["rows"].get("Aggregated")
    mix_rate, health_rate = _num(total, "Requests/s"), _num(health, "Requests/s")
    mix_requests, health_requests = _num(total, "Request Count"), _num(health, "Request Count")
    return {
        "http_decisions_per_s": round(mix_rate, 1),
        "http_p50_ms": _num(single, "50%"),
        "http_p99_ms": _num(single, "99%"),
        "healthz_per_s": round(health_rate, 1),
        "http_ratio": round(mix_rate / health_rate, 3) if health_rate else 0.0,
        "http_errors": int(_num(total, "Failure Count")),
        "http_detail": {
            "single_decisions_per_s": round(_num(single, "Requests/s"), 1),
            "decisions_made_per_s": round(_num(single, "Requests/s") + batch_size * _num(batch, "Requests/s"), 1),
            "batch_p50_ms": _num(batch, "50%"), "batch_p99_ms": _num(batch, "99%"),
            "mix_p50_ms": _num(total, "50%"), "mix_p99_ms": _num(total, "99%"),
            "healthz_p50_ms": _num(health, "50%"), "healthz_p99_ms": _num(health, "99%"),
            "healthz_errors": int(_num(health, "Failure Count")),
            "requests": {name: int(_num(row, "Request Count")) for name, row in mix["rows"].items()},
            # CPU milliseconds per request: the server's (master + workers) and locust's
            "server_cpu_ms_per_request": round(1000 * mix["server_cpu_s"] / max(1, mix_requests), 3),
            "client_cpu_ms_per_request": round(1000 * mix["client_cpu_s"] / max(1, mix_requests), 3),
            "healthz_server_cpu_ms_per_request": round(1000 * healthz["server_cpu_s"] / max(1, health_requests), 3),
            "healthz_client_cpu_ms_per_request": round(1000 * healthz["client_cpu_s"] / max(1, health_requests), 3),
            "server_cpu_share": round(mix["server_cpu_s"] / mix["wall_s"], 2),
            "client_cpu_share": round(mix["client_cpu_s"] / mix["wall_s"], 2),
            "healthz_server_cpu_share": round(healthz["server_cpu_s"] / healthz["wall_s"], 2),
            "healthz_client_cpu_share": round(healthz["client_cpu_s"] / healthz["wall_s"], 2),
            "users": args.users, "spawn_rate": args.spawn_rate, "seconds": args.seconds, "workers": workers,
            "batch_size": batch_size,
        },
    }


def report(r: dict[str, Any]) -> str:
    d = r["http_detail"]
    return "\n".join([
        f"{d['users']} users, {d['seconds']} s per run, {d['workers']} workers",
        f"decision mix: {r['http_decisions_per_s']:.1f} req/s ({d['single_decisions_per_s']:.1f} single decisions/s, "
        f"{d['decisions_made_per_s']:.1f} decisions made/s with batches), single decision p50 {r['http_p50_ms']} ms "
        f"p99 {r['http_p99_ms']} ms, batch p99 {d['batch_p99_ms']} ms, errors {r['http_errors']}",
        f"/healthz: {r['healthz_per_s']:.1f} req/s, p50 {d['healthz_p50_ms']} ms p99 {d['healthz_p99_ms']} ms",
        f"ratio decisions/healthz {r['http_ratio']:.2f}",
        f"CPU ms per request, server/locust: mix {d['server_cpu_ms_per_request']}/{d['client_cpu_ms_per_request']}, "
        f"healthz {d['healthz_server_cpu_ms_per_request']}/{d['healthz_client_cpu_ms_per_request']}",
        f"CPU share (of one core), server/locust: mix {d['server_cpu_share']}/{d['client_cpu_share']}, "
        f"healthz {d['healthz_server_cpu_share']}/{d['healthz_client_cpu_share']}",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--spawn-rate", type=float, default=8)
    parser.add_argument("--seconds", type=int, default=30, help="per run (default 30)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--municipalities", type=Path, default=BUNDLED)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--keep", type=Path, help="keep locust's CSV files and logs in this folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bti-load-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        with bti_serve(args.municipalities, workers=args.workers, log=folder / "server.log") as server:
            mix = run_locust(server, "decisions", args.users, args.spawn_rate, args.seconds, folder, args.batch_size)
            healthz = run_locust(server, "healthz", args.users, args.spawn_rate, args.seconds, folder,
                                 args.batch_size)
        result = summarise(mix, healthz, args.batch_size, args, args.workers)
    return publish(result, "load", args.out, report(result))


if __name__ == "__main__":
    sys.exit(main())
