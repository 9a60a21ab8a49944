"""Run the app under gunicorn (the production server)."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from typing import Any

from gunicorn.app.base import BaseApplication

from service.paths import MULTIPROC_ENV

log = logging.getLogger("bti")


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


def access_warnings(env: Mapping[str, str]) -> list[str]:
    """What is left open when only one of the two keys is configured (docs/operations.md, Access)."""
    api, admin = bool(env.get("BTI_API_KEYS", "").strip()), bool(env.get("BTI_ADMIN_KEY", "").strip())
    if api and not admin:
        return ["BTI_API_KEYS is set but BTI_ADMIN_KEY is not: /v1/status and /metrics are open to anyone "
                "who reaches the service"]
    if admin and not api:
        return ["BTI_ADMIN_KEY is set but BTI_API_KEYS is not: the decision endpoints are open to anyone "
                "who reaches the service"]
    return []


def run(host: str, port: int, workers: int, municipalities: str, reload_interval: float = 5.0) -> None:
    os.environ["BTI_MUNICIPALITIES"] = municipalities
    os.environ["BTI_RELOAD_INTERVAL"] = str(reload_interval)
    # one set of metrics over all workers: each worker writes its numbers to this folder, which
    # the master removes when it exits (unless the operator gave the folder)
    metrics_dir = None
    if not os.environ.get(MULTIPROC_ENV):
        metrics_dir = tempfile.mkdtemp(prefix="bti-metrics-")
        os.environ[MULTIPROC_ENV] = metrics_dir
    # only now: prometheus_client picks its multi-process mode when it is first imported
    from service.observe import configure_logging

    configure_logging()
    for warning in access_warnings(os.environ):
        log.warning(warning)
    master = os.getpid()
    try:
        _Server(_options(host, port, workers)).run()
    finally:
        # a worker leaves run() too (gunicorn forks it inside the master's loop): only the master cleans up
        if metrics_dir is not None and os.getpid() == master:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _options(host: str, port: int, workers: int) -> dict[str, Any]:
    return {
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
        # gunicorn 25.1+ opens a control socket by default, at one path per user ($XDG_RUNTIME_DIR or
        # ~/.gunicorn/gunicorn.ctl) shared by every instance that user runs; nothing here uses it
        "control_socket_disable": True,
    }
