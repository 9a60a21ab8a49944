"""SIGTERM stops `bti serve` without losing a request that already reached it.

Found by the container test (deploy/container/check_image.py): under load, every SIGTERM reset a
few connections whose clients had sent a whole request, because gunicorn's sync worker leaves its
accept loop at once and the connections waiting in the listening socket's backlog are dropped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow  # starts a server


def _connect(port: int) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=15)
    conn.settimeout(15)
    return conn


def _read_all(conn: socket.socket) -> bytes:
    chunks = []
    try:
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def _wait_up(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with _connect(port) as conn:
                conn.sendall(b"GET /readyz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                if _read_all(conn).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("bti serve did not get ready")


def test_sigterm_answers_connections_waiting_in_the_backlog(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", "1",
         "--municipalities", str(ROOT / "municipalities"), "--reload-interval", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "TMPDIR": str(tmp_path)})
    waiting: list[socket.socket] = []
    busy = None
    try:
        _wait_up(port, server)
        # the only worker is held by a request whose headers are not complete yet
        busy = _connect(port)
        busy.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        time.sleep(0.5)
        # these clients send whole requests; the kernel accepts them into the backlog
        for _ in range(5):
            conn = _connect(port)
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            waiting.append(conn)
        server.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        busy.sendall(b"Connection: close\r\n\r\n")
        assert _read_all(busy).startswith(b"HTTP/1.1 200")
        busy.close()
        answers = []
        for conn in waiting:  # each read to the end and closed, as a client does
            answers.append(_read_all(conn))
            conn.close()
        assert [a.split(b"\r\n", 1)[0] for a in answers] == [b"HTTP/1.1 200 OK"] * 5
        assert server.wait(timeout=25) == 0
    finally:
        for conn in [*waiting, *([busy] if busy else [])]:
            conn.close()
        if server.poll() is None:
            server.kill()
            server.wait()
