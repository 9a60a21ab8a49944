"""The playground's own way to decisions: ``POST /municipalities/<id>/try/decisions``.

With API keys on (the production setting) the page cannot call the decision API: it has no key,
and a key in a public page would be no key at all. So the playground asks this route, which needs
no key but answers only the page itself (docs/operations.md, The playground):

- the page carries a token, an HMAC of the guide id and the time the page was served, which this
  route checks (valid for ``TOKEN_SECONDS``); the secret is the same in every worker and replica:
  ``BTI_PLAYGROUND_SECRET``, else one derived from the configured key hashes;
- a browser's ``Sec-Fetch-Site`` header, when sent, must say ``same-origin``;
- one case at a time (no batch), with the API's body limit, validation and error envelope;
- ``BTI_PLAYGROUND=off`` turns it off; the page then says so instead of deciding.

Whoever can open the page can try cases, with keys on as with keys off; nothing else gets keyless
decisions. Refusals are 403 ``forbidden`` with a message that says what to do (reload the page).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from flask import Blueprint, Flask, current_app, request

from schemas.decision import DecisionSchema
from schemas.errors import ErrorCode
from schemas.i18n import api_key
from schemas.request import DecisionRequestSchema
from service.api import DECISION_ERRORS, EXAMPLE, decide_request
from service.http import ApiError
from service.openapi import documented

playground = Blueprint("playground", __name__)
TOKEN_HEADER = "X-Playground-Token"
TOKEN_SECONDS = 12 * 3600  # a page left open through a working day still answers


def enabled(app: Flask) -> bool:
    return str(app.config.get("BTI_PLAYGROUND", "on")).strip().lower() not in ("off", "0", "false", "no")


def _secret(app: Flask) -> bytes:
    configured = str(app.config.get("BTI_PLAYGROUND_SECRET") or "")
    if configured:
        return configured.encode()
    hashes = sorted({*app.config["BTI_API_KEY_HASHES"], *app.config["BTI_ADMIN_KEY_HASHES"]})
    return hashlib.sha256("\0".join(["bti-playground", *hashes]).encode()).digest()


def _signature(app: Flask, guide_id: str, issued: int) -> str:
    return hmac.new(_secret(app), f"{guide_id}\0{issued}".encode(), hashlib.sha256).hexdigest()


def issue_token(app: Flask, guide_id: str, now: float | None = None) -> str:
    """The token a playground page for ``guide_id`` carries."""
    issued = int(time.time() if now is None else now)
    return f"{issued}.{_signature(app, guide_id, issued)}"


def token_valid(app: Flask, guide_id: str, token: str, now: float | None = None) -> bool:
    issued_text, _, signature = token.partition(".")
    if not issued_text.isdigit() or len(issued_text) > 12:
        return False
    issued = int(issued_text)
    age = (time.time() if now is None else now) - issued
    return -60 <= age <= TOKEN_SECONDS and hmac.compare_digest(signature, _signature(app, guide_id, issued))


@playground.post("/municipalities/<municipality>/try/decisions")
@documented(operation_id="playgroundDecide", summary="Decide one case for the playground page (no API key)",
            tag="pages", response=DecisionSchema, description="The decision", body=DecisionRequestSchema,
            example=EXAMPLE, languages=True, errors=(*DECISION_ERRORS, ErrorCode.FORBIDDEN),
            parameters=({"name": TOKEN_HEADER, "in": "header", "required": True, "schema": {"type": "string"},
                         "description": "the token in the playground page (docs/operations.md, The playground)"},))
def decide_for_page(municipality: str) -> Any:
    if not enabled(current_app):
        raise ApiError(ErrorCode.FORBIDDEN, message_key=api_key("playground_off"))
    if request.headers.get("Sec-Fetch-Site", "same-origin") != "same-origin":
        raise ApiError(ErrorCode.FORBIDDEN, message_key=api_key("playground_only"))
    if not token_valid(current_app, municipality, request.headers.get(TOKEN_HEADER, "")):
        raise ApiError(ErrorCode.FORBIDDEN, message_key=api_key("playground_token"))
    return decide_request(municipality)
