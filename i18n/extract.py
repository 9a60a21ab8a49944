"""A ``pybabel extract`` method for the page texts that templates and the playground script read
from the text table by name: ``t.key`` and ``t['key']`` in a Jinja template, ``T.key`` in the
script. (Python code marks its keys with ``text("key", …)``, ``ntext("key", "key_plural", n, …)``
and ``N_("key")``, which Babel's own Python extractor finds.)
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

_TEMPLATE = re.compile(r"(?<![\w.])t(?:\.([a-z][a-z0-9_]*)|\[['\"]([a-z][a-z0-9_]*)['\"]\])")
_SCRIPT = re.compile(r"(?<![\w.])T\.([a-z][a-z0-9_]*)")


def extract_text_keys(fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Collection[str],
                      options: Mapping[str, Any]) -> Iterator[tuple[int, str, str, list[str]]]:
    """Yield (line, "", key, []) for every text key a template or the playground script names."""
    pattern = _SCRIPT if options.get("language") == "script" else _TEMPLATE
    for lineno, line in enumerate(fileobj.read().decode("utf-8").splitlines(), 1):
        for match in pattern.finditer(line):
            yield lineno, "", next(g for g in match.groups() if g), []
