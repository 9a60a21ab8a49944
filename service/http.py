"""HTTP plumbing shared by the views: the error envelope, language negotiation and reading a
JSON body strictly (content type, size, UTF-8, duplicate keys, NaN).

    ApiError            an error response in the envelope of docs/api.md, Errors, with an ErrorCode
"""

from __future__ import annotations

import json
from typing import Any

from flask import Request, g
from werkzeug.datastructures import LanguageAccept

import i18n
from i18n import DEFAULT_LANGUAGE
from rules.messages import closest, field_path, flatten
from schemas.errors import ErrorCode
from schemas.i18n import Msg, localise, render
from schemas.privacy import redact

MAX_BODY = 1024 * 1024  # 1 MiB
# ISO 639 codes a client may send for a language the service speaks under another code
_LANG_ALIASES = {"no": "nb", "nob": "nb", "nno": "nn", "eng": "en", "sme": "se"}


class ApiError(Exception):
    """An error response: a stable code (its status by default), message parameters, field details."""

    def __init__(self, code: ErrorCode, *, status: int | None = None, message_key: str | None = None,
                 details: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None,
                 **params: Any) -> None:
        super().__init__(code)
        self.code = ErrorCode(code)
        self.status = status or self.code.status
        self.message_key = message_key or self.code.value
        self.params = params
        self.details = details or []
        self.headers = headers or {}

    def body(self, lang: str) -> dict[str, Any]:
        details = [
            {"field": d["field"], "message": localise(d["message"], lang), "suggestions": list(d["suggestions"])[:3]}
            for d in self.details
        ]
        return {"error": {"code": self.code.value, "message": render(self.message_key, lang, **self.params),
                          "details": details}}


def details_from(messages: Any, prefix: str = "") -> list[dict[str, Any]]:
    """Marshmallow's nested messages as envelope details with ``a.b[1].c`` field paths."""
    return [{"field": field_path(path, prefix), "message": message, "suggestions": suggestions}
            for path, message, suggestions in flatten(messages)]


# --- language ------------------------------------------------------------------------------


def accept_language(accepted: LanguageAccept) -> str:
    """The best supported language in a parsed Accept-Language header, else nb.

    Werkzeug has parsed it (``request.accept_languages``): items ordered by q-value, ties in the
    client's order, an item with an invalid q left out. A region or script is ignored (``nb-NO``
    is ``nb``), ``no`` is bokmål, and q=0 means "not this one".
    """
    for value, quality in accepted:
        primary = value.partition(";")[0].strip().lower().split("-")[0]
        lang = _LANG_ALIASES.get(primary, primary)
        if quality > 0 and lang in i18n.LANGUAGES:
            return lang
    return DEFAULT_LANGUAGE


def negotiate_language(req: Request) -> tuple[str, list[dict[str, Any]]]:
    """(language, problems): ``?lang=`` wins; an unsupported value is a problem, not a fallback."""
    fallback = accept_language(req.accept_languages)
    if "lang" in req.args:
        value = req.args.get("lang", "")
        if value in i18n.LANGUAGES:
            return value, []
        return fallback, [{"field": "lang", "message": Msg("lang", languages=", ".join(i18n.LANGUAGES)),
                           "suggestions": closest(value, i18n.LANGUAGES)}]
    return fallback, []


def current_language() -> str:
    return str(getattr(g, "lang", DEFAULT_LANGUAGE))


# --- JSON bodies ---------------------------------------------------------------------------


def _media_type_ok(content_type: str | None) -> bool:
    if not content_type:
        return False
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    if not (media == "application/json" or (media.startswith("application/") and media.endswith("+json"))):
        return False
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            if _has_lone_surrogate(key):
                raise ApiError(ErrorCode.MALFORMED_JSON, reason=render_reason("reason_surrogate"))
            raise ApiError(ErrorCode.MALFORMED_JSON, reason=render_reason("reason_duplicate_key", key=redact(key)))
        out[key] = value
    return out


def render_reason(message_key: str, **params: Any) -> str:
    return render(message_key, current_language(), **params)


def _no_constants(value: str) -> Any:
    raise ApiError(ErrorCode.MALFORMED_JSON, reason=render_reason("reason_constant", value=value))


def read_json(req: Request, limit: int = MAX_BODY) -> Any:
    """The request's JSON body, or ApiError 415 / 413 / 400 in the order of docs/api.md, Errors."""
    if not _media_type_ok(req.headers.get("Content-Type")):
        raise ApiError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, got=redact(req.headers.get("Content-Type") or "-"))
    if req.content_length is not None and req.content_length > limit:
        raise ApiError(ErrorCode.PAYLOAD_TOO_LARGE, limit=limit)
    raw = req.stream.read(limit + 1)
    if len(raw) > limit:
        raise ApiError(ErrorCode.PAYLOAD_TOO_LARGE, limit=limit)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(ErrorCode.MALFORMED_JSON, reason=render_reason("reason_utf8")) from None
    if not text.strip():
        raise ApiError(ErrorCode.MALFORMED_JSON, reason=render_reason("reason_empty"))
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        reason = render_reason("reason_syntax", line=exc.lineno, column=exc.colno)
        raise ApiError(ErrorCode.MALFORMED_JSON, reason=reason) from None
    except ValueError:  # an integer of more than 4300 digits
        raise ApiError(ErrorCode.MALFORMED_JSON, reason=render_reason("reason_number")) from None
    except RecursionError:
        raise ApiError(ErrorCode.MALFORMED_JSON, reason=render_reason("reason_nesting")) from None
    if "\\u" in text and _has_lone_surrogate(value):  # only a \uD800-style escape can make one
        raise ApiError(ErrorCode.MALFORMED_JSON, reason=render_reason("reason_surrogate"))
    return value


def _has_lone_surrogate(value: Any) -> bool:
    """A string that is not valid Unicode (a lone UTF-16 surrogate from a \\u escape)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
