"""Reliability and operations: hot reload under load, many workers at once, API keys, privacy
of logs, metrics, and an engine failure that must be an error, never a wrong decision."""

from __future__ import annotations

import json
import logging
import random
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from rules.engine import Session
from rules.errors import EngineError
from service.access import key_hash
from service.app import create_app
from service.paths import BUNDLED as MUNICIPALITIES
from tests.servers import bti_serve, get, post
from toolkit.scenarios import discover

CASE = {"subject": {"kind": "child", "age": 9}, "reporter": {"service": "school"}, "signals": ["school_absence"]}
MARKER = "zq-marker-7781"


# --- hot reload --------------------------------------------------------------------------------

def _set_version(guide_yaml: Path, version: str) -> None:
    text = guide_yaml.read_text(encoding="utf-8")
    lines = [f'version: "{version}"' if line.startswith("version:") else line for line in text.splitlines()]
    guide_yaml.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


@pytest.mark.slow
def test_reload_changes_breaks_and_repairs_a_guide_with_zero_failed_requests(tmp_path: Path) -> None:
    root = tmp_path / "municipalities"
    shutil.copytree(MUNICIPALITIES, root)
    guide_yaml = root / "tromso" / "guide.yaml"
    good_rules = (root / "tromso" / "guide.yaml").read_text(encoding="utf-8")
    results: list[tuple[int, str | None]] = []
    stop = threading.Event()

    with bti_serve(root, workers=2, reload_interval=0.2) as url:
        def client() -> None:
            while not stop.is_set():
                status, body = post(f"{url}/v1/municipalities/tromso/decisions", CASE)
                results.append((status, body.get("ruleset", {}).get("version") if status == 200 else None))

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            def serving(version: str) -> bool:
                # every worker answers with the version: the last 20 answers all show it
                return len(results) > 20 and all(v == version for _, v in results[-20:])

            _wait_for(lambda: serving("2026.1"))
            _set_version(guide_yaml, "2026.2")  # a change
            _wait_for(lambda: serving("2026.2"))

            (root / "tromso" / "rules").mkdir(exist_ok=True)
            broken = root / "tromso" / "rules" / "broken.yaml"
            broken.write_text("group: local\nrules: [\n", encoding="utf-8")  # a broken change
            _set_version(guide_yaml, "2026.3")

            def refused() -> bool:
                status, body = get(f"{url}/v1/status")
                error = body["guides"]["tromso"]["last_reload_error"]
                return status == 200 and error is not None and "broken.yaml" in error["problems"][0]

            _wait_for(refused)
            time.sleep(0.5)
            count = len(results)
            time.sleep(0.5)
            assert {v for _, v in results[count:]} == {"2026.2"}  # the last good version keeps serving
            _, body = get(f"{url}/v1/status")
            assert body["guides"]["tromso"]["version"] == "2026.2"

            broken.unlink()  # the repair
            _wait_for(lambda: serving("2026.3"))
            _, body = get(f"{url}/v1/status")
            assert body["guides"]["tromso"]["last_reload_error"] is None
        finally:
            stop.set()
            for t in threads:
                t.join()
    assert good_rules  # the original file was read
    failed = [r for r in results if r[0] != 200]
    assert len(results) > 100
    assert failed == []


def test_a_broken_national_change_keeps_every_guide_serving(tmp_path: Path) -> None:
    root = tmp_path / "municipalities"
    shutil.copytree(MUNICIPALITIES, root)
    app = create_app({"TESTING": True, "BTI_MUNICIPALITIES": str(root)})
    store = app.extensions["bti_store"]
    before = {gid: g.digest for gid, g in store.registry.guides.items()}
    bypass = root / "national" / "rules" / "bypass.yaml"
    bypass.write_text(bypass.read_text(encoding="utf-8").replace("signal: acute_danger,", "signal: acute_dangr,", 1),
                      encoding="utf-8")
    assert store.check()
    assert {gid: g.digest for gid, g in store.registry.guides.items()} == before
    assert store.status["national"].last_error and "acute_dangr" in store.status["national"].last_error[0]
    assert store.ready
    assert app.test_client().post("/v1/municipalities/oygarden/decisions", json=CASE).status_code == 200


# --- many workers at once ----------------------------------------------------------------------

def _mixed_requests(n: int) -> list[tuple[str, dict[str, Any]]]:
    scenarios = [s for s in discover(MUNICIPALITIES) if "error" not in s.expect]
    rng = random.Random(7)
    return [(s.guide, s.request) for s in (rng.choice(scenarios) for _ in range(n))]


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "decision_id"}


@pytest.mark.slow
def test_concurrent_requests_to_several_workers_match_sequential_decisions(client: FlaskClient) -> None:
    requests = _mixed_requests(2000)
    expected = [_comparable(client.post(f"/v1/municipalities/{g}/decisions", json=r).get_json())
                for g, r in requests]
    answers: list[Any] = [None] * len(requests)

    with bti_serve(MUNICIPALITIES, workers=2) as url:
        def work(offset: int) -> None:
            for i in range(offset, len(requests), 8):
                guide, body = requests[i]
                answers[i] = post(f"{url}/v1/municipalities/{guide}/decisions", body)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert [a[0] for a in answers] == [200] * len(requests)
    mismatches = [i for i, (a, e) in enumerate(zip(answers, expected, strict=True)) if _comparable(a[1]) != e]
    assert mismatches == []


# --- access ------------------------------------------------------------------------------------

@pytest.fixture()
def keyed() -> FlaskClient:
    app = create_app({"TESTING": True, "BTI_API_KEYS": f"{key_hash('app-key')},{key_hash('other-app')}",
                      "BTI_ADMIN_KEY": key_hash("admin-key")})
    return app.test_client()


@pytest.mark.parametrize(("method", "path", "headers", "status", "code"), [
    ("post", "/v1/municipalities/national/decisions", {}, 401, "unauthorized"),
    ("post", "/v1/municipalities/national/decisions", {"Authorization": "Bearer wrong"}, 401, "unauthorized"),
    ("post", "/v1/municipalities/national/decisions", {"Authorization": "Bearer app-key"}, 200, None),
    ("post", "/v1/municipalities/national/decisions", {"X-API-Key": "other-app"}, 200, None),
    ("post", "/v1/municipalities/national/decisions", {"Authorization": "Bearer admin-key"}, 403, "forbidden"),
    ("post", "/v1/municipalities/nowhere/decisions", {}, 401, "unauthorized"),
    ("post", "/v1/municipalities/national/decisions/batch", {}, 401, "unauthorized"),
    ("get", "/v1/status", {}, 401, "unauthorized"),
    ("get", "/v1/status", {"Authorization": "Bearer app-key"}, 403, "forbidden"),
    ("get", "/v1/status", {"Authorization": "Bearer admin-key"}, 200, None),
    ("get", "/metrics", {"Authorization": "Bearer app-key"}, 403, "forbidden"),
    ("get", "/v1/catalog", {}, 200, None),
    ("get", "/healthz", {}, 200, None),
])
def test_api_keys(keyed: FlaskClient, method: str, path: str, headers: dict[str, str], status: int,
                  code: str | None) -> None:
    body = {"cases": [CASE]} if path.endswith("batch") else CASE
    response = keyed.post(path, json=body, headers=headers) if method == "post" else keyed.get(path, headers=headers)
    assert response.status_code == status
    if code:
        assert response.get_json()["error"]["code"] == code
        assert response.headers.get("Content-Language")
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_keys_are_off_by_default(client: FlaskClient) -> None:
    assert client.post("/v1/municipalities/national/decisions", json=CASE).status_code == 200
    assert client.get("/v1/status").status_code == 200


# --- privacy -----------------------------------------------------------------------------------

SYNTHETIC_ID = "01819010192"  # valid check digits, month 81: a synthetic number, nobody's


@pytest.mark.parametrize("body", [
    {**CASE, "note": f"fnr {SYNTHETIC_ID}"},
    {**CASE, "signals": [SYNTHETIC_ID]},
    {**CASE, "status": {SYNTHETIC_ID: 1}},
    {**CASE, "reporter": {"service": SYNTHETIC_ID}},
])
def test_identity_numbers_are_refused_without_echo(client: FlaskClient, body: dict[str, Any]) -> None:
    response = client.post("/v1/municipalities/national/decisions?lang=en", json=body)
    assert response.status_code == 422
    detail = response.get_json()["error"]["details"]
    assert detail and "national identity number" in detail[0]["message"]
    assert SYNTHETIC_ID not in response.get_data(as_text=True)


def test_no_log_line_carries_request_content(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client.post("/v1/municipalities/national/decisions", json={**CASE, "signals": [MARKER]})
    client.post("/v1/municipalities/national/decisions", json={**CASE, MARKER: 1})
    ok = client.post("/v1/municipalities/national/decisions", json={**CASE, "signals": ["school_absence"]})
    client.post("/v1/municipalities/national/decisions/batch", json={"cases": [{**CASE, "signals": [MARKER]}]})
    assert ok.status_code == 200
    lines = [record.getMessage() + repr(getattr(record, "fields", "")) for record in caplog.records]
    assert not [line for line in lines if MARKER in line]
    decisions = [r for r in caplog.records if getattr(r, "fields", {}).get("event") == "decision"]
    assert decisions and decisions[-1].fields["decision_id"] == ok.get_json()["decision_id"]  # type: ignore[attr-defined]
    assert set(decisions[-1].fields) <= {"event", "decision_id", "municipality", "version",  # type: ignore[attr-defined]
                                         "decided_level", "urgent", "ms"}


@pytest.mark.slow
def test_server_logs_carry_no_request_content(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with bti_serve(MUNICIPALITIES, workers=1, log=log) as url:
        post(f"{url}/v1/municipalities/national/decisions?lang=en", {**CASE, "signals": [MARKER]})
        post(f"{url}/v1/municipalities/national/decisions", CASE)
    text = log.read_text(encoding="utf-8")
    entries = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(entry.get("event") == "decision" for entry in entries)
    assert "POST /v1/municipalities/national/decisions 200" in text
    assert MARKER not in text


# --- metrics and failures ----------------------------------------------------------------------

def test_metrics(client: FlaskClient) -> None:
    client.post("/v1/municipalities/national/decisions", json=CASE)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'bti_decisions_total{level="1",municipality="national"}' in text
    endpoint = "/v1/municipalities/<municipality>/decisions"
    assert f'bti_http_requests_total{{endpoint="{endpoint}",method="POST",status="200"}}' in text
    assert "bti_http_request_duration_seconds_bucket" in text
    assert "bti_reload_errors_total" in text or "# TYPE bti_reload_errors_total counter" in text


@pytest.mark.slow
def test_metrics_over_all_workers(tmp_path: Path) -> None:
    root = tmp_path / "municipalities"
    shutil.copytree(MUNICIPALITIES, root, ignore=shutil.ignore_patterns("scenarios"))
    shutil.copytree(root / "tromso", root / "tromso.bak")  # a folder that is not a guide
    with bti_serve(root, workers=2) as url:
        for _ in range(20):
            post(f"{url}/v1/municipalities/national/decisions", CASE)
        status, text = get(f"{url}/metrics")
    assert status == 200

    def value(name: str) -> float:
        return float(next(li for li in text.splitlines() if li.startswith(name + " ")).split()[-1])

    assert value('bti_decisions_total{level="1",municipality="national"}') == 20.0
    assert value("bti_refused_folders") == 1.0  # every worker sees the one folder: not summed
    assert value("bti_unserved_guides") == 0.0
    assert value("bti_engine_lost_states") >= 0.0


def test_an_engine_failure_is_an_error_response_and_a_log_line(client: FlaskClient, monkeypatch: pytest.MonkeyPatch,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    def explode(self: Session, fact: Any) -> list[str]:
        raise EngineError("simulated failure inside the engine")

    monkeypatch.setattr(Session, "assert_fact", explode)
    response = client.post("/v1/municipalities/national/decisions", json=CASE)
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    assert "level" not in response.get_json()
    assert any(getattr(r, "fields", {}).get("event") == "engine_error" for r in caplog.records)


def test_an_unexpected_error_logs_no_request_content(app: Any, monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    from service import api
    from service.observe import JsonFormatter

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError(MARKER)  # an exception whose message quotes something from the request

    monkeypatch.setattr(api, "evaluate", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    with app.test_client() as c:
        response = c.post("/v1/municipalities/national/decisions", json=CASE)
    assert response.status_code == 500 and response.get_json()["error"]["code"] == "internal_error"
    lines = [JsonFormatter().format(r) for r in caplog.records]
    assert any(json.loads(line).get("error", "").startswith("KeyError at ") for line in lines)
    assert not [line for line in lines if MARKER in line]


# --- bti serve: what it leaves behind, what it warns about -----------------------------------------

@pytest.mark.parametrize(("env", "open_part"), [
    ({"BTI_API_KEYS": key_hash("k")}, "/v1/status and /metrics are open"),
    ({"BTI_ADMIN_KEY": key_hash("a")}, "the decision endpoints are open"),
])
def test_setting_only_one_of_the_two_keys_is_warned_about(env: dict[str, str], open_part: str) -> None:
    """Regression: BTI_API_KEYS alone left /v1/status and /metrics open, BTI_ADMIN_KEY alone left
    decisions open, and nothing said so."""
    from service.server import access_warnings

    warnings = access_warnings(env)
    assert len(warnings) == 1 and open_part in warnings[0]
    assert access_warnings({}) == []
    assert access_warnings({"BTI_API_KEYS": key_hash("k"), "BTI_ADMIN_KEY": key_hash("a")}) == []


@pytest.mark.slow
def test_bti_serve_removes_its_metrics_folder_opens_no_control_socket_and_warns_of_one_key(tmp_path: Path) -> None:
    """Regression: every `bti serve` left a bti-metrics-* folder in the temporary directory, and
    gunicorn 27 opened a control socket at one path shared by every instance of the user."""
    temp, home, runtime, log = tmp_path / "tmp", tmp_path / "home", tmp_path / "run", tmp_path / "serve.log"
    for folder in (temp, home, runtime):
        folder.mkdir()
    env = {"TMPDIR": str(temp), "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime),
           "BTI_API_KEYS": key_hash("decision-key")}
    with bti_serve(MUNICIPALITIES, workers=2, env=env, log=log) as url:
        assert get(f"{url}/healthz")[0] == 200
        assert [p.name for p in temp.glob("bti-metrics-*")] != []  # in use while it runs
        sockets = [p for p in (*home.rglob("*"), *runtime.rglob("*")) if p.name.endswith(".ctl")]
    assert list(temp.glob("bti-metrics-*")) == []
    assert sockets == []
    lines = log.read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if "BTI_ADMIN_KEY is not" in line and "/metrics are open" in line]
