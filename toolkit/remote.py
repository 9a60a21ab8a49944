"""Run scenarios against a running service (``bti test --url``), so a test team can check a
deployed instance with the same suites."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from toolkit.scenarios import Outcome, Scenario, compare_decision, compare_error


class RemoteError(Exception):
    """The service at the URL could not be reached or did not answer as the API does."""


def summary_from_json(body: dict[str, Any]) -> dict[str, Any]:
    """The comparable fields of a decision as the API returns it (as decision_summary gives them)."""
    return {
        "level": body["level"],
        "urgent": body["urgent"],
        "level_name": body["level_name"],
        "steps": [s["code"] for s in body["steps"]],
        "forbidden": [f["code"] for f in body["forbidden"]],
        "actors": [f"{a['service']}:{a['role']}" for a in body["actors"]],
        "consent": dict(body["consent"]),
        "legal_basis": {e["code"]: e["legal_basis"] for e in [*body["steps"], *body["forbidden"]]},
        "guidance": {e["code"]: e["guidance"] for e in [*body["steps"], *body["forbidden"]]},
        "pathway": _pathway(body.get("pathway")),
        "error": None,
    }


def _pathway(pathway: dict[str, Any] | None) -> dict[str, Any] | None:
    if pathway is None:
        return None
    steps = pathway["steps"]
    return {
        "level": pathway["level"], "paused": pathway["paused"], "steps": [s["id"] for s in steps],
        "next": next((s["id"] for s in steps if s["status"] == "next"), None),
        "current": next((s["id"] for s in steps if s["status"] == "current"), None),
        "due_days": {s["id"]: s["due_days"] for s in steps},
    }


def run_remote(base_url: str, scenario: Scenario, timeout: float = 30.0) -> Outcome:
    outcome = Outcome(scenario)
    query = urllib.parse.urlencode({"lang": scenario.lang})
    url = f"{base_url.rstrip('/')}/v1/municipalities/{urllib.parse.quote(scenario.guide)}/decisions?{query}"
    request = urllib.request.Request(url, data=json.dumps(scenario.request).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        try:
            payload = json.loads(exc.read().decode("utf-8") or "{}")
            fields = sorted({d["field"] for d in payload.get("error", {}).get("details", [])})
        except (ValueError, KeyError, TypeError, AttributeError):
            raise RemoteError(f"{url} answered {exc.code} without the API's error envelope") from None
        return compare_error(outcome, exc.code, fields)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise RemoteError(f"cannot reach {base_url}: {reason}") from None
    except ValueError:
        raise RemoteError(f"{url} did not answer with JSON") from None
    fired = tuple(e["rule"] for e in body["explanation"])
    outcome.legal_bases = tuple(dict.fromkeys(b for s in body["steps"] for b in s["legal_basis"]))
    return compare_decision(outcome, summary_from_json(body), fired)
