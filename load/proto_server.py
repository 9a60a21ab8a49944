"""Prototype launchers of the service under gunicorn settings other than ``bti serve``'s, for
measurement only (:mod:`load.prototypes`); same command line as ``bti serve``.

``BTI_PROTO_PATCHES=fastpath`` also applies the decision-path prototypes of
:mod:`load.prototypes` (a direct dump instead of DecisionSchema, a fast parse of well-formed
requests before the schema) in every worker; ``shared`` the shared engine rulesets (both:
``fastpath,shared``).

``BTI_PROTO_VARIANT`` picks the settings:
  sync      what ``bti serve`` does (service.server.run), for an A/B in one run
  gthread   gthread workers with ``BTI_PROTO_THREADS`` threads each (default 4): the engine holds
            the GIL, but a thread waiting on a socket (reading a request, gunicorn's graceful close
            waiting for the client's FIN) no longer holds up the worker
  preload   the app (and so every guide) loaded once in the master, ``gc.freeze()``, then forked:
            workers share the guides' pages copy-on-write and start at once; each worker restarts
            the reload watcher after the fork (threads do not survive it)

    python -m load.proto_server serve --port 8080 --workers 2 --municipalities DIR
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import threading
from typing import Any

from service.paths import MULTIPROC_ENV
from service.server import _child_exit, _Server, run

_KEEP: Any = None


def _post_fork(server: Any, worker: Any) -> None:
    from service.app import store_of

    store = store_of(worker.app.wsgi())  # the app the master preloaded
    store._thread = None  # the master's watcher thread did not come along
    store._stop = threading.Event()
    store.start_watching(float(os.environ.get("BTI_RELOAD_INTERVAL", "5")))


def apply_fastpath() -> None:
    """Patch service.api (before the workers fork) with the fast parse prototype."""
    from marshmallow.experimental.context import Context

    import service.api
    from load.prototypes import parse_direct

    schema = service.api._request_schema

    class FastRequestSchema:
        def load(self, body: Any) -> Any:
            case = parse_direct(Context[dict[str, Any]].get()["guide"], body)
            return case if case is not None else schema.load(body)

    service.api._request_schema = FastRequestSchema()  # type: ignore[assignment]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--municipalities", required=True)
    parser.add_argument("--reload-interval", type=float, default=5.0)
    args = parser.parse_args(argv)
    variant = os.environ.get("BTI_PROTO_VARIANT", "sync")
    patches = os.environ.get("BTI_PROTO_PATCHES", "")
    if "fastpath" in patches:
        apply_fastpath()
    if "shared" in patches:  # engine rulesets shared between guides (single-threaded workers only)
        from load.prototypes import shared_rulesets

        global _KEEP
        _KEEP = shared_rulesets()  # kept: a collected generator would undo the patch
        _KEEP.__enter__()
    if variant == "sync":
        run(args.host, args.port, args.workers, args.municipalities, args.reload_interval)
        return 0
    os.environ["BTI_MUNICIPALITIES"] = args.municipalities
    os.environ["BTI_RELOAD_INTERVAL"] = str(args.reload_interval)
    os.environ.setdefault(MULTIPROC_ENV, tempfile.mkdtemp(prefix="bti-metrics-"))
    options: dict[str, Any] = {
        "child_exit": _child_exit, "bind": f"{args.host}:{args.port}", "workers": max(1, args.workers),
        "worker_class": "sync", "timeout": 30, "graceful_timeout": 20, "keepalive": 5, "max_requests": 0,
        "accesslog": "-", "access_log_format": '%(m)s %(U)s %(s)s %(L)ss', "errorlog": "-", "loglevel": "info",
    }
    if variant == "gthread":
        options.update(worker_class="gthread", threads=int(os.environ.get("BTI_PROTO_THREADS", "4")))
    elif variant == "preload":
        options.update(preload_app=True, post_fork=_post_fork,
                       when_ready=lambda server: (gc.collect(), gc.freeze()))
    else:
        raise SystemExit(f"unknown BTI_PROTO_VARIANT {variant!r}")
    _Server(options).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
