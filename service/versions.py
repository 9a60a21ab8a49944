"""Load a version of a guide for ``bti diff``: from a folder, or from a git revision."""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from pathlib import Path

from rules.loader import load_registry
from rules.model import NATIONAL
from rules.prepare import PreparedGuide

_KEEP: list[tempfile.TemporaryDirectory[str]] = []  # extracted revisions live until the process ends


def _guide_in(root: Path, guide_id: str) -> PreparedGuide:
    registry = load_registry(root)
    if guide_id in registry.prepared:
        return registry.prepared[guide_id]
    if guide_id in registry.errors:
        raise ValueError(f"{guide_id} does not load:\n{registry.errors[guide_id]}")
    if NATIONAL in registry.errors:
        raise ValueError(f"the national guide under {root} does not load:\n{registry.errors[NATIONAL]}")
    raise ValueError(f"no guide {guide_id!r} under {root}")


def load_version(spec: str | None, new: Path) -> PreparedGuide:
    """``spec`` None: the guide at ``new``; a folder: the guide there; else a git revision of
    the folders holding ``new``."""
    new = new.resolve()
    if spec is None:
        return _guide_in(new.parent, new.name)
    path = Path(spec)
    if path.is_dir():
        path = path.resolve()
        return _guide_in(path.parent, path.name)
    root = new.parent
    top = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel"], capture_output=True, text=True,
                         check=False)
    if top.returncode != 0:
        raise ValueError(f"{spec!r} is neither a folder nor a git revision ({root} is not in a git repository)")
    known = subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"],
                           capture_output=True, check=False)
    if known.returncode != 0:
        raise ValueError(f"{spec!r} is neither a guide folder nor a git revision")
    relative = root.relative_to(Path(top.stdout.strip()).resolve())
    archive = subprocess.run(["git", "-C", top.stdout.strip(), "archive", "--format=tar", spec, str(relative)],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        raise ValueError(f"git cannot give {relative} at {spec!r}: {archive.stderr.decode(errors='replace').strip()}")
    tmp = tempfile.TemporaryDirectory(prefix="bti-diff-")
    _KEEP.append(tmp)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tmp.name, filter="data")
    return _guide_in(Path(tmp.name) / relative, new.name)
