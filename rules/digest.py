"""The digest of a guide: one hash over the names and contents of every file it is built from
(a municipality's guide includes the national digest), so two loads of the same files give the
same digest and any change gives another."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def guide_digest(files: Iterable[tuple[str, bytes]]) -> str:
    """``sha256:<hex>`` over ``(name, content)`` pairs, in name order."""
    h = hashlib.sha256()
    for name, content in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    return "sha256:" + h.hexdigest()
