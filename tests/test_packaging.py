"""The package configuration: installing (``make setup``, ``make run`` on a fresh machine) must
not warn, and the installed service must carry its page templates and static files."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_folder_with_files_under_a_package_is_declared_with_its_data() -> None:
    # setuptools warns ("Package 'service.static' is absent from the `packages` configuration",
    # about a hundred lines per install) for every folder under a package that is not listed
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    packages, data = set(config["packages"]), config.get("package-data", {})
    for top in {p.split(".")[0] for p in packages}:
        for folder in [ROOT / top, *(p for p in (ROOT / top).rglob("*") if p.is_dir())]:
            if folder.name == "__pycache__":
                continue
            files = [f.name for f in folder.iterdir() if f.is_file() and not f.name.endswith(".pyc")]
            if not files:
                continue
            name = ".".join(folder.relative_to(ROOT).parts)
            assert name in packages, f"{name} is not in [tool.setuptools] packages"
            if not (folder / "__init__.py").is_file():  # a data folder: every file must be package data
                patterns = data.get(name, [])
                missing = [f for f in files if not any(fnmatch.fnmatch(f, p) for p in patterns)]
                assert not missing, f"{name}: {missing} are not in [tool.setuptools.package-data]"
