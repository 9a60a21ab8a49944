"""Optional API keys. ``BTI_API_KEYS`` (comma-separated SHA-256 hashes of the keys, as
``bti key-hash`` prints them) protects the decision endpoints; ``BTI_ADMIN_KEY`` (a hash too)
protects ``/v1/status``. Both unset (as for ``make run``): everything is open. Keys come in
``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; the service keeps only hashes."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from flask import Request

from schemas.errors import ErrorCode
from service.http import ApiError


def key_hash(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_hashes(value: str | None) -> tuple[str, ...]:
    """``sha256:<hex>`` or a bare hex digest, comma-separated; normalised to ``sha256:<hex>``."""
    out = []
    for item in (value or "").split(","):
        item = item.strip().lower()
        if item:
            out.append(item if item.startswith("sha256:") else f"sha256:{item}")
    return tuple(out)


def presented_key(request: Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return request.headers.get("X-API-Key") or None


def _matches(key: str, hashes: Iterable[str]) -> bool:
    digest = key_hash(key)
    return any(hmac.compare_digest(digest, h) for h in hashes)


def require(request: Request, allowed: tuple[str, ...], others: tuple[str, ...] = ()) -> None:
    """401 without a valid key; 403 with a key valid only elsewhere (``others``)."""
    if not allowed:
        return
    key = presented_key(request)
    if key is None:
        raise ApiError(ErrorCode.UNAUTHORIZED, headers={"WWW-Authenticate": 'Bearer realm="bti"'})
    if _matches(key, allowed):
        return
    if _matches(key, others):
        raise ApiError(ErrorCode.FORBIDDEN)
    raise ApiError(ErrorCode.UNAUTHORIZED, headers={"WWW-Authenticate": 'Bearer realm="bti"'})
