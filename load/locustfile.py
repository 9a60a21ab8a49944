"""Load test for the BTI decision service, for ``make load`` and for a municipality's own testers.

    locust -f load/locustfile.py --headless -u 8 -r 8 -t 30s --host https://bti.example.kommune.no

The default profile is a realistic mix: mostly single decisions across the municipalities the
service lists, some batches of about ten, and some catalog and municipality reads. The request
bodies are the scenario suites' requests (``municipalities/*/scenarios``) that the target guide
accepts (a national request is used in a municipality whose age range admits it), or your own.

Environment variables:
  BTI_LOAD_PROFILE         ``decisions`` (default) or ``healthz`` (only ``GET /healthz``, the same
                           load shape: the ceiling the server and this client reach together)
  BTI_API_KEY              sent as ``Authorization: Bearer <key>`` when the service requires keys
  BTI_LOAD_MUNICIPALITIES  comma-separated ids (default: every one listed, national left out when
                           there are others)
  BTI_LOAD_REQUESTS        a JSON file of request bodies: a list (used for every municipality) or
                           ``{"<id>": [bodies]}`` (default: the bundled scenario requests)
  BTI_LOAD_BATCH_SIZE      cases per batch request (default 10)
  BTI_LOAD_WAIT            seconds each simulated user waits between requests (default 0)

Every response other than the expected one counts as a failure in locust's statistics (a 422
too: the bodies sent are meant to be valid).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import requests

try:  # the service's own JSON library, when the tester has it: a fraction of json's time
    from orjson import dumps as _dumps
    from orjson import loads as _loads
except ImportError:  # pragma: no cover (installed with the service)
    def _dumps(value: Any) -> bytes:
        return json.dumps(value).encode()

    _loads = json.loads
from locust import FastHttpUser, constant, events, tag, task

PROFILE = os.environ.get("BTI_LOAD_PROFILE", "decisions").strip().lower()
if PROFILE not in ("decisions", "healthz"):
    raise SystemExit(f"BTI_LOAD_PROFILE must be decisions or healthz, not {PROFILE!r}")
BATCH_SIZE = int(os.environ.get("BTI_LOAD_BATCH_SIZE", "10"))
WAIT = float(os.environ.get("BTI_LOAD_WAIT", "0"))
SCENARIOS = Path(__file__).resolve().parent.parent / "municipalities"
NATIONAL = "national"

# municipality id → request bodies it accepts, and the same encoded as JSON once (so that the
# client's own work per request is sending and checking, not encoding: it shares the machine with
# the server in make load); filled once per locust process at test start
BODIES: dict[str, list[dict[str, Any]]] = {}
ENCODED: dict[str, list[bytes]] = {}
IDS: list[str] = []


def headers() -> dict[str, str]:
    key = os.environ.get("BTI_API_KEY", "")
    return {"Authorization": f"Bearer {key}"} if key else {}


def json_headers() -> dict[str, str]:
    return {**headers(), "Content-Type": "application/json", "Accept": "application/json"}


def _scenario_bodies() -> dict[str, list[dict[str, Any]]]:
    """The bundled scenario requests that are meant to be accepted, by the guide they belong to."""
    from toolkit.scenarios import discover  # the project's own loader (fixtures, extends)

    out: dict[str, list[dict[str, Any]]] = {}
    for scenario in discover(SCENARIOS):
        if "error" not in scenario.expect and isinstance(scenario.request, dict):
            out.setdefault(scenario.guide, []).append(scenario.request)
    return out


def _own_bodies() -> dict[str, list[dict[str, Any]]] | list[dict[str, Any]] | None:
    path = os.environ.get("BTI_LOAD_REQUESTS")
    if not path:
        return None
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict | list):
        raise SystemExit(f"{path}: a list of request bodies, or an object of them by municipality")
    return data


def _fits(body: dict[str, Any], settings: dict[str, Any]) -> bool:
    """Whether a national request suits another guide: its age range admits the subject, and the
    request names no pathway step (step ids are the national pathway's; a guide with its own
    pathway answers 422 to them, as it should)."""
    if isinstance(body.get("status"), dict) and body["status"].get("step") is not None:
        return False
    subject = body.get("subject") or {}
    kind, age = subject.get("kind"), subject.get("age")
    if not isinstance(age, int):
        return False
    lo, hi = ((settings.get("child_age_min", 0), settings.get("child_age_max", 25)) if kind == "child"
              else (settings.get("pregnant_age_min", 12), settings.get("pregnant_age_max", 55)))
    return bool(lo <= age <= hi)


def choose_bodies(host: str) -> dict[str, list[dict[str, Any]]]:
    """Ask the service which municipalities it serves and give each the bodies it accepts."""
    session = requests.Session()
    session.headers.update(headers())
    listed = session.get(f"{host}/v1/municipalities", timeout=30)
    listed.raise_for_status()
    ids = [m["id"] for m in listed.json()["municipalities"]]
    wanted = [m.strip() for m in os.environ.get("BTI_LOAD_MUNICIPALITIES", "").split(",") if m.strip()]
    if wanted:
        unknown = sorted(set(wanted) - set(ids))
        if unknown:
            raise SystemExit(f"the service does not serve {', '.join(unknown)}")
        ids = wanted
    elif len(ids) > 1:
        ids = [m for m in ids if m != NATIONAL]
    own = _own_bodies()
    bundled = _scenario_bodies() if own is None else {}
    chosen: dict[str, list[dict[str, Any]]] = {}
    for mid in ids:
        if isinstance(own, list):
            chosen[mid] = own
            continue
        if isinstance(own, dict):
            if own.get(mid):
                chosen[mid] = own[mid]
            continue
        info = session.get(f"{host}/v1/municipalities/{mid}", timeout=30)
        info.raise_for_status()
        settings = info.json().get("settings", {})
        bodies = list(bundled.get(mid, [])) if mid != NATIONAL else []
        bodies += [b for b in bundled.get(NATIONAL, []) if _fits(b, settings)]
        if bodies:
            chosen[mid] = bodies
    if not chosen:
        raise SystemExit("no request bodies for any municipality (see BTI_LOAD_REQUESTS)")
    return chosen


@events.test_start.add_listener
def _prepare(environment: Any, **kwargs: Any) -> None:
    if PROFILE == "decisions" and not BODIES and environment.host:
        BODIES.update(choose_bodies(environment.host.rstrip("/")))
        ENCODED.update({mid: [_dumps(body) for body in bodies] for mid, bodies in BODIES.items()})
        IDS.extend(BODIES)


class DecisionUser(FastHttpUser):
    """A client system of the municipalities: mostly single decisions, some batches, some reads."""

    abstract = PROFILE != "decisions"
    wait_time = constant(WAIT)

    def _pick(self) -> tuple[str, list[bytes]]:
        mid = random.choice(IDS)
        return mid, ENCODED[mid]

    @tag("decision")
    @task(16)
    def decision(self) -> None:
        mid, bodies = self._pick()
        with self.client.post(f"/v1/municipalities/{mid}/decisions", data=random.choice(bodies), headers=json_headers(),
                              name="POST /v1/municipalities/[id]/decisions", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}: {response.text[:200]}")
            elif "level" not in (_loads(response.content or b"null") or {}):
                response.failure("no level in the decision")

    @tag("batch")
    @task(1)
    def batch(self) -> None:
        mid, bodies = self._pick()
        body = b'{"cases":[' + b",".join(random.choices(bodies, k=BATCH_SIZE)) + b"]}"
        with self.client.post(f"/v1/municipalities/{mid}/decisions/batch", data=body,
                              headers=json_headers(), name="POST /v1/municipalities/[id]/decisions/batch",
                              catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}: {response.text[:200]}")
                return
            results = (_loads(response.content or b"null") or {}).get("decisions", [])
            refused = [r for r in results if "decision" not in r]
            if len(results) != BATCH_SIZE or refused:
                response.failure(f"{len(refused)} of {BATCH_SIZE} cases refused: {str(refused[:1])[:200]}")

    @tag("read")
    @task(1)
    def catalog(self) -> None:
        self.client.get("/v1/catalog", name="GET /v1/catalog")

    @tag("read")
    @task(1)
    def municipalities(self) -> None:
        self.client.get("/v1/municipalities", name="GET /v1/municipalities")

    @tag("read")
    @task(1)
    def municipality(self) -> None:
        mid, _ = self._pick()
        self.client.get(f"/v1/municipalities/{mid}", name="GET /v1/municipalities/[id]")


class HealthzUser(FastHttpUser):
    """The same load shape on ``/healthz``: what the server and this client manage with no work."""

    abstract = PROFILE != "healthz"
    wait_time = constant(WAIT)

    @tag("healthz")
    @task
    def healthz(self) -> None:
        self.client.get("/healthz", name="GET /healthz")
