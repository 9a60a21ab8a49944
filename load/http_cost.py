"""Server CPU per HTTP request, by kind of request: ``bti serve`` with one worker on 127.0.0.1,
requests sent one at a time (a new connection each, as gunicorn's sync worker closes it), and the
CPU time the server's processes used divided by the number of requests.

    python -m load.http_cost [--rounds 5] [--requests 200] [--against DIR]

The kinds are those of ``make load``'s decision mix (single decisions, batches of 10, the catalog,
the guide list, one guide) and ``GET /healthz``; "mix" weighs them as the locustfile does
(16:1:1:1:1). The bodies are the bundled scenario requests each guide accepts.

``--against DIR`` serves a second copy of the code (e.g. ``git worktree add /tmp/before main``)
side by side: both servers run at once and each round sends the same requests to one, then the
other, so the two columns see the same machine load (an A/B on a shared machine).
"""

from __future__ import annotations

import argparse
import http.client
import random
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from load.results import BUNDLED, ROOT, load_average
from load.server import Server, bti_serve

MIX_WEIGHTS = {"decision": 16, "batch": 1, "catalog": 1, "municipalities": 1, "municipality": 1}
BATCH_SIZE = 10
Request = tuple[str, str, bytes | None]  # method, path, body


def scenario_bodies() -> dict[str, list[dict[str, Any]]]:
    """The bundled scenario requests that are meant to be accepted, by guide."""
    from toolkit.scenarios import discover

    out: dict[str, list[dict[str, Any]]] = {}
    for scenario in discover(BUNDLED):
        if "error" not in scenario.expect and isinstance(scenario.request, dict):
            out.setdefault(scenario.guide, []).append(scenario.request)
    return out


def make_requests(kind: str, n: int, bodies: dict[str, list[dict[str, Any]]], seed: int) -> list[Request]:
    rng = random.Random(seed)
    guides = sorted(bodies)
    out: list[Request] = []
    for _ in range(n):
        gid = rng.choice(guides)
        if kind == "healthz":
            out.append(("GET", "/healthz", None))
        elif kind == "decision":
            out.append(("POST", f"/v1/municipalities/{gid}/decisions", orjson.dumps(rng.choice(bodies[gid]))))
        elif kind == "batch":
            cases = [rng.choice(bodies[gid]) for _ in range(BATCH_SIZE)]
            out.append(("POST", f"/v1/municipalities/{gid}/decisions/batch", orjson.dumps({"cases": cases})))
        elif kind == "catalog":
            out.append(("GET", "/v1/catalog", None))
        elif kind == "municipalities":
            out.append(("GET", "/v1/municipalities", None))
        elif kind == "municipality":
            out.append(("GET", f"/v1/municipalities/{gid}", None))
        else:
            raise ValueError(kind)
    return out


def send(server: Server, requests: list[Request]) -> float:
    """Send the requests one by one; the server's CPU seconds they took."""
    parts = urlsplit(server.url)
    before = server.cpu_seconds()
    for method, path, body in requests:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        if response.status != 200:
            raise SystemExit(f"{method} {path}: {response.status} {data[:300]!r}")
    return server.cpu_seconds() - before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200, help="per kind and round (default 200)")
    parser.add_argument("--against", type=Path, help="a second source tree, served side by side (A/B)")
    parser.add_argument("--kinds", default="healthz,decision,batch,catalog,municipalities,municipality")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    bodies = scenario_bodies()
    trees = {"this": ROOT, **({"against": args.against.resolve()} if args.against else {})}
    cpu: dict[str, dict[str, float]] = {name: dict.fromkeys(kinds, 0.0) for name in trees}
    counts = dict.fromkeys(kinds, 0)
    print(f"load average at the start {load_average()}", flush=True)
    with ExitStack() as stack:
        servers = {name: stack.enter_context(bti_serve(BUNDLED, workers=1, cwd=tree)) for name, tree in trees.items()}
        for kind in kinds:  # warm up: every guide's first decision, first read
            for server in servers.values():
                send(server, make_requests(kind, 20, bodies, seed=0))
        for round_ in range(args.rounds):
            for kind in kinds:
                requests = make_requests(kind, args.requests if kind != "batch" else max(1, args.requests // 4),
                                         bodies, seed=round_ + 1)
                order: list[tuple[str, Server]] = list(servers.items())
                if round_ % 2:
                    order.reverse()
                for name, server in order:
                    cpu[name][kind] += send(server, requests)
                counts[kind] += len(requests)
            print(f"round {round_ + 1}/{args.rounds} done, load average {load_average()}", flush=True)
    per: Callable[[str, str], float] = lambda name, kind: 1000 * cpu[name][kind] / counts[kind]  # noqa: E731
    header = f"{'server CPU ms per request':<28}" + "".join(f"{name:>10}" for name in trees)
    print(header)
    for kind in kinds:
        print(f"{kind:<28}" + "".join(f"{per(name, kind):>10.3f}" for name in trees))
    if all(k in kinds for k in MIX_WEIGHTS):
        total = sum(MIX_WEIGHTS.values())
        mix = {name: sum(w * per(name, k) for k, w in MIX_WEIGHTS.items()) / total for name in trees}
        print(f"{'mix (16:1:1:1:1)':<28}" + "".join(f"{mix[name]:>10.3f}" for name in trees))
        if "healthz" in kinds:
            print(f"{'mix − healthz':<28}" + "".join(f"{mix[n] - per(n, 'healthz'):>10.3f}" for n in trees))
    print(f"load average at the end {load_average()}; {args.rounds} rounds; "
          + ", ".join(f"{k} n={counts[k]}" for k in kinds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
