"""deploy/nginx/bti.conf in front of `bti serve`, both run for real on 127.0.0.1.

Without the proxy, a few clients that send their request slowly hold gunicorn's sync workers (with
2 workers, 4 connections sending a header line every 3 s stopped /healthz for 45 s). With it, nginx
reads every request whole before a worker sees it. Needs Debian's nginx and openssl: skipped
without them, but with the environment variable CI set they fail instead (.ci/install-tools
installs them for CI).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from load.proxy import Proxy, get, nginx, nginx_binary, plain, slow_clients
from tests.servers import bti_serve
from tests.test_readme import _example

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _missing() -> str | None:
    if nginx_binary() is None:
        return "nginx is not installed (apt-get install nginx-light; .ci/install-tools does it in CI)"
    if shutil.which("openssl") is None:
        return "openssl is not installed (apt-get install openssl)"
    return None


@pytest.fixture(autouse=True)
def _tools() -> None:
    _require()


def _require() -> None:
    if problem := _missing():
        if os.environ.get("CI"):
            pytest.fail(f"the proxy tests are required in CI: {problem}")
        pytest.skip(problem)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Proxy]]:
    _require()
    workdir = tmp_path_factory.mktemp("proxy")
    with bti_serve(ROOT / "municipalities", workers=2, env={"TMPDIR": str(workdir)}) as url, \
            nginx(int(url.rsplit(":", 1)[1]), workdir) as proxy:
        yield url, proxy


def _request(proxy: Proxy, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with proxy.connect(timeout=10) as conn:
        conn.sendall(raw)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        body = _unchunk(body)
    return int(lines[0].split()[1]), headers, body


def _unchunk(body: bytes) -> bytes:
    out = b""
    while body:
        size, _, rest = body.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            break
        out, body = out + rest[:n], rest[n + 2:]
    return out


def _post(path: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


def test_healthz_answers_within_a_second_while_50_slow_clients_are_open(stack: tuple[str, Proxy]) -> None:
    _, proxy = stack
    # 40 send a header line every 3 s and never finish; 10 send a body shorter than their Content-Length
    with slow_clients(proxy.connect, 50, interval=3, short_bodies=10):
        probes = []
        for _ in range(12):  # about 7 s: each slow client has sent two more header lines by the end
            status, seconds = get(proxy.connect, "/healthz", timeout=1.0)
            probes.append(status)
            time.sleep(max(0.0, 0.6 - seconds))
    assert probes == [200] * 12, f"/healthz through nginx while 50 slow clients were open: {probes}"


def test_a_decision_through_the_proxy_is_the_decision_of_the_service(stack: tuple[str, Proxy]) -> None:
    url, proxy = stack
    path, body, _ = _example()
    raw = json.dumps(body).encode()
    status, headers, answer = _request(proxy, _post(path, raw))
    assert status == 200 and headers["content-type"].startswith("application/json")
    direct = b""
    with plain(int(url.rsplit(":", 1)[1]))() as conn:
        conn.sendall(_post(path, raw))
        while chunk := conn.recv(65536):
            direct += chunk
        direct_status = int(direct.split(b" ", 2)[1])
        direct = direct.partition(b"\r\n\r\n")[2]
    assert direct_status == 200
    strip = lambda d: {k: v for k, v in json.loads(d).items() if k != "decision_id"}  # noqa: E731
    assert strip(answer) == strip(direct)


def test_a_body_over_one_mebibyte_is_refused_by_the_proxy_in_the_service_envelope(stack: tuple[str, Proxy]) -> None:
    _, proxy = stack
    path, _, _ = _example()
    status, headers, body = _request(proxy, _post(path, b" " * (1024 * 1024 + 1)))
    assert status == 413 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    assert "nginx" not in body.decode()


def test_the_services_own_errors_and_readiness_pass_through(stack: tuple[str, Proxy]) -> None:
    _, proxy = stack
    status, _, body = _request(proxy, b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    assert status == 200 and json.loads(body)["status"] == "ready"
    status, _, body = _request(proxy, b"GET /v1/municipalities/atlantis HTTP/1.1\r\nHost: localhost\r\n"
                                      b"Connection: close\r\n\r\n")
    assert status == 404 and json.loads(body)["error"]["code"] == "unknown_municipality"


def test_plain_http_redirects_to_https(stack: tuple[str, Proxy]) -> None:
    _, proxy = stack
    with plain(proxy.http_port)() as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: bti.example\r\nConnection: close\r\n\r\n")
        head = conn.recv(4096).decode("latin-1")
    assert head.startswith("HTTP/1.1 308") and "Location: https://bti.example/healthz" in head


def test_the_shipped_configuration_is_valid(tmp_path: Path) -> None:
    # nginx -t runs inside nginx(): starting it is the check; here on a port where nothing listens
    with nginx(1, tmp_path) as proxy:
        status, _, body = _request(proxy, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    # no upstream: nginx's own 502 becomes the service's 503 envelope, with Retry-After
    assert status == 503 and json.loads(body)["error"]["code"] == "not_ready"
