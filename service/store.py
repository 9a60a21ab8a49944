"""The guides the service serves: loaded once at start, swapped whole on reload."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from rules.loader import Registry, load_registry
from rules.model import Guide


class GuideStore:
    """Holds the current :class:`Registry`; readers take one reference and use it throughout
    a request, so a reload never changes a guide under a request in flight."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self.registry = Registry()
        self.loaded_at: float | None = None

    def load(self) -> Registry:
        registry = load_registry(self.root)
        with self._lock:
            self.registry = registry
            self.loaded_at = time.time()
        return registry

    def get(self, guide_id: str) -> Guide | None:
        return self.registry.guides.get(guide_id)

    @property
    def ready(self) -> bool:
        registry = self.registry
        return bool(registry.guides) and not registry.errors
