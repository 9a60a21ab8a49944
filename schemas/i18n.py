"""Messages of the HTTP API, in the response language (the ``api`` catalogues of :mod:`i18n`).

Validation raises :class:`Msg` (a key and its parameters); the error envelope renders it in the
response language. Marshmallow's own English messages are mapped to keys here too.
"""

from __future__ import annotations

from typing import Any

import i18n
from rules.messages import Suggesting


def api_key(key: str) -> str:
    """Mark ``key`` as an API message key where it is not the first argument of ``Msg``/``render``."""
    return key


# marshmallow's default messages → our keys
_MARSHMALLOW = {
    "Unknown field.": api_key("unknown_field"),
    "Missing data for required field.": api_key("required"),
    "Field may not be null.": api_key("null"),
    "Not a valid integer.": api_key("integer"),
    "Not a valid boolean.": api_key("boolean"),
    "Not a valid string.": api_key("string"),
    "Invalid input type.": api_key("object"),
    "Not a valid list.": api_key("list"),
    "Invalid value.": api_key("invalid"),
    "batch_cases": api_key("batch_cases"),
}


class Msg(Suggesting):
    """A message key with parameters (and suggestions), rendered per language."""

    key: str
    params: dict[str, Any]

    def __new__(cls, message_key: str, suggestions: tuple[str, ...] | list[str] = (), **params: Any) -> Msg:
        obj = super().__new__(cls, render(message_key, "en", **params), suggestions)
        assert isinstance(obj, Msg)
        obj.key = message_key
        obj.params = params
        return obj


def render(message_key: str, lang: str, /, **params: Any) -> str:
    """The API message ``message_key`` in ``lang``, ``{params}`` filled in."""
    return i18n.text(message_key, lang, domain="api", **params)


def localise(message: str, lang: str) -> str:
    """A validation message in ``lang``: a Msg by its key, marshmallow's by our mapping."""
    if isinstance(message, Msg):
        return render(message.key, lang, **message.params)
    key = _MARSHMALLOW.get(str(message))
    if key:
        return render(key, lang)
    if str(message).startswith("Length must be between"):
        return render("length", lang, min=1, max=50)
    return str(message)
