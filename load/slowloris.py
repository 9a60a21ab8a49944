"""Slow clients against `bti serve` directly and behind nginx (deploy/nginx/bti.conf).

    python -m load.slowloris [--connections 50] [--seconds 20] [--interval 3] [--workers 2]

For each setup: starts `bti serve` (and nginx), opens the slow connections (each sends a request
header line every --interval seconds and never finishes; a fifth of them send a body shorter than
their Content-Length instead), and probes GET /healthz on a new connection every 0.5 s for
--seconds, with a 5 s timeout per probe. Reports how many probes were answered, their latency, and
the longest stretch without an answer. Merges the figures into load/results/bench.json under
"slowloris". Needs Debian's nginx for the proxied half.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from load.proxy import get, nginx, nginx_binary, plain, slow_clients
from load.results import BUNDLED, percentile, update_results
from load.server import bti_serve


def probe(connect: Any, connections: int, interval: float, seconds: float) -> dict[str, Any]:
    results: list[tuple[float, int, float]] = []
    with slow_clients(connect, connections, interval, short_bodies=connections // 5):
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            at = time.monotonic() - start
            status, took = get(connect, "/healthz", timeout=5.0)
            results.append((at, status, took))
            time.sleep(max(0.0, 0.5 - took))
    answered = sorted(took for _, status, took in results if status == 200)
    stall, last_ok = 0.0, 0.0
    for at, status, took in results:
        if status == 200:
            stall, last_ok = max(stall, at + took - last_ok), at + took
    stall = max(stall, seconds - last_ok) if results else seconds
    return {
        "probes": len(results),
        "answered": len(answered),
        "p50_ms": round(percentile(answered, 50) * 1000, 1) if answered else None,
        "max_ms": round(max(answered) * 1000, 1) if answered else None,
        "longest_without_answer_s": round(stall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--interval", type=float, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    figures: dict[str, Any] = {"connections": args.connections, "interval_s": args.interval,
                               "seconds": args.seconds, "workers": args.workers}
    with tempfile.TemporaryDirectory(prefix="bti-slowloris-") as tmp:
        with bti_serve(BUNDLED, workers=args.workers, env={"TMPDIR": tmp}) as server:
            port = int(server.url.rsplit(":", 1)[1])
            figures["direct"] = probe(plain(port), args.connections, args.interval, args.seconds)
        if nginx_binary():
            with bti_serve(BUNDLED, workers=args.workers, env={"TMPDIR": tmp}) as server, \
                    nginx(int(server.url.rsplit(":", 1)[1]), Path(tmp)) as proxy:
                figures["nginx"] = probe(proxy.connect, args.connections, args.interval, args.seconds)
        else:
            figures["nginx"] = "nginx is not installed"
    print(json.dumps(figures, indent=2))
    update_results({"slowloris": figures}, "slowloris")


if __name__ == "__main__":
    main()
