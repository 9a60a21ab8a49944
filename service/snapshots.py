"""The last good version of each guide, kept on disk so that every worker serves the same one.

A guide is never loaded from its live folder directly: its files are first copied into a
staging folder and loaded from there, so the bytes that were parsed are the bytes kept. When
the copy loads, it becomes the guide's accepted snapshot, named by its digest:

    <state dir>/guides/<guide id>/<digest>/<guide id>/guide.yaml, rules/*.yaml, ...
    <state dir>/guides/<guide id>/current      the digest of the accepted snapshot

A worker that starts while a guide's live folder is broken (after a crash, a SIGHUP, or a
second worker still booting when the file broke) loads that accepted snapshot instead, so it
answers with the same version as its siblings rather than not at all. The state directory is
``BTI_STATE_DIR``; by default a folder in the system's temporary directory named after the
rule folder, so two services on different rule folders never share one.

Each guide keeps its accepted snapshot and the KEEP_PREVIOUS most recently accepted before it;
older ones, and staging folders a killed worker left behind, are removed when a guide is accepted.

A file is copied only if it lies inside the rule folder once every link is followed: a link to a
file elsewhere (``rules/x.yaml -> /etc/...``) is refused unread, so nothing of that file reaches
an error message, ``/v1/status`` or the log.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from rules.catalog import CATALOG_FILE
from rules.errors import Problem, RuleFileError
from rules.laws import LAWS_FILE
from rules.loader import check_guide_size
from rules.pathway import PATHWAY_FILE
from rules.rulefile import RULES_DIR

log = logging.getLogger("bti.reload")
STATE_ENV = "BTI_STATE_DIR"
GUIDE_FILE = "guide.yaml"
_TOP_FILES = (GUIDE_FILE, CATALOG_FILE, LAWS_FILE, PATHWAY_FILE)
KEEP_PREVIOUS = 3  # accepted snapshots kept per guide besides the current one
STALE_STAGING = 3600.0  # seconds after which a staging folder is a leftover of a killed worker


def guide_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """Every file a load of the guide in ``folder`` reads, as (name in the guide, path): the
    top-level files that exist (or are links) and ``rules/*.yaml``."""
    for name in _TOP_FILES:
        path = folder / name
        if path.exists() or path.is_symlink():
            yield name, path
    for path in sorted((folder / RULES_DIR).glob("*.yaml")):
        yield f"{RULES_DIR}/{path.name}", path


def outside_links(folder: Path, root: Path) -> list[Problem]:
    """The files of the guide in ``folder`` that lead outside ``root`` through a link: they are
    not read (a loop or a dangling link is left to the read, which reports it)."""
    try:
        inside = root.resolve()
    except (OSError, RuntimeError):
        return []
    problems = []
    for name, path in guide_files(folder):
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):
            continue
        if not target.is_relative_to(inside):
            problems.append(Problem(f"{folder.name}/{name}", None, "",
                                    "a link to a file outside the rule folder: not read (copy the file into "
                                    "the guide's folder instead)"))
    return problems


def default_state_dir(root: Path) -> Path:
    """``BTI_STATE_DIR``, or a folder in the temporary directory named after ``root``."""
    if os.environ.get(STATE_ENV):
        return Path(os.environ[STATE_ENV])
    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"bti-state-{os.getuid()}-{key}"


class StateDirError(OSError):
    """The state directory cannot be written: guides load without a snapshot."""


def _safe(digest: str) -> str:
    return digest.replace(":", "-")


class Snapshots:
    """Staging copies and accepted snapshots of guides under one state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir

    def stage(self, gid: str, folder: Path, root: Path) -> Path:
        """Copy the files of the guide in ``folder`` (under the rule folder ``root``) into a fresh
        staging root; return the staging root (the copy is ``staging root / gid``). Raises
        RuleFileError for a link that leads outside ``root``, OSError if a file cannot be read (a
        dangling link, a folder named like a file, a file deleted meanwhile).

        The size limits of rules/limits.py are checked from the files' sizes before anything is
        copied, with the loader's own check and errors: a guide with a 50 MB file or thousands of
        rule files is refused without filling the state directory with a copy of it."""
        outside = outside_links(folder, root)
        if outside:
            raise RuleFileError(outside)
        check_guide_size(folder, sorted((folder / RULES_DIR).glob("*.yaml")), root)
        staging = self.dir / "staging"
        try:
            staging.mkdir(parents=True, exist_ok=True)
            staged = Path(tempfile.mkdtemp(prefix=f"{gid}-", dir=staging))
        except OSError as exc:
            raise StateDirError(f"{self.dir}: {exc.strerror or exc}") from exc
        try:
            target = staged / gid
            (target / RULES_DIR).mkdir(parents=True)
            for name, path in guide_files(folder):
                shutil.copyfile(path, target / name)
        except BaseException:
            self.discard(staged)
            raise
        return staged

    def accept(self, gid: str, staged: Path, digest: str) -> None:
        """Keep the staged copy that loaded as ``gid``'s accepted snapshot ``digest``."""
        home = self.dir / "guides" / gid
        home.mkdir(parents=True, exist_ok=True)
        final = home / _safe(digest)
        try:
            staged.rename(final)  # atomic; another worker may have kept the same files already
        except OSError:
            self.discard(staged)
            os.utime(final)  # accepted again: it is the newest, whatever its age
        pointer = home / f".current-{os.getpid()}"
        pointer.write_text(digest, encoding="utf-8")
        os.replace(pointer, home / "current")
        self._prune(home, final.name)

    def _prune(self, home: Path, current: str) -> None:
        """Keep the current snapshot and the KEEP_PREVIOUS accepted most recently before it;
        remove older snapshots and stale staging folders (best effort: another worker may be
        removing the same ones at the same time)."""
        old = sorted(((_mtime(p), p) for p in _folders(home) if not p.name.startswith(".") and p.name != current),
                     reverse=True)
        for _, path in old[KEEP_PREVIOUS:]:
            self.discard(path)
        now = time.time()
        for path in _folders(self.dir / "staging"):
            if now - _mtime(path) > STALE_STAGING:
                self.discard(path)

    def accepted(self, gid: str) -> Path | None:
        """The root of ``gid``'s accepted snapshot (the guide is ``root / gid``), if there is one."""
        home = self.dir / "guides" / gid
        try:
            digest = (home / "current").read_text(encoding="utf-8").strip()
        except OSError:
            return None
        root = home / _safe(digest)
        return root if (root / gid / GUIDE_FILE).is_file() else None

    @staticmethod
    def discard(staged: Path) -> None:
        shutil.rmtree(staged, ignore_errors=True)


def _folders(parent: Path) -> list[Path]:
    try:
        return [p for p in parent.iterdir() if p.is_dir()]
    except OSError:
        return []


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0  # gone meanwhile: the oldest of all


def safe_name(digest: str) -> str:
    """The folder name a digest's snapshot is kept under."""
    return _safe(digest)
