"""The encoded bodies of the read-only guide endpoints (``GET /v1/catalog``, ``/v1/municipalities``
and ``/v1/municipalities/{id}``), kept per served registry and language.

Such a body depends only on the guides served and the language: building one costs far more than
sending it (a guide with its pathway, dumped through its schema, takes several milliseconds), and
clients ask for the same few again and again. A reload swaps the store's registry for a new object
(service.store), which empties the cache: a body is never older than the guides it describes.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any, cast

from flask import Response, current_app

from rules.loader import Registry

# the bodies kept at most, in bytes (a guide with its pathway is about 35 kB in each language; the
# bundled guides in every language take about 1 MB): beyond it the cache starts again empty
MAX_BYTES = 16 * 1024 * 1024


class ReadCache:
    """Encoded response bodies by key, for one registry at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # held weakly: a registry swapped out is not kept alive by the bodies made from it
        self._registry: weakref.ref[Registry] | None = None
        self._bodies: dict[Hashable, bytes] = {}
        self._size = 0

    def response(self, registry: Registry, key: Hashable, build: Callable[[], Any]) -> Response:
        """The JSON response for ``key`` under ``registry``: the body ``build()`` returns, encoded
        once by the app's JSON provider (the bytes a view returning it would send)."""
        with self._lock:
            if self._registry is None or self._registry() is not registry:
                self._registry, self._bodies, self._size = weakref.ref(registry), {}, 0
            bodies = self._bodies
            data = bodies.get(key)
        if data is None:
            data = cast(Response, current_app.json.response(build())).get_data()
            with self._lock:
                if bodies is self._bodies:  # not emptied by a newer registry meanwhile
                    if self._size + len(data) > MAX_BYTES:
                        bodies.clear()
                        self._size = 0
                    if key not in bodies:
                        self._size += len(data)
                    bodies[key] = data
        return Response(data, mimetype=current_app.json.mimetype)  # type: ignore[attr-defined]


def read_cache() -> ReadCache:
    """The app's cache (one per app: tests build several apps in one process)."""
    cache = current_app.extensions.get("bti_read_cache")
    if cache is None:
        cache = current_app.extensions.setdefault("bti_read_cache", ReadCache())
    return cast(ReadCache, cache)
