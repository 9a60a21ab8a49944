"""Run the app under gunicorn (the production server)."""

from __future__ import annotations

import os
import tempfile
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


def run(host: str, port: int, workers: int, municipalities: str, reload_interval: float = 5.0) -> None:
    os.environ["BTI_MUNICIPALITIES"] = municipalities
    os.environ["BTI_RELOAD_INTERVAL"] = str(reload_interval)
    # one set of metrics over all workers: each worker writes its numbers to this folder
    metrics_dir = tempfile.mkdtemp(prefix="bti-metrics-")
    os.environ.setdefault(MULTIPROC_ENV, metrics_dir)
    _Server({
        "child_exit": _child_exit,
        "bind": f"{host}:{port}",
        "workers": max(1, workers),
        "worker_class": "sync",  # the engine holds the GIL: scale with processes, not threads
        "timeout": 30,
        "graceful_timeout": 20,
        "keepalive": 5,
        "max_requests": 0,
        "accesslog": "-",
        # method, path, status, time: no query string, no body, no client address
        "access_log_format": '%(m)s %(U)s %(s)s %(L)ss',
        "errorlog": "-",
        "loglevel": "info",
    }).run()
