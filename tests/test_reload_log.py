"""The reload log says what happened: a refused guide is not reported as reloaded."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from service.store import GuideStore
from tests.conftest import MUNICIPALITIES


def _touch(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stat = path.stat()  # a new mtime even on a coarse clock
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_a_refused_guide_is_not_logged_as_reloaded(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for gid in ("national", "tromso"):
        shutil.copytree(MUNICIPALITIES / gid, tmp_path / gid)
    store = GuideStore(tmp_path)
    store.load()
    version = store.registry.guides["tromso"].version
    guide_yaml = tmp_path / "tromso" / "guide.yaml"
    good = guide_yaml.read_text(encoding="utf-8")
    caplog.set_level(logging.INFO, logger="bti.reload")

    _touch(guide_yaml, good.replace("extends: national", "extends: national\nsettings_typo: 1"))
    assert store.check()
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("guide tromso refused") for m in messages), messages
    assert not any(m.startswith("guides reloaded") for m in messages), messages
    assert f"guide tromso not reloaded: version {version} keeps serving" in messages

    caplog.clear()
    _touch(guide_yaml, good)
    assert store.check()
    assert [r.getMessage() for r in caplog.records] == ["guides reloaded: tromso"]
