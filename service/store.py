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

from rules.errors import Problem, RuleFileError
from rules.loader import NATIONAL, RULES_DIR, Registry, load_guide, refused_reason
from rules.model import Guide
from rules.prepare import PreparedGuide, prepare
from rules.yamlsource import display_name
from service.observe import metrics
from service.snapshots import Snapshots, StateDirError, default_state_dir, guide_files, outside_links, safe_name

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


Print = tuple[tuple[str, int, int, int], ...]


def _fingerprint(folder: Path) -> Print:
    """Name, size, modification time and inode of every file a load of the guide reads."""
    out = []
    for name, path in guide_files(folder):
        try:
            stat = path.stat()
        except OSError:
            out.append((name, -1, -1, -1))  # there but unreadable: its repair is a change
            continue
        out.append((name, stat.st_size, stat.st_mtime_ns, stat.st_ino))
    return tuple(out)


class GuideStore:
    """Holds the current :class:`Registry`; a request takes one reference to its guide and uses
    it throughout, so a reload never changes a guide under a request in flight."""

    def __init__(self, root: Path, state_dir: Path | None = None) -> None:
        self.root = root
        self.snapshots = Snapshots(state_dir or default_state_dir(root))
        self._lock = threading.Lock()
        self.registry = Registry()
        self.status: dict[str, GuideStatus] = {}
        self.reload_errors = 0
        self.refused: dict[str, str] = {}  # folders of the rule folder that are not guides, and why
        self._prints: dict[str, Print] = {}
        self._unloadable: dict[str, str] = {}  # accepted snapshots (by digest) that did not load here
        self._retired: list[_Retired] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- loading ---------------------------------------------------------------------------

    def _folders(self) -> dict[str, Path]:
        """The guides' folders; the other folders go to ``refused`` (hidden ones are left alone)."""
        folders: dict[str, Path] = {}
        refused: dict[str, str] = {}
        if self.root.is_dir():
            for path in sorted(self.root.iterdir()):
                if path.name.startswith(".") or not path.is_dir():
                    continue
                reason = refused_reason(path)
                if reason is None:
                    folders[path.name] = path
                else:
                    refused[path.name] = reason
        if refused != self.refused:
            for name in sorted(set(refused) - set(self.refused)):
                log.warning("folder %r of the rule folder is not loaded: %s", name, refused[name])
            self.refused = refused
            metrics().refused_folders.set(len(refused))
        return folders

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
        metrics().unserved_guides.set(len(errors))
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
            prepared = self._load_live(gid, folder, baseline)
        except Exception as exc:  # whatever goes wrong while loading a guide is that guide's problem
            problems = self._problems(gid, folder, exc)
            status.last_error = [str(p) for p in problems]
            status.last_error_at = time.time()
            self.reload_errors += 1
            metrics().reload_errors.labels(gid).inc()
            for problem in problems:
                log.error("guide %s refused, %s", gid, problem)
            current = guides.get(gid)
            if current is not None and not self._sibling_accepted_newer(gid, current):
                return None  # the last good version in memory keeps serving (it is the accepted one)
            # no version in memory, or a sibling worker accepted a version this worker never saw
            # (the files changed twice between two of its checks): serve what the siblings serve
            accepted = self._load_accepted(gid, baseline)
            if accepted is None:
                if current is not None:
                    return None
                errors[gid] = RuleFileError(problems)  # no good version to serve
                return None
            guides[gid] = accepted
            errors.pop(gid, None)
            status.version, status.digest = accepted.guide.version, accepted.guide.digest
            status.loaded_at = time.time()
            log.warning("guide %s serves its last accepted version %s", gid, accepted.guide.version)
            return accepted
        guide = prepared.guide
        guides[gid] = prepared
        errors.pop(gid, None)
        status.version, status.digest, status.loaded_at = guide.version, guide.digest, time.time()
        status.last_error = status.last_error_at = None
        status.reloads += 1
        return prepared

    def _load_live(self, gid: str, folder: Path, baseline: PreparedGuide | None) -> PreparedGuide:
        """Load a copy of the live folder; keep the copy as the accepted snapshot if it loads."""
        base = baseline.guide if baseline else None
        try:
            staged = self.snapshots.stage(gid, folder, self.root)
        except StateDirError as exc:
            log.warning("no snapshot kept of guide %s: %s", gid, exc)
            outside = outside_links(folder, self.root)
            if outside:
                raise RuleFileError(outside) from None
            return prepare(load_guide(folder, base, root=self.root))
        try:
            prepared = prepare(load_guide(staged / gid, base, root=staged))
        except BaseException:
            self.snapshots.discard(staged)
            raise
        try:
            self.snapshots.accept(gid, staged, prepared.guide.digest)
        except OSError as exc:
            log.warning("no snapshot kept of guide %s: %s", gid, exc)
        return prepared

    def _sibling_accepted_newer(self, gid: str, current: PreparedGuide) -> bool:
        root = self.snapshots.accepted(gid)
        return root is not None and root.name != safe_name(current.guide.digest)

    def _load_accepted(self, gid: str, baseline: PreparedGuide | None) -> PreparedGuide | None:
        root = self.snapshots.accepted(gid)
        if root is None:
            return None
        try:
            accepted = prepare(load_guide(root / gid, baseline.guide if baseline else None, root=root))
        except Exception as exc:
            # e.g. it was accepted over a national guide that has changed since
            log.error("guide %s: its last accepted version does not load either: %s", gid, exc)
            self._unloadable[gid] = root.name
            return None
        self._unloadable.pop(gid, None)
        return accepted

    def _problems(self, gid: str, folder: Path, exc: Exception) -> list[Problem]:
        if isinstance(exc, RuleFileError):
            return list(exc.problems) or [Problem(gid, None, "", "not loaded: the national guide does not load")]
        where = display_name(folder, self.root)
        if isinstance(exc, OSError):
            if exc.filename:
                name = Path(str(exc.filename))
                where = display_name(name, self.root)
                if name.is_absolute() and self.snapshots.dir in name.parents:
                    where = f"{gid}/{RULES_DIR}/{name.name}" if name.parent.name == RULES_DIR else f"{gid}/{name.name}"
            return [Problem(where, None, "", f"cannot be read: {exc.strerror or exc}")]
        if isinstance(exc, RecursionError):
            return [Problem(where, None, "", "a rule file is nested too deeply to load")]
        if isinstance(exc, MemoryError):
            return [Problem(where, None, "", "the guide is too large to load")]
        text = str(exc)
        text = text if len(text) <= 200 else text[:200] + "…"
        return [Problem(where, None, "", f"could not be loaded: {type(exc).__name__}: {text}")]

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
                    metrics().update_engine()
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
        """The national guide is served, and so is every guide with a good version: a guide that
        no worker could load (no accepted snapshot, or one that does not load here) leaves the
        service ready, and a folder that is not a guide is no guide at all. Not ready: a sibling
        worker accepted a version of a guide this worker does not serve yet (until its next check)."""
        registry = self.registry
        if NATIONAL not in registry.guides:
            return False
        for gid in registry.errors:
            accepted = self.snapshots.accepted(gid)
            if accepted is not None and self._unloadable.get(gid) != accepted.name:
                return False
        return True
