"""Messages of the HTTP API, in the response language (the ``api`` catalogues of :mod:`i18n`).

Validation raises :class:`Msg` (a key and its parameters); the error envelope renders it in the
response language. Marshmallow's own English messages are mapped to keys here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import i18n
from rules.messages import Keyed
from rules.model import Text


def api_key(key: str) -> str:
    """Mark ``key`` as an API message key where it is not the first argument of ``Msg``/``render``."""
    return key


# the keys rules.messages gives marshmallow's own messages (named here for `make translations`)
MARSHMALLOW_KEYS = (api_key("unknown_field"), api_key("required"), api_key("null"), api_key("invalid"),
                    api_key("integer"), api_key("number"), api_key("boolean"), api_key("string"),
                    api_key("list"), api_key("object"))


class Msg(Keyed):
    """An API message: a key of the ``api`` catalogues with its parameters (and suggestions),
    rendered in the response language; as a string it is the English text."""

    def __new__(cls, message_key: str, suggestions: Iterable[str] = (), **params: Any) -> Msg:
        try:
            english = render(message_key, "en", **params)
        except KeyError:  # a validator's message whose {min} and {max} it fills in: error=Msg("length")
            english = message_key
        return super().__new__(cls, message_key, english, suggestions, **params)

    def format(self, *args: object, **kwargs: Any) -> Msg:
        """Parameters filled in by marshmallow (a validator's ``{min}``, ``{max}``) join the key's."""
        return Msg(self.key, self.suggestions, **{**self.params, **kwargs})


def render(message_key: str, lang: str, /, **params: Any) -> str:
    """The API message ``message_key`` in ``lang``, ``{params}`` filled in (a guide's label in ``lang``)."""
    values = {name: value.in_lang(lang) if isinstance(value, Text) else value for name, value in params.items()}
    return i18n.text(message_key, lang, domain="api", **values)


def localise(message: str, lang: str) -> str:
    """A validation message in ``lang``, by its key (a message without one is shown as it is)."""
    if isinstance(message, Keyed) and i18n.has(message.key, domain="api"):
        return render(message.key, lang, **message.params)
    return str(message)
