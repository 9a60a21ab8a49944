"""Start `bti serve` (gunicorn, production settings) on a free port of 127.0.0.1 for a test."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def bti_serve(root: Path, workers: int = 2, reload_interval: float = 0, env: dict[str, str] | None = None,
              log: Path | None = None) -> Iterator[str]:
    with bti_serve_process(root, workers, reload_interval, env, log) as (url, _):
        yield url


def worker_pids(master: int) -> set[int]:
    """The gunicorn workers of ``master`` (its child processes, from /proc)."""
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            pids.add(int(stat.parent.name))
    return pids


@contextmanager
def bti_serve_process(root: Path, workers: int = 2, reload_interval: float = 0, env: dict[str, str] | None = None,
                      log: Path | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Like :func:`bti_serve`, also giving the gunicorn master's process."""
    port = free_port()
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", str(workers),
         "--municipalities", str(root), "--reload-interval", str(reload_interval)],
        stdout=out, stderr=out, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("bti serve did not start") from None
                time.sleep(0.1)
        yield url, server
    finally:
        server.terminate()
        server.wait(timeout=15)
        if log:
            out.close()  # type: ignore[union-attr]


def post(url: str, body: Any, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def get(url: str, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            return response.status, json.loads(body) if body[:1] in (b"{", b"[") else body.decode()
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")
