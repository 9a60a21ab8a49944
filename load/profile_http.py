"""Where a request's time goes inside the app (Flask, the hooks, the view), without the server:
the app's WSGI callable is called with ready-made environments, as gunicorn would call it, for
decisions of the bench mix and for ``GET /healthz``, under cProfile.

    python -m load.profile_http [--seconds 10] [--top 40]

Prints the per-request wall time of each (without the profiler) and the profile of decisions.
Metrics are kept as ``bti serve`` keeps them (multiprocess files in a temporary folder).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from load.mix import build_mix
from load.results import BUNDLED, load_average
from service.paths import MULTIPROC_ENV


def _environ(method: str, path: str, body: bytes = b"", query: str = "") -> dict[str, Any]:
    return {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8080", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8080", "HTTP_ACCEPT": "application/json",
        "HTTP_ACCEPT_LANGUAGE": "nb-NO,nb;q=0.9,en;q=0.5", "HTTP_USER_AGENT": "profile",
        "CONTENT_TYPE": "application/json" if body else "", "CONTENT_LENGTH": str(len(body)) if body else "",
        "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }


def _call(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> int:
    status: list[str] = []
    body = b"".join(app(environ, lambda s, h, e=None: status.append(s)))
    if not status[0].startswith("200"):
        raise SystemExit(f"{environ['PATH_INFO']}: {status[0]} {body[:200]!r}")
    return len(body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    os.environ.setdefault(MULTIPROC_ENV, tempfile.mkdtemp(prefix="bti-metrics-"))
    from service.app import create_app

    app = create_app()
    logging.getLogger("bti").handlers[0].setStream(open(os.devnull, "w"))  # noqa: SIM115 (kept open)
    items, _ = build_mix(app.extensions["bti_store"].registry.prepared, BUNDLED)
    requests = [(f"/v1/municipalities/{i.guide.id}/decisions", orjson.dumps(i.body), f"lang={i.lang}")
                for i in items]
    wsgi = app.wsgi_app
    for path, body, query in requests:  # warm up
        _call(wsgi, _environ("POST", path, body, query))

    def timed(make: Callable[[int], dict[str, Any]]) -> list[float]:
        out, deadline, n = [], time.perf_counter() + args.seconds / 2, 0
        while time.perf_counter() < deadline:
            environ = make(n)
            t = time.perf_counter()
            _call(wsgi, environ)
            out.append((time.perf_counter() - t) * 1e6)
            n += 1
        return out

    def decision(n: int) -> dict[str, Any]:
        path, body, query = requests[n % len(requests)]
        return _environ("POST", path, body, query)

    decisions = timed(decision)
    healthz = timed(lambda n: _environ("GET", "/healthz"))
    print(f"per request, median µs: decision {statistics.median(decisions):.1f} (n={len(decisions)}), "
          f"/healthz {statistics.median(healthz):.1f} (n={len(healthz)}); load average {load_average()}")
    profiler = cProfile.Profile()
    profiler.enable()
    for n in range(min(len(requests) * 2, 6000)):
        _call(wsgi, decision(n))
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(args.top)
    print("the hooks and steps around the view (cumulative):")
    stats.sort_stats("cumulative").print_stats(r"service/(app|api|observe|http|access|openapi)\.py|flask/app\.py|"
                                                r"werkzeug/(wrappers|sansio)|ctx\.py", args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
