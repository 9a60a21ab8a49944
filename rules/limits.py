"""How large rule files and guides may be (docs/rule-language.md, "Limits").

A guide is read by every worker of the service, on every change, from files anyone with write
access to the rule folder can edit; without bounds one careless or hostile file (an alias bomb, a
50 MB text, ten thousand rules) costs seconds to minutes of CPU and gigabytes of memory per worker,
or more rules than the rule engine can hold. Each limit is checked while the files are read, before
the expensive step it protects, and breaking one is a rule-file problem like any other: file, line
where there is one, and what to do.

The values leave room for guides many times the size of the bundled ones (the largest file is the
national catalog, 47 KB; the national guide is 144 KB in 7 rule files with 85 rules, its deepest
value inside 10 mappings and lists, its longest text 584 characters, its largest file 2,056 values).
"""

from __future__ import annotations

FILE_BYTES = 256 * 1024
"""One YAML file: parsing costs about 100 MB of memory and a second or more per MB."""

GUIDE_BYTES = 1024 * 1024
"""All of one guide's files together (``*.yaml`` in its folder and in ``rules/``)."""

RULE_FILES = 100
"""Files in a guide's ``rules/`` folder."""

RULES = 1000
"""Rules in one guide, the inherited national ones included. durable_rules refuses a ruleset at
about 4,100 rules that test the same fact (its error 106); this stays a quarter of that."""

TEXT_CHARS = 2000
"""One text (a ``because``, a title, a note, any value or key): every text of a matching rule goes
into each decision it gives."""

DEPTH = 32
"""Mappings and lists nested in each other; each ``all``/``any`` in a condition takes two levels
(its list and the mapping of each item)."""

VALUES = 50_000
"""Values in one file (keys, texts, numbers, mappings and lists), each alias counted as a copy of
what it refers to: an alias bomb is refused before it is expanded."""


def size_text(size: int) -> str:
    """``262144`` → ``256 KiB``; ``5242880`` → ``5.0 MiB``."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MiB"
    if size >= 1024:
        return f"{size // 1024} KiB"
    return f"{size} bytes"
