"""HTTP plumbing shared by the views: the error envelope, language negotiation and reading a
JSON body strictly (content type, size, UTF-8, duplicate keys, NaN).

    ApiError            an error response in the envelope of docs/api.md, Errors, with an ErrorCode
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from collections.abc import Container, Iterable
from typing import Any

import orjson
from flask import Request, g
from gunicorn.http.errors import ParseException
from werkzeug.datastructures import LanguageAccept
from werkzeug.serving import DechunkedInput

import i18n
from i18n import DEFAULT_LANGUAGE
from rules.messages import closest, field_path, flatten
from schemas.errors import ErrorCode
from schemas.i18n import Msg, localise, render
from schemas.privacy import excerpt

MAX_BODY = 1024 * 1024  # 1 MiB
DRAIN_LIMIT = 16 * MAX_BODY  # what is read (and discarded) of an oversized body before answering
DRAIN_SECONDS = 5.0
# what reading a body can raise when the client's transfer is broken (gunicorn's parser for chunks)
BODY_READ_ERRORS = (OSError, ValueError, ParseException)
# problems listed in one error; the rest are counted in a last detail ("and 9,900 more"), so
# that a body of ten thousand unknown keys does not get a response of megabytes
MAX_DETAILS = 100
_NORWEGIAN = str.maketrans({"æ": "ae", "ø": "o", "å": "a"})
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
        """The envelope in ``lang``: at most MAX_DETAILS problems, then one that counts the rest; a
        field path quotes at most 64 characters, as messages do (a key sent to us may be any size)."""
        details = [
            {"field": excerpt(d["field"]), "message": localise(d["message"], lang),
             "suggestions": list(d["suggestions"])[:3]}
            for d in self.details[:MAX_DETAILS]
        ]
        if len(self.details) > MAX_DETAILS:
            more = Msg("more_problems", count=len(self.details) - MAX_DETAILS)
            details.append({"field": "", "message": localise(more, lang), "suggestions": []})
        return {"error": {"code": self.code.value, "message": render(self.message_key, lang, **self.params),
                          "details": details}}


def details_from(messages: Any, prefix: str = "") -> list[dict[str, Any]]:
    """Marshmallow's nested messages as envelope details with ``a.b[1].c`` field paths; an unknown
    field is suggested the closest of the fields its object takes."""
    details = []
    for number, (path, message, suggestions) in enumerate(flatten(messages)):
        if (number < MAX_DETAILS and isinstance(message, Msg) and message.key == "unknown_field_of" and path
                and not suggestions):  # only the problems ApiError.body shows
            suggestions = tuple(closest(path[-1], str(message.params["valid"]).split(", ")))
        details.append({"field": field_path(path, prefix), "message": message, "suggestions": suggestions})
    return details


def unknown_guide(municipality: str, served: Iterable[str], failed: Container[str]) -> ApiError:
    """The error for a guide id that is not served: 503 when its files did not load (an operator's
    problem, not the client's), else 404 with the closest ids (``tromsø`` → ``tromso``)."""
    if municipality in failed:
        return ApiError(ErrorCode.GUIDE_UNAVAILABLE, id=excerpt(municipality))
    details = [{"field": "municipality", "message": Msg("unknown_id"),
                "suggestions": closest(_folded(municipality), list(served))}]
    return ApiError(ErrorCode.UNKNOWN_MUNICIPALITY, id=excerpt(municipality), details=details)


def _folded(text: str) -> str:
    """A municipality's name as its id is written: lower case, ASCII letters, underscores."""
    text = text.strip().lower().translate(_NORWEGIAN)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "_".join(part for part in "".join(c if c.isalnum() else " " for c in text).split())


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


# Accept-Language header → the language it gives: clients send the same few headers again and
# again, and werkzeug parses the header anew on every request (a tenth of a decision's HTTP overhead)
_accepted: dict[str, str] = {}
_ACCEPTED_LIMIT = 512


def _header_language(req: Request) -> str:
    header = req.headers.get("Accept-Language", "")
    lang = _accepted.get(header)
    if lang is None:
        lang = accept_language(req.accept_languages)
        if len(_accepted) >= _ACCEPTED_LIMIT:
            _accepted.clear()
        _accepted[header] = lang
    return lang


def negotiate_language(req: Request) -> tuple[str, list[dict[str, Any]]]:
    """(language, problems): ``?lang=`` wins; an unsupported value is a problem, not a fallback."""
    fallback = _header_language(req)
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
            raise ApiError(ErrorCode.MALFORMED_JSON, reason=render_reason("reason_duplicate_key", key=excerpt(key)))
        out[key] = value
    return out


def render_reason(message_key: str, **params: Any) -> str:
    return render(message_key, current_language(), **params)


def _no_constants(value: str) -> Any:
    raise ApiError(ErrorCode.MALFORMED_JSON, reason=render_reason("reason_constant", value=value))


def read_json(req: Request, limit: int = MAX_BODY) -> Any:
    """The request's JSON body, or ApiError 415 / 413 / 400 in the order of docs/api.md, Errors."""
    if not _media_type_ok(req.headers.get("Content-Type")):
        raise ApiError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, got=excerpt(req.headers.get("Content-Type") or "-"))
    if req.content_length is not None and req.content_length > limit:
        raise ApiError(ErrorCode.PAYLOAD_TOO_LARGE, limit=limit)
    try:
        raw = read_body(req.stream, limit + 1)
    except BODY_READ_ERRORS:  # e.g. a chunked body with a bad chunk size: the client's transfer is broken
        raise ApiError(ErrorCode.BAD_REQUEST) from None
    if len(raw) > limit:
        raise ApiError(ErrorCode.PAYLOAD_TOO_LARGE, limit=limit)
    value = _quick_json(raw)
    if value is not _DECLINED:
        return value
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


_DECLINED = object()
QUICK_BRACKETS = 512
_LONG_DIGITS = re.compile(rb"[0-9]{19}")


def _quick_json(raw: bytes) -> Any:
    """``raw`` parsed by orjson when that gives exactly what the strict reader below gives, else
    ``_DECLINED`` (the strict reader then parses it, and words any refusal).

    orjson refuses what the strict reader refuses (invalid UTF-8, NaN and Infinity, a number that
    is infinite as a double, a lone surrogate, nesting deeper than the strict reader manages) and
    parses numbers to the same values, except an integer below -2**63, which it makes a float: a
    run of 19 digits is declined. It nests up to 1,024 deep, the strict reader as deep as the
    interpreter's recursion limit leaves room for: more than QUICK_BRACKETS brackets is declined.
    It keeps the last of a duplicated key silently: a duplicate is
    found by counting object members. Every ``:`` in the text separates a member or lies inside a
    string, and without ``\\u`` escapes (declined) a string's colons are those of its parsed
    value; so the text's colons minus the parsed strings' colons is the parsed objects' members
    exactly when no key was given twice, and more otherwise."""
    if b"\\u" in raw or _LONG_DIGITS.search(raw) or raw.count(b"[") + raw.count(b"{") > QUICK_BRACKETS:
        return _DECLINED
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _DECLINED
    members = colons = 0
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            members += len(item)
            for key, member in item.items():
                colons += key.count(":")
                stack.append(member)
        elif kind is list:
            stack.extend(item)
        elif kind is str:
            colons += item.count(":")
    return value if raw.count(b":") - colons == members else _DECLINED


def read_body(stream: Any, size: int) -> bytes:
    """Up to ``size`` bytes of a request body. A chunked body under werkzeug's development server
    is read into a fixed buffer: given the bytearray ``RawIOBase.read`` passes, its ``readinto``
    shrinks it when a chunk ends before its declared size, and ``read`` then copies past the
    buffer's end (a segmentation fault of the whole process, seen with a chunk size of 70,000
    digits). A fixed buffer refuses the short chunk with a ValueError instead: 400."""
    if not isinstance(stream, DechunkedInput):
        return bytes(stream.read(size))
    buffer = bytearray(size)
    total = 0
    with memoryview(buffer) as view:
        while total < size:
            got = stream.readinto(view[total:])  # type: ignore[arg-type]  # typed as bytearray, takes any buffer
            if not got:
                break
            total += got
    return bytes(buffer[:total])


def drain_body(req: Request, limit: int = DRAIN_LIMIT, seconds: float = DRAIN_SECONDS) -> bool:
    """Read and discard what is left of the request's body (up to ``limit`` bytes and ``seconds``),
    so that a client still sending it (one that does not wait for ``100 Continue``, like urllib)
    reads the answer instead of a reset connection. False when something was left unread."""
    if req.content_length is not None and req.content_length > limit:
        return False  # not worth reading: the connection is closed with the answer
    deadline = time.monotonic() + seconds
    total = 0
    try:
        while chunk := read_body(req.stream, 64 * 1024):
            total += len(chunk)
            if total > limit or time.monotonic() > deadline:
                return False
    except BODY_READ_ERRORS:
        return False
    return True


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
