"""Validation messages that carry "did you mean" suggestions, and flattening of
marshmallow's nested error dicts into (path, message, suggestions) rows."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from typing import Any, Self


class Suggesting(str):
    """A validation message with up to three close valid values attached."""

    suggestions: tuple[str, ...]

    def __new__(cls, message: str, suggestions: Iterable[str] = ()) -> Self:
        obj = super().__new__(cls, message)
        obj.suggestions = tuple(suggestions)[:3]
        return obj


def closest(value: object, valid: Iterable[str], n: int = 3) -> list[str]:
    """The valid codes closest to ``value`` (for an unknown code), best first."""
    if not isinstance(value, str):
        return []
    valid = list(valid)
    found = difflib.get_close_matches(value, valid, n=n, cutoff=0.6)
    if not found:  # a prefix or a part of the word is a good hint too ("school" → school_health)
        found = [v for v in valid if value and (v.startswith(value) or value in v)][:n]
    return found


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
