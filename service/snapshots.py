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
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

from rules.catalog import CATALOG_FILE
from rules.laws import LAWS_FILE
from rules.pathway import PATHWAY_FILE
from rules.rulefile import RULES_DIR

log = logging.getLogger("bti.reload")
STATE_ENV = "BTI_STATE_DIR"
GUIDE_FILE = "guide.yaml"
_TOP_FILES = (GUIDE_FILE, CATALOG_FILE, LAWS_FILE, PATHWAY_FILE)


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

    def stage(self, gid: str, folder: Path) -> Path:
        """Copy the files of the guide in ``folder`` into a fresh staging root; return the root
        (the copy is ``root / gid``). Raises OSError if a file cannot be read (a dangling link,
        a folder named like a file, a file deleted meanwhile)."""
        staging = self.dir / "staging"
        try:
            staging.mkdir(parents=True, exist_ok=True)
            root = Path(tempfile.mkdtemp(prefix=f"{gid}-", dir=staging))
        except OSError as exc:
            raise StateDirError(f"{self.dir}: {exc.strerror or exc}") from exc
        try:
            target = root / gid
            (target / RULES_DIR).mkdir(parents=True)
            for name in _TOP_FILES:
                if (folder / name).exists() or (folder / name).is_symlink():
                    shutil.copyfile(folder / name, target / name)
            for path in sorted((folder / RULES_DIR).glob("*.yaml")):
                shutil.copyfile(path, target / RULES_DIR / path.name)
        except BaseException:
            self.discard(root)
            raise
        return root

    def accept(self, gid: str, staged: Path, digest: str) -> None:
        """Keep the staged copy that loaded as ``gid``'s accepted snapshot ``digest``."""
        home = self.dir / "guides" / gid
        home.mkdir(parents=True, exist_ok=True)
        final = home / _safe(digest)
        try:
            staged.rename(final)  # atomic; another worker may have kept the same files already
        except OSError:
            self.discard(staged)
        pointer = home / f".current-{os.getpid()}"
        pointer.write_text(digest, encoding="utf-8")
        os.replace(pointer, home / "current")

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


def safe_name(digest: str) -> str:
    """The folder name a digest's snapshot is kept under."""
    return _safe(digest)
