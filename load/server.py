"""Start ``bti serve`` (gunicorn, production settings) on a free port of 127.0.0.1 and wait until
``/readyz`` answers 200; the benchmarks measure it from outside (time, memory, CPU)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from load.results import ROOT, children, cpu_seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    ready_s: float  # from the start of the process until /readyz answered 200

    def workers(self) -> list[int]:
        return children(self.process.pid)

    def cpu_seconds(self) -> float:
        """CPU time of the master and its workers so far."""
        total = 0.0
        for pid in [self.process.pid, *self.workers()]:
            try:
                total += cpu_seconds(pid)
            except OSError:
                continue
        return total


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


@contextmanager
def bti_serve(root: Path, workers: int = 2, reload_interval: float = 5.0, log: Path | None = None,
              timeout: float = 120.0, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> Iterator[Server]:
    """``bti serve`` with its production defaults (gunicorn sync workers, access log, reloads
    checked every ``reload_interval`` seconds) on 127.0.0.1 only; ``cwd``: serve the code of
    another source tree (its packages come first on the path), for A/B comparisons."""
    port = free_port()
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--municipalities", str(root), "--reload-interval", str(reload_interval)],
        stdout=out, stderr=subprocess.STDOUT if log else subprocess.DEVNULL, cwd=cwd or ROOT,
        env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = started + timeout
        while not _ready(url):
            if process.poll() is not None:
                raise RuntimeError(f"bti serve exited with {process.returncode}" + (f"; see {log}" if log else ""))
            if time.perf_counter() > deadline:
                raise RuntimeError(f"bti serve was not ready within {timeout:.0f} s")
            time.sleep(0.02)
        yield Server(url, process, time.perf_counter() - started)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            out.close()  # type: ignore[union-attr]
