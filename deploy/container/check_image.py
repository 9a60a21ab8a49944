"""`make image-test`: the built image, run for real with podman (or docker).

1. The bundled guides baked into the image: the container gets ready, answers the README's example
   decision exactly as the project answers it in-process (Flask test client), runs as a non-root
   user on a read-only root file system, and its HEALTHCHECK passes.
2. A rule folder mounted from the host replaces the bundled guides; a guide changed on the host is
   served with its new digest (the one the loader computes for the changed folder) without a restart.
3. SIGTERM while clients are sending decisions, the way an orchestrator stops an instance: new
   requests stop going to it as SIGTERM is sent. Every request already sent (in flight in a worker
   or waiting in the listening socket's backlog) gets its full answer, and the container exits with
   status 0 within gunicorn's graceful period.

Skips (exit 0, with the reason) where neither podman nor docker is installed. Needs the image:
`make image` first (the Makefile does it). Binds only 127.0.0.1 ports, with host networking.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from service.server import GRACEFUL_TIMEOUT  # noqa: E402
from tests.test_readme import _example  # noqa: E402  (the README's example, parsed as its own test does)


def engine() -> list[str]:
    """The engine command with the flags this machine needs (from engine.sh: one source)."""
    script = 'source deploy/container/engine.sh; echo "${CONTAINERS_CONF:-}"; printf "%s\\n" "${ENGINE_CMD[@]}"'
    out = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    if out and out[0]:
        os.environ["CONTAINERS_CONF"] = out[0]
    return [line for line in out[1:] if line]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Container:
    def __init__(self, cmd: list[str], image: str, name: str, port: int, args: list[str]) -> None:
        self.cmd, self.name, self.port = cmd, name, port
        self.run(["rm", "-f", name], check=False)
        hardening = ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
        self.run(["run", "-d", "--name", name, "--network", "host", *hardening, "-e", f"BTI_PORT={port}",
                  "--stop-timeout", str(GRACEFUL_TIMEOUT + 10), *args, image])

    def run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*self.cmd, *args], capture_output=True, text=True)
        if check and done.returncode:
            raise SystemExit(f"image-test: {' '.join(args[:2])} failed: {done.stderr.strip()}")
        return done

    def inspect(self, template: str) -> str:
        return self.run(["inspect", "--format", template, self.name]).stdout.strip()

    def request(self, method: str, path: str, body: Any = None, timeout: float = 10) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
            response = conn.getresponse()
            raw = response.read()
            return response.status, json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode()
        finally:
            conn.close()

    def wait_ready(self, seconds: float = 90) -> float:
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            try:
                if self.request("GET", "/readyz", timeout=2)[0] == 200:
                    return time.monotonic() - start
            except OSError:
                pass
            if self.inspect("{{.State.Status}}") not in ("created", "running"):
                break
            time.sleep(0.2)
        self.dump_log()
        raise SystemExit(f"image-test: {self.name} did not become ready")

    def dump_log(self) -> None:
        print(self.run(["logs", self.name], check=False).stderr[-3000:], file=sys.stderr)

    def remove(self) -> None:
        self.run(["rm", "-f", "-t", "0", self.name], check=False)


def check(ok: bool, what: str) -> None:
    print(f"  {'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        raise SystemExit(f"image-test: failed: {what}")


def in_process(root: Path, path: str, body: Any) -> dict[str, Any]:
    os.environ["BTI_MUNICIPALITIES"] = str(root)
    from service.app import create_app

    response = create_app().test_client().post(path, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.get_json())


def without_id(decision: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in decision.items() if k != "decision_id"}


def baked_in(cmd: list[str], image: str, name: str) -> None:
    print("1. bundled guides baked into the image")
    path, body, _ = _example()
    expected = in_process(ROOT / "municipalities", path, body)
    box = Container(cmd, image, name, free_port(), [])
    try:
        print(f"  ready after {box.wait_ready():.1f} s")
        status, answer = box.request("POST", path, body)
        check(status == 200, f"POST {path} answers 200 ({status})")
        check(without_id(answer) == without_id(expected),
              "the README's example decision equals the in-process answer (all but decision_id)")
        user = box.run(["exec", name, "id", "-u"]).stdout.strip()
        check(user == "10001", f"runs as uid {user}, not root")
        write = box.run(["exec", name, "python", "-c", "open('/opt/bti/x', 'w')"], check=False)
        check(write.returncode != 0 and "Read-only file system" in write.stderr, "the root file system is read-only")
        compiler = box.run(["exec", name, "sh", "-c", "command -v gcc cc || true"]).stdout.strip()
        check(compiler == "", "no compiler in the runtime image")
        if cmd[0] == "podman":
            health = box.run(["healthcheck", "run", name], check=False)
            check(health.returncode == 0, f"HEALTHCHECK passes {health.stderr.strip()}".rstrip())
        else:
            deadline = time.monotonic() + 60
            while box.inspect("{{.State.Health.Status}}") != "healthy" and time.monotonic() < deadline:
                time.sleep(1)
            check(box.inspect("{{.State.Health.Status}}") == "healthy", "HEALTHCHECK passes")
    except BaseException:
        box.dump_log()
        raise
    finally:
        box.remove()


def digests(box: Container) -> dict[str, str]:
    status, ready = box.request("GET", "/readyz")
    assert status == 200, ready
    return {gid: g["digest"] for gid, g in ready["guides"].items()}


def mounted_then_sigterm(cmd: list[str], image: str, name: str) -> None:
    from rules.loader import load_registry

    print("2. a rule folder mounted from the host, changed while the container runs")
    path, body, _ = _example()
    with tempfile.TemporaryDirectory(prefix="bti-image-test-") as tmp:
        rules = Path(tmp) / "municipalities"
        shutil.copytree(ROOT / "municipalities", rules)
        os.chmod(tmp, 0o755)
        box = Container(cmd, image, name, free_port(),
                        ["-v", f"{rules}:/srv/rules:ro", "-e", "BTI_MUNICIPALITIES=/srv/rules",
                         "-e", "BTI_RELOAD_INTERVAL=1"])
        try:
            box.wait_ready()
            started = box.inspect("{{.State.StartedAt}}")
            before = digests(box)
            check(before == {gid: g.digest for gid, g in load_registry(rules).guides.items()},
                  f"serves the mounted folder ({len(before)} guides, the loader's digests)")
            guide = rules / "tromso" / "guide.yaml"
            text = guide.read_text(encoding="utf-8")
            changed = text.replace('version: "2026.1"', 'version: "2026.1-image-test"', 1)
            check(changed != text, "the test changed tromso's version in guide.yaml")
            guide.write_text(changed, encoding="utf-8")
            want = load_registry(rules).guides["tromso"].digest
            deadline, now = time.monotonic() + 30, digests(box)
            while now["tromso"] != want and time.monotonic() < deadline:
                time.sleep(0.5)
                now = digests(box)
            check(now["tromso"] == want != before["tromso"], f"tromso's new digest is served: {want[:19]}…")
            check(all(now[g] == before[g] for g in before if g != "tromso"), "the other guides are unchanged")
            check(box.inspect("{{.State.StartedAt}}") == started and box.inspect("{{.RestartCount}}") in ("0", ""),
                  "without a restart of the container")

            print("3. SIGTERM while clients send decisions")
            sigterm(box, path, body)
        except BaseException:
            box.dump_log()
            raise
        finally:
            box.remove()


def sigterm(box: Container, path: str, body: Any) -> None:
    batch = {"cases": [body] * 100}
    batch_path = path.replace("/decisions", "/decisions/batch")
    results: list[tuple[float, float, str]] = []  # (start, end, outcome)
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():  # the load balancer sends no new request once the instance is stopping
            start = time.monotonic()
            try:
                status, answer = box.request("POST", batch_path, batch, timeout=30)
                decisions = answer["decisions"] if status == 200 else []
                complete = len(decisions) == 100 and all("decision" in d for d in decisions)
                outcome = "ok" if complete else f"status {status}"
            except ConnectionRefusedError:
                outcome = "refused"  # the listener is closed: never reached the service
                time.sleep(0.05)
            except OSError as exc:
                outcome = f"lost: {type(exc).__name__}"
            results.append((start, time.monotonic(), outcome))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(3)
    signalled = time.monotonic()
    stop.set()
    box.run(["kill", "--signal", "TERM", box.name])
    while box.inspect("{{.State.Status}}") == "running" and time.monotonic() - signalled < GRACEFUL_TIMEOUT + 15:
        time.sleep(0.1)
    exited = time.monotonic() - signalled
    for t in threads:
        t.join(timeout=35)
    code = box.inspect("{{.State.ExitCode}}")
    ok = [r for r in results if r[2] == "ok"]
    in_flight = [r for r in ok if r[0] < signalled < r[1]]
    lost = [r for r in results if r[2] not in ("ok", "refused")]
    refused = sum(1 for r in results if r[2] == "refused")
    print(f"  {len(ok)} batches of 100 answered in full, {len(in_flight)} of them sent before SIGTERM and "
          f"answered after it; {refused} refused; {len(lost)} lost")
    check(exited < GRACEFUL_TIMEOUT, f"exited {exited:.1f} s after SIGTERM (graceful period {GRACEFUL_TIMEOUT} s)")
    check(code == "0", f"exit status {code}")
    check(bool(in_flight), "requests were in flight when SIGTERM came")
    check(not lost, f"no request lost {sorted({r[2] for r in lost})}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default=os.environ.get("IMAGE", "localhost/bti-decision-service:latest"))
    args = parser.parse_args()
    cmd = engine()
    if not cmd:
        print("image-test: skipped: neither podman nor docker is installed (Debian: apt-get install podman runc)")
        return 0
    if subprocess.run([*cmd, "image", "inspect", args.image], capture_output=True).returncode:
        print(f"image-test: no image {args.image}: run `make image` first", file=sys.stderr)
        return 1
    size = int(subprocess.run([*cmd, "image", "inspect", "--format", "{{.Size}}", args.image],
                              capture_output=True, text=True, check=True).stdout.strip())
    print(f"image-test: {args.image} ({size / 1e6:.0f} MB) with {cmd[0]}")
    started = time.monotonic()
    suffix = f"{os.getpid()}"
    baked_in(cmd, args.image, f"bti-image-test-a-{suffix}")
    mounted_then_sigterm(cmd, args.image, f"bti-image-test-b-{suffix}")
    print(f"image-test: passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
