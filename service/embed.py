"""Deciding in-process, without HTTP: the embedding API of docs/api.md ("Embedding").

    from service.embed import Decider
    decider = Decider()                       # the bundled guides, or Decider("path/to/guides")
    decision = decider.decide("national", body, lang="nb")

``decide`` returns the same JSON object as ``POST /v1/municipalities/{id}/decisions`` (a fresh
``decision_id`` each call), ``decide_json`` it encoded as the endpoint sends it, and both go
through the same code as that endpoint: validation, the engine, the response. A request the
endpoint would refuse raises :class:`DecisionRefused`, which carries the error envelope and the
HTTP status the endpoint would answer with.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import i18n
from i18n import DEFAULT_LANGUAGE
from rules.case import Case
from rules.errors import BTIError
from rules.loader import Registry, load_registry
from rules.messages import closest
from rules.prepare import PreparedGuide
from schemas.i18n import Msg
from service.api import body_case, decide, decide_json
from service.http import ApiError, unknown_guide
from service.paths import BUNDLED

T = TypeVar("T")


class DecisionRefused(BTIError):
    """A request the HTTP endpoint would refuse: ``status`` is its HTTP status, ``envelope`` its
    error body (``{"error": {"code", "message", "details"}}``), ``code`` the error code."""

    def __init__(self, status: int, envelope: dict[str, Any]) -> None:
        self.status = status
        self.envelope = envelope
        self.code: str = envelope["error"]["code"]
        super().__init__(f"{status} {self.code}: {envelope['error']['message']}")


class Decider:
    """The guides of one folder (default: the bundled ones), loaded once, deciding cases."""

    def __init__(self, municipalities_dir: str | Path | None = None) -> None:
        self.registry: Registry = load_registry(Path(municipalities_dir) if municipalities_dir else BUNDLED)

    def decide(self, municipality: str, body: Any, lang: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
        """The decision for ``body`` (the parsed JSON of a request) by ``municipality``'s guide in
        ``lang``; raises :class:`DecisionRefused` where the endpoint answers with an error."""
        return self._decided(municipality, body, lang, decide)

    def decide_json(self, municipality: str, body: Any, lang: str = DEFAULT_LANGUAGE) -> bytes:
        """:meth:`decide`, encoded as the endpoint encodes it: the response body's UTF-8 JSON
        (without the endpoint's final newline)."""
        return self._decided(municipality, body, lang, decide_json)

    def _decided(self, municipality: str, body: Any, lang: str,
                 give: Callable[[PreparedGuide, Case, str], T]) -> T:
        problems: list[dict[str, Any]] = []
        message_lang = lang
        if lang not in i18n.LANGUAGES:  # as ?lang= over HTTP: a problem, listed with the body's
            message_lang = DEFAULT_LANGUAGE
            problems = [{"field": "lang", "message": Msg("lang", languages=", ".join(i18n.LANGUAGES)),
                         "suggestions": closest(lang, i18n.LANGUAGES)}]
        try:
            prepared = self.registry.prepared.get(municipality)
            if prepared is None:
                raise unknown_guide(municipality, self.registry.prepared, self.registry.errors)
            return give(prepared, body_case(prepared, body, problems), message_lang)
        except ApiError as exc:
            raise DecisionRefused(exc.status, exc.body(message_lang)) from None
