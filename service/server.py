"""Run the app under gunicorn (the production server)."""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

from gunicorn.app.base import BaseApplication

from service.paths import MULTIPROC_ENV


class _Server(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from service.app import create_app

        return create_app()


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _quick_exit(worker: Any) -> None:
    worker.bti_quick_exit = True  # SIGINT/SIGQUIT or a timeout: no draining


# gunicorn's limits: a request is ended after TIMEOUT s; on SIGTERM the requests in flight get
# GRACEFUL_TIMEOUT s (deploy/ and docs/deployment.md size the orchestrators' grace periods from these)
TIMEOUT = 30
GRACEFUL_TIMEOUT = 20

# How long a stopping worker keeps answering connections that are already waiting: they drain in
# milliseconds; the bound matters only while clients keep coming (nothing has taken this instance
# out of their rotation yet), and the rest of the graceful timeout stays for requests in flight.
DRAIN_SECONDS = 2.0


def _worker_exit(server: Any, worker: Any) -> None:
    """On a graceful stop, answer the connections the kernel already accepted for this worker.

    gunicorn's sync worker leaves its accept loop as soon as it is told to stop; once the last
    worker has left, the listening socket closes and the connections still waiting in its backlog
    are reset although their clients sent a whole request (a few lost requests on every SIGTERM
    under load). Serve those first, for at most DRAIN_SECONDS.
    """
    if os.getpid() != worker.pid or getattr(worker, "bti_quick_exit", False) or not hasattr(worker, "handle"):
        return  # the master's bookkeeping of a worker, a quick exit, or not a sync worker
    deadline = time.monotonic() + min(DRAIN_SECONDS, float(worker.cfg.graceful_timeout))
    for listener in worker.sockets:
        listener.setblocking(False)
        while time.monotonic() < deadline:
            try:
                client, addr = listener.accept()
            except OSError:
                break  # nothing waiting (or the socket is gone)
            client.setblocking(True)
            worker.handle(listener, client, addr)


def run(host: str, port: int, workers: int, municipalities: str, reload_interval: float = 5.0) -> None:
    os.environ["BTI_MUNICIPALITIES"] = municipalities
    os.environ["BTI_RELOAD_INTERVAL"] = str(reload_interval)
    # one set of metrics over all workers: each worker writes its numbers to this folder
    metrics_dir = tempfile.mkdtemp(prefix="bti-metrics-")
    os.environ.setdefault(MULTIPROC_ENV, metrics_dir)
    _Server({
        "child_exit": _child_exit,
        "worker_exit": _worker_exit,
        "worker_int": _quick_exit,
        "worker_abort": _quick_exit,
        "bind": f"{host}:{port}",
        "workers": max(1, workers),
        "worker_class": "sync",  # the engine holds the GIL: scale with processes, not threads
        "timeout": TIMEOUT,
        "graceful_timeout": GRACEFUL_TIMEOUT,
        "keepalive": 5,
        "max_requests": 0,
        "accesslog": "-",
        # method, path, status, time: no query string, no body, no client address
        "access_log_format": '%(m)s %(U)s %(s)s %(L)ss',
        "errorlog": "-",
        "loglevel": "info",
    }).run()
