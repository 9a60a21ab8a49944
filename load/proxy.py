"""nginx in front of `bti serve` on 127.0.0.1, and slow clients against either.

Shared by the proxy test (tests/test_nginx.py) and the slow-client measurement (load/slowloris.py).
`deploy/nginx/bti.conf` is used as shipped, with only its machine-specific lines replaced (ports,
certificate, log folder); each replacement must match, so the test always runs the shipped file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from load.results import ROOT
from load.server import free_port

CONFIG = ROOT / "deploy" / "nginx" / "bti.conf"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


# one client context, made once (loading a CA store per connection costs more than the request);
# the proxy's certificate is the run's own self-signed one, so there is nothing to verify against
_CLIENT_TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
_CLIENT_TLS.check_hostname = False
_CLIENT_TLS.verify_mode = ssl.CERT_NONE


@dataclass
class Proxy:
    https_port: int
    http_port: int
    prefix: Path

    def connect(self, timeout: float = 5) -> ssl.SSLSocket:
        raw = socket.create_connection(("127.0.0.1", self.https_port), timeout=timeout)
        return _CLIENT_TLS.wrap_socket(raw, server_hostname="localhost")


def render(upstream_port: int, https_port: int, http_port: int, prefix: Path, cert: Path, key: Path) -> str:
    text = CONFIG.read_text(encoding="utf-8")
    replacements = {
        "server 127.0.0.1:8080 ": f"server 127.0.0.1:{upstream_port} ",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "/etc/ssl/bti/fullchain.pem": str(cert),
        "/etc/ssl/bti/privkey.pem": str(key),
        "/var/log/nginx/": f"{prefix}/",
    }
    for old, new in replacements.items():
        if old not in text:
            raise RuntimeError(f"{CONFIG.name} no longer has {old!r}: update load/proxy.py with it")
        text = text.replace(old, new)
    return text


@contextmanager
def nginx(upstream_port: int, workdir: Path) -> Iterator[Proxy]:
    """nginx in the foreground with its own prefix under workdir; stopped (SIGQUIT, then kill) on exit."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed")
    prefix = workdir / "nginx"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    cert, key = prefix / "cert.pem", prefix / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-subj", "/CN=localhost", "-days", "1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    proxy = Proxy(free_port(), free_port(), prefix)
    (prefix / "bti.conf").write_text(render(upstream_port, proxy.https_port, proxy.http_port, prefix, cert, key))
    temp_paths = "\n".join(f"    {kind}_temp_path {prefix}/{sub};" for kind, sub in (
        ("client_body", "body"), ("proxy", "proxy"), ("fastcgi", "fastcgi"), ("uwsgi", "uwsgi"), ("scgi", "scgi")))
    (prefix / "nginx.conf").write_text(f"""
{"user root root;" if os.geteuid() == 0 else ""}
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    default_type application/octet-stream;
{temp_paths}
    include {prefix}/bti.conf;
}}
""")
    test = subprocess.run([binary, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                          capture_output=True, text=True)
    if test.returncode:
        raise RuntimeError(f"nginx -t refused the configuration:\n{test.stderr}")
    process = subprocess.Popen([binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", proxy.https_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"nginx did not start: {(prefix / 'error.log').read_text()}") from None
                time.sleep(0.05)
        yield proxy
    finally:
        process.send_signal(3)  # SIGQUIT: graceful
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def slow_clients(connect: Callable[[], socket.socket], count: int, interval: float,
                 short_bodies: int = 0) -> Iterator[list[socket.socket]]:
    """`count` connections that each send a request header line every `interval` seconds and never
    finish it; the last `short_bodies` of them instead send whole headers and a body shorter than
    their Content-Length, and then nothing. Bounded: all are closed when the block ends."""
    conns: list[socket.socket] = []
    stop = threading.Event()
    try:
        for n in range(count):
            conn = connect()
            if n >= count - short_bodies:
                conn.sendall(b"POST /v1/municipalities/national/decisions HTTP/1.1\r\nHost: localhost\r\n"
                             b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"subject\": ")
            else:
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            conns.append(conn)

        def drip() -> None:
            line = 0
            while not stop.wait(interval):
                line += 1
                for conn in conns[:count - short_bodies]:
                    # a connection the server dropped stays dropped: that is what a proxy should do, eventually
                    with contextlib.suppress(OSError):
                        conn.sendall(f"X-Slow-{line}: {line}\r\n".encode())

        thread = threading.Thread(target=drip, daemon=True)
        thread.start()
        yield conns
        stop.set()
        thread.join(timeout=interval + 5)
    finally:
        stop.set()
        for conn in conns:
            conn.close()


def get(connect: Callable[[], socket.socket], path: str, timeout: float) -> tuple[int, float]:
    """GET `path` on a new connection: (status, seconds), status 0 when no answer came within `timeout`."""
    start = time.monotonic()
    try:
        conn = connect()
    except OSError:
        return 0, time.monotonic() - start
    try:
        conn.settimeout(max(0.01, timeout - (time.monotonic() - start)))
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        head = conn.recv(64)
        status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.") else 0
    except (OSError, ValueError):
        status = 0
    finally:
        conn.close()
    return status, time.monotonic() - start


def plain(port: int, timeout: float = 5) -> Callable[[], socket.socket]:
    def connect() -> socket.socket:
        return socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return connect
