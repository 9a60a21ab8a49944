"""Privacy by design: the service accepts no personal identifiers.

The request schema has no field for a name or an identifier; on top of that, any value that
looks like a Norwegian national identity number (fødselsnummer, D- or H-number: 11 digits whose
two check digits are right) anywhere in a request is refused, without echoing it back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_ELEVEN = re.compile(r"(?<!\d)\d{11}(?!\d)")
_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _check_digit(digits: list[int], weights: tuple[int, ...]) -> int | None:
    rest = 11 - sum(d * w for d, w in zip(digits, weights, strict=False)) % 11
    if rest == 11:
        return 0
    return None if rest == 10 else rest


def is_identity_number(text: str) -> bool:
    """11 digits with valid mod-11 check digits (the form of fødselsnummer, D- and H-numbers)."""
    if len(text) != 11 or not text.isdigit():
        return False
    digits = [int(c) for c in text]
    return (_check_digit(digits[:9], _W1) == digits[9]
            and _check_digit(digits[:10], _W2) == digits[10])


def redact(text: str) -> str:
    """``text`` with every identity-number-like run of 11 digits masked (for field paths)."""
    return _ELEVEN.sub(lambda m: "*" * 11 if is_identity_number(m.group()) else m.group(), text)


def identity_numbers(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Paths (in a parsed JSON body) of every value holding something like an identity number."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and any(is_identity_number(m) for m in _ELEVEN.findall(key)):
                yield (*path, key)
            yield from identity_numbers(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from identity_numbers(item, (*path, i))
    elif isinstance(value, str):
        if any(is_identity_number(m) for m in _ELEVEN.findall(value)):
            yield path
    elif isinstance(value, int) and not isinstance(value, bool) and is_identity_number(str(value)):
        yield path


QUOTE_LIMIT = 64  # characters of a value sent to us that a message may repeat


def excerpt(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``value`` as text for an error message: identity numbers masked, at most ``limit``
    characters (the start and an ellipsis), so that a huge unknown value is not echoed back."""
    text = redact(str(value))
    return text if len(text) <= limit else text[:limit - 1] + "…"
