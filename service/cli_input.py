"""What the ``bti`` commands read, checked before use: every mistake in a path or a file becomes one
:class:`UsageError` line (exit code 2), never a traceback.

``bti explain`` takes a case as JSON or YAML: a request, a scenario entry (``note``, ``request``,
``expect``: what the playground's "copy as scenario" gives, with or without its leading ``-``), or
a scenario file with one case (or ``--case N``)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from rules.errors import RuleFileError
from rules.yamlsource import parse_yaml
from toolkit.scenarios import merge


class UsageError(Exception):
    """A mistake in how ``bti`` was called or in what it was given; the message is one line."""


def read_text(raw: str) -> tuple[str, str]:
    """(text, name for messages) of a file, or of standard input for ``-``."""
    if raw == "-":
        text, name = sys.stdin.read(), "standard input"
    else:
        path = Path(raw)
        if not path.exists():
            raise UsageError(f"{raw}: no such file")
        if path.is_dir():
            raise UsageError(f"{raw} is a folder: give a file (or - for standard input)")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{raw}: not UTF-8 text") from None
        except OSError as exc:
            raise UsageError(f"{raw}: cannot be read ({exc.strerror})") from None
        name = raw
    if not text.strip():
        raise UsageError(f"{name} is empty: give a request as JSON or YAML")
    return text, name


def parse_document(text: str, name: str) -> Any:
    """JSON or YAML (a ``.json`` file must be JSON); a syntax error says where, in one line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        json_error = f"{name}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}"
    if name.endswith(".json"):
        raise UsageError(json_error)
    try:
        return parse_yaml(text, name).data
    except RuleFileError as exc:
        if text.lstrip().startswith(('{"', "[{")):  # meant as JSON
            raise UsageError(json_error) from None
        raise UsageError(_one_line(exc)) from None


def _one_line(exc: RuleFileError) -> str:
    first = str(exc.problems[0]) if exc.problems else str(exc)
    more = len(exc.problems) - 1
    return first + (f" (and {more} more)" if more > 0 else "")


def case_request(data: Any, name: str, index: int | None = None) -> tuple[Any, str | None]:
    """The request in what was read, and the scenario's language if it names one."""
    fixtures: dict[str, Any] = {}
    if isinstance(data, dict) and "cases" in data:  # a scenario file
        fixtures = data.get("fixtures") or {}
        cases = data["cases"]
        if not isinstance(cases, list) or not cases:
            raise UsageError(f"{name}: `cases:` holds no case")
        if index is None and len(cases) > 1:
            raise UsageError(f"{name} holds {len(cases)} cases: choose one with --case N (1–{len(cases)})")
        data = _pick(cases, index, name)
    elif isinstance(data, list):  # one or more entries copied from a scenario file
        if index is None and len(data) > 1:
            raise UsageError(f"{name} holds {len(data)} entries: choose one with --case N (1–{len(data)})")
        data = _pick(data, index, name)
    elif index is not None:
        raise UsageError(f"--case is for a scenario file or a list of entries; {name} holds one request")
    if not isinstance(data, dict):
        raise UsageError(f"{name}: a case is a mapping (subject, reporter, signals, …), not {type(data).__name__}")
    if "request" in data or "extends" in data:  # a scenario entry
        request: Any = {}
        bases = data.get("extends") or []
        for base in [bases] if isinstance(bases, str) else bases:
            if not isinstance(fixtures, dict) or base not in fixtures:
                raise UsageError(f"{name}: the case extends {base!r}, which is not among the file's fixtures")
            request = merge(request, fixtures[base])
        lang = data.get("lang")
        return merge(request, data.get("request", {})), lang if isinstance(lang, str) else None
    return data, None


def _pick(items: list[Any], index: int | None, name: str) -> Any:
    number = 1 if index is None else index
    if not 1 <= number <= len(items):
        raise UsageError(f"{name}: there is no case {number} (1–{len(items)})")
    return items[number - 1]


def use_colour(stream: TextIO) -> bool:
    """Colour on a terminal, unless NO_COLOR is set (https://no-color.org) or TERM is dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def silence_stdout() -> None:
    """Point standard output at /dev/null, so that flushing at exit cannot fail again once the
    reader has gone (the Python documentation's advice for SIGPIPE)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
