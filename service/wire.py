"""A decision as the JSON object of docs/api.md, built by hand rather than by
``DecisionSchema.dump`` (which cost about 120 µs a decision, a third of the whole path; the schema
still defines the response for the OpenAPI document, and tests/test_http.py checks the two agree).

Two forms of one shape:

- :func:`present` gives a fresh ``dict`` (the embedding API's ``Decider.decide``; a caller may
  change it without touching anyone else's decision);
- :func:`present_json` gives the UTF-8 JSON bytes the endpoint sends. A decision's entries (its
  steps, actors, forbidden actions, explanation and pathway) come from the guide's own tables
  (``rules.resolve.Outputs``), made once and reused, so each entry is encoded once too and kept
  beside the entry; a decision is then its few own values around those pieces. tests/test_wire.py
  checks the two forms give the same JSON for every scenario.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import orjson

from rules.decision import (
    ActorOut,
    ContactOut,
    Decision,
    ExplanationOut,
    ForbiddenOut,
    PathwayOut,
    StepOut,
)


def _actor(a: ActorOut) -> dict[str, Any]:
    return {"service": a.service, "role": a.role, "label": a.label}


def _contact(contact: ContactOut | None) -> dict[str, Any] | None:
    return None if contact is None else {"label": contact.label, "phone": contact.phone, "url": contact.url}


def _step(s: StepOut) -> dict[str, Any]:
    return {"code": s.code, "kind": s.kind, "text": s.text, "legal_basis": list(s.legal_basis),
            "guidance": list(s.guidance), "due_days": s.due_days, "contact": _contact(s.contact)}


def _forbidden(f: ForbiddenOut) -> dict[str, Any]:
    return {"code": f.code, "text": f.text, "legal_basis": list(f.legal_basis), "guidance": list(f.guidance)}


def _explanation(e: ExplanationOut) -> dict[str, Any]:
    return {"rule": e.rule, "title": e.title, "because": e.because, "signals": list(e.signals)}


def _pathway(pathway: PathwayOut) -> dict[str, Any]:
    return {
        "level": pathway.level, "title": pathway.title, "paused": pathway.paused,
        "steps": [{"id": s.id, "number": s.number, "title": s.title, "text": s.text,
                   "who": [_actor(a) for a in s.who],
                   "due_days": s.due_days, "due_from": s.due_from,
                   "tools": [{"id": t.id, "title": t.title, "url": t.url} for t in s.tools],
                   "outcomes": [{"when": o.when, "go": o.go, "step": o.step, "text": o.text} for o in s.outcomes],
                   "status": s.status} for s in pathway.steps],
        "teams": [{"service": t.service, "label": t.label, "text": t.text, "url": t.url} for t in pathway.teams],
    }


def _body(decision: Decision, decided_id: str, entry: Callable[[Any, Callable[[Any], Any]], Any]) -> dict[str, Any]:
    """The response object, each entry given by ``entry(value, build)``."""
    consent = decision.consent
    return {
        "decision_id": decided_id,
        "municipality": decision.municipality,
        "ruleset": {"version": decision.version, "digest": decision.digest, "status": decision.status},
        "lang": decision.lang,
        "level": decision.level,
        "level_name": decision.level_name,
        "urgent": decision.urgent,
        "actors": [entry(a, _actor) for a in decision.actors],
        "steps": [entry(s, _step) for s in decision.steps],
        "forbidden": [entry(f, _forbidden) for f in decision.forbidden],
        "consent": {"required_from": consent.required_from, "satisfied": consent.satisfied,
                    "blocks_level": consent.blocks_level},
        "explanation": [entry(e, _explanation) for e in decision.explanation],
        "pathway": None if decision.pathway is None else entry(decision.pathway, _pathway),
    }


def decision_id() -> str:
    """A random UUID, version 4, as 32 hex digits: what ``uuid.uuid4().hex`` gives, without
    making the UUID object (a third of its cost)."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 9562 variant
    return raw.hex()


def _fresh(value: Any, build: Callable[[Any], Any]) -> Any:
    return build(value)


def present(decision: Decision, decided_id: str | None = None) -> dict[str, Any]:
    """The decision as a fresh JSON object (nothing in it is shared with another decision);
    ``decided_id`` its ``decision_id``, a new one unless given."""
    return _body(decision, decided_id or decision_id(), _fresh)


T = TypeVar("T")
FRAGMENTS_LIMIT = 8192  # entries kept (some MB at most); emptied when full
# id(entry) → (the entry, its JSON): the entry is kept alive with its JSON, so its id is not reused
_fragments: dict[int, tuple[object, orjson.Fragment]] = {}


def _encoded(value: T, build: Callable[[T], Any]) -> orjson.Fragment:
    found = _fragments.get(id(value))
    if found is not None and found[0] is value:
        return found[1]
    fragment = orjson.Fragment(orjson.dumps(build(value)))
    if len(_fragments) >= FRAGMENTS_LIMIT:
        _fragments.clear()
    _fragments[id(value)] = (value, fragment)
    return fragment


def present_json(decision: Decision, decided_id: str | None = None, newline: bool = False) -> bytes:
    """The decision as the endpoint sends it: compact UTF-8 JSON (``newline``: with the final
    newline of the API's responses), the same text as ``orjson.dumps(present(...))``."""
    body = _body(decision, decided_id or decision_id(), _encoded)
    return orjson.dumps(body, option=orjson.OPT_APPEND_NEWLINE if newline else 0)


def as_fragment(encoded: bytes) -> orjson.Fragment:
    """JSON bytes of :func:`present_json` to put inside a larger response (a batch)."""
    return orjson.Fragment(encoded)
