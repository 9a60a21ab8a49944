"""The guides the service serves: loaded at start, then watched; a changed guide is rebuilt
and swapped in whole, a broken change is refused and the last good version keeps serving.

Each gunicorn worker has its own store and its own watcher thread, so every worker reloads
within one interval of a change.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from rules.errors import RuleFileError
from rules.loader import CATALOG_FILE, GUIDE_FILE, NATIONAL, RULES_DIR, Registry, load_guide
from rules.model import Guide
from rules.prepare import PreparedGuide, prepare
from service.observe import metrics

log = logging.getLogger("bti.reload")
RETIRE_AFTER = 60.0  # seconds an old version stays loaded for requests that still hold it


@dataclass
class GuideStatus:
    version: str | None = None
    digest: str | None = None
    loaded_at: float | None = None
    last_error: list[str] | None = None
    last_error_at: float | None = None
    reloads: int = 0


@dataclass
class _Retired:
    prepared: PreparedGuide
    since: float = field(default_factory=time.monotonic)


def _fingerprint(folder: Path) -> tuple[tuple[str, int, int], ...]:
    files = [folder / GUIDE_FILE, folder / CATALOG_FILE, *sorted((folder / RULES_DIR).glob("*.yaml"))]
    out = []
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            continue
        out.append((path.name, stat.st_size, stat.st_mtime_ns))
    return tuple(out)


class GuideStore:
    """Holds the current :class:`Registry`; a request takes one reference to its guide and uses
    it throughout, so a reload never changes a guide under a request in flight."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self.registry = Registry()
        self.status: dict[str, GuideStatus] = {}
        self.reload_errors = 0
        self._prints: dict[str, tuple[tuple[str, int, int], ...]] = {}
        self._retired: list[_Retired] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- loading ---------------------------------------------------------------------------

    def _folders(self) -> dict[str, Path]:
        if not self.root.is_dir():
            return {}
        return {p.name: p for p in sorted(self.root.iterdir()) if (p / GUIDE_FILE).is_file()}

    def load(self) -> Registry:
        """Load every guide (at start)."""
        with self._lock:
            self._prints = {}
            self._reload(initial=True)
        return self.registry

    def check(self) -> bool:
        """Reload the guides whose files changed; True if anything was swapped or refused."""
        with self._lock:
            changed = self._reload(initial=False)
            self._close_retired()
        return changed

    def _reload(self, initial: bool) -> bool:
        folders = self._folders()
        prints = {gid: _fingerprint(folder) for gid, folder in folders.items()}
        changed = {gid for gid in prints if prints[gid] != self._prints.get(gid)}
        removed = set(self._prints) - set(prints)
        if not changed and not removed:
            return False
        current = self.registry
        guides = dict(current.prepared)
        errors = dict(current.errors)
        for gid in removed:
            guides.pop(gid, None)
            errors.pop(gid, None)
            self.status.pop(gid, None)
        national = guides.get(NATIONAL)
        loaded: list[str] = []
        refused: list[str] = []
        if NATIONAL in changed:
            found = self._try_load(NATIONAL, folders.get(NATIONAL), None, guides, errors)
            (loaded if found else refused).append(NATIONAL)
            national = found or national
            changed |= set(folders) - {NATIONAL}  # every guide extends the national one
        for gid in sorted(changed - {NATIONAL}):
            if national is None:
                errors[gid] = RuleFileError([])
                refused.append(gid)
                continue
            (loaded if self._try_load(gid, folders[gid], national, guides, errors) else refused).append(gid)
        for gid, prepared in current.prepared.items():
            if guides.get(gid) is not prepared:
                self._retired.append(_Retired(prepared))
        self.registry = Registry(guides, errors)  # the swap: one reference, read atomically
        self._prints = prints
        if not initial:  # only what was swapped in counts as reloaded; a refused guide keeps its last version
            if loaded:
                log.info("guides reloaded: %s", ", ".join(sorted(loaded)))
            if removed:
                log.info("guides removed: %s", ", ".join(sorted(removed)))
            for gid in sorted(refused):
                served = self.registry.guides.get(gid)
                log.warning("guide %s not reloaded: %s", gid,
                            f"version {served.version} keeps serving" if served else "it is not served")
        return True

    def _try_load(self, gid: str, folder: Path | None, baseline: PreparedGuide | None,
                  guides: dict[str, PreparedGuide], errors: dict[str, RuleFileError]) -> PreparedGuide | None:
        status = self.status.setdefault(gid, GuideStatus())
        if folder is None:
            return None
        try:
            guide = load_guide(folder, baseline.guide if baseline else None, root=self.root)
        except RuleFileError as exc:
            status.last_error = [str(p) for p in exc.problems]
            status.last_error_at = time.time()
            self.reload_errors += 1
            metrics().reload_errors.labels(gid).inc()
            for problem in exc.problems:
                log.error("guide %s refused, %s", gid, problem)
            if gid not in guides:
                errors[gid] = exc  # no good version to keep serving
            return None
        prepared = guides[gid] = prepare(guide)
        errors.pop(gid, None)
        status.version, status.digest, status.loaded_at = guide.version, guide.digest, time.time()
        status.last_error = status.last_error_at = None
        status.reloads += 1
        return prepared

    def _close_retired(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        keep = []
        for item in self._retired:
            if now - item.since >= RETIRE_AFTER:
                item.prepared.close()
            else:
                keep.append(item)
        self._retired = keep

    # --- watching --------------------------------------------------------------------------

    def start_watching(self, interval: float) -> None:
        """Check the rule folder every ``interval`` seconds in a daemon thread (0 = never)."""
        if interval <= 0 or self._thread is not None:
            return

        def watch() -> None:
            while not self._stop.wait(interval):
                try:
                    self.check()
                except Exception:  # a watcher that dies would silently stop reloads
                    log.exception("reload check failed")

        self._thread = threading.Thread(target=watch, name="bti-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    # --- reading ---------------------------------------------------------------------------

    def get(self, guide_id: str) -> Guide | None:
        return self.registry.guides.get(guide_id)

    def prepared(self, guide_id: str) -> PreparedGuide | None:
        """The guide ready to decide (its data is ``.guide``)."""
        return self.registry.prepared.get(guide_id)

    @property
    def ready(self) -> bool:
        registry = self.registry
        return NATIONAL in registry.guides and not registry.errors
