"""Validation messages that carry "did you mean" suggestions and a key, and flattening of
marshmallow's nested error dicts into (path, message, suggestions) rows.

Every message marshmallow gives is named by a key (:class:`Keyed`, through :class:`KeyedSchema`),
so no code matches a message by its English words: the rule loader tells an unknown key by
``message.key == "unknown_field"``, and the HTTP API translates by the same keys (``api`` catalogues).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Self

from marshmallow import Schema, fields


class Suggesting(str):
    """A validation message with up to three close valid values attached."""

    suggestions: tuple[str, ...]

    def __new__(cls, message: str, suggestions: Iterable[str] = ()) -> Self:
        obj = super().__new__(cls, message)
        obj.suggestions = tuple(suggestions)[:3]
        return obj


class Keyed(Suggesting):
    """A message named by ``key``, with its parameters; its text is marshmallow's (or the rule
    language's) English, which the HTTP layer replaces by the key's translation."""

    key: str
    params: dict[str, Any]

    def __new__(cls, key: str, text: str, suggestions: Iterable[str] = (), **params: Any) -> Self:
        obj = super().__new__(cls, text, suggestions)
        obj.key, obj.params = key, params
        return obj

    def format(self, *args: object, **kwargs: Any) -> Self:
        """marshmallow fills in a message with ``str.format``: the result keeps the key."""
        return type(self)(self.key, str.format(self, *args, **kwargs), self.suggestions, **{**self.params, **kwargs})


# marshmallow's error names → message keys; "invalid" depends on the kind of field
_ERROR_KEYS = {"required": "required", "null": "null", "validator_failed": "invalid", "type": "object"}
_INVALID_KEYS: tuple[tuple[type[fields.Field], str], ...] = (
    (fields.Boolean, "boolean"), (fields.Integer, "integer"), (fields.Number, "number"), (fields.String, "string"),
    (fields.List, "list"), (fields.Mapping, "object"), (fields.Nested, "object"),
)


def key_messages(field: fields.Field) -> None:
    """Name each of marshmallow's messages for ``field`` (and its list items) by a key."""
    invalid = next((key for kind, key in _INVALID_KEYS if isinstance(field, kind)), "invalid")
    field.error_messages = {
        name: message if isinstance(message, Keyed) or not isinstance(message, str)
        else Keyed(invalid if name == "invalid" else _ERROR_KEYS.get(name, name), message)
        for name, message in field.error_messages.items()}
    inner = getattr(field, "inner", None)
    if isinstance(inner, fields.Field):
        key_messages(inner)


class KeyedSchema(Schema):
    """A schema whose every message (its own and its fields') carries a key."""

    error_messages: dict[str, str] = {  # noqa: RUF012 (marshmallow merges it into each instance's)
        "unknown": Keyed("unknown_field", "Unknown field."),
        "type": Keyed("object", "Invalid input type."),
    }

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        key_messages(field_obj)


def closest(value: object, valid: Iterable[str], n: int = 3) -> list[str]:
    """The valid codes closest to ``value`` (for an unknown code), best first."""
    if not isinstance(value, str):
        return []
    valid = list(valid)
    found = difflib.get_close_matches(value, valid, n=n, cutoff=0.6)
    if not found:  # a prefix or a part of the word is a good hint too ("school" → school_health)
        found = [v for v in valid if value and (v.startswith(value) or value in v)][:n]
    return found


def _words(label: str) -> list[str]:
    return [w for w in re.split(r"[^\w]+", label.lower()) if len(w) > 2]


def closest_labelled(value: object, labels: Mapping[str, Iterable[str]], n: int = 3) -> list[str]:
    """The codes closest to ``value``, which may be a code or a word of a code's label in any
    language: a label or a word of one that is ``value`` first, then codes close to it, then labels
    and words close to it; each code once, in ``labels``' order within a rank."""
    if not isinstance(value, str) or not value.strip():
        return []
    wanted = value.strip().lower()
    whole: dict[str, list[str]] = {}  # a label (before any parenthesis) → its codes
    words: dict[str, list[str]] = {}
    for code, texts in labels.items():
        for label in texts:
            whole.setdefault(label.split("(")[0].strip().lower(), []).append(code)
            for word in _words(label):
                words.setdefault(word, []).append(code)
    ranked = [*whole.get(wanted, []), *words.get(wanted, []), *closest(value, labels, n)]
    for near in difflib.get_close_matches(wanted, [*whole, *words], n=n, cutoff=0.75):
        ranked += whole.get(near, []) + words.get(near, [])
    return list(dict.fromkeys(ranked))[:n]


def unknown_code(kind: str, value: object, valid: Iterable[str]) -> Suggesting:
    valid = list(valid)
    return Suggesting(f"unknown {kind} {value!r}", closest(value, valid))


Row = tuple[tuple[str | int, ...], str, tuple[str, ...]]


def flatten(messages: Any, path: tuple[str | int, ...] = ()) -> Iterator[Row]:
    """Walk marshmallow's ``{field: [msg] | {…}}`` into (path, message, suggestions) rows."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                yield from flatten(value, path)
            else:
                yield from flatten(value, (*path, key))
    elif isinstance(messages, list | tuple):
        for item in messages:
            if isinstance(item, dict | list):
                yield from flatten(item, path)
            else:  # keep str subclasses (Msg) intact: they are rendered per language later
                yield path, item if isinstance(item, str) else str(item), getattr(item, "suggestions", ())
    else:
        yield path, messages if isinstance(messages, str) else str(messages), getattr(messages, "suggestions", ())


def field_path(path: tuple[str | int, ...], prefix: str = "") -> str:
    """``("signals", 1, "code")`` → ``signals[1].code`` (the envelope's field paths)."""
    field = prefix
    for part in path:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    return field
