"""Readiness means serving: the national guide and every guide with a good version are served,
the same by every worker. A folder that is not a guide, or a guide that never loaded, is reported
on /v1/status and in the metrics, and does not take the service out of rotation."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from flask import Flask

from service.app import create_app
from service.paths import BUNDLED as MUNICIPALITIES
from service.store import GuideStore

BROKEN = "group: local\nrules: [\n"


@pytest.fixture()
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "municipalities"
    shutil.copytree(MUNICIPALITIES, root, ignore=shutil.ignore_patterns("scenarios"))
    monkeypatch.setenv("BTI_STATE_DIR", str(tmp_path / "state"))
    return root


def _app(root: Path) -> Flask:
    return create_app({"TESTING": True, "BTI_MUNICIPALITIES": str(root)})


def _metric(app: Flask, name: str) -> float:
    text = app.test_client().get("/metrics").get_data(as_text=True)
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert found, f"{name} is not on /metrics"
    return float(found.group(1))


def test_stray_folders_beside_the_guides_do_not_make_readyz_503(root: Path) -> None:
    """Regression: a backup copy `tromso.bak` (or a folder `my guide`) was loaded as a guide, failed
    (its id is not its folder's name) and made /readyz 503 for the whole service although every
    real guide was serving: an orchestrator would have pulled every replica."""
    shutil.copytree(root / "tromso", root / "tromso.bak")
    shutil.copytree(root / "oygarden", root / "my guide")
    (root / "notes").mkdir()  # a folder with no guide.yaml
    (root / ".git").mkdir()  # hidden: not reported
    (root / "README.md").write_text("not a folder\n", encoding="utf-8")
    app = _app(root)
    client = app.test_client()

    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["status"] == "ready"
    assert "tromso.bak" not in ready.get_json()["guides"] and ready.get_json()["failed"] == []

    status = client.get("/v1/status").get_json()
    assert status["ready"] is True
    refused = {f["folder"]: f["reason"] for f in status["refused_folders"]}
    assert set(refused) == {"tromso.bak", "my guide", "notes"}
    assert "named by its id" in refused["tromso.bak"] and "no guide.yaml" in refused["notes"]
    assert "tromso.bak" not in status["guides"]
    assert _metric(app, "bti_refused_folders") == 3
    assert client.post("/v1/municipalities/tromso.bak/decisions", json={}).status_code == 404


def test_a_refused_folder_that_is_renamed_into_a_guide_is_loaded(root: Path) -> None:
    (root / "tromso").rename(root / "tromso.new")
    app = _app(root)
    store: GuideStore = app.extensions["bti_store"]
    assert store.get("tromso") is None and "tromso.new" in store.refused
    (root / "tromso.new").rename(root / "tromso")
    assert store.check()
    assert store.get("tromso") is not None and store.refused == {}
    assert _metric(app, "bti_refused_folders") == 0


def test_a_guide_that_never_loaded_is_reported_not_a_reason_to_be_unready(root: Path) -> None:
    """A new guide broken from its first file has no good version anywhere: it is not served,
    listed on /readyz and /v1/status and counted, while the service stays ready."""
    (root / "tromso" / "rules").mkdir()
    (root / "tromso" / "rules" / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    app = _app(root)
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["failed"] == ["tromso"]
    status = client.get("/v1/status").get_json()
    assert status["guides"]["tromso"]["serving"] is False
    assert "broken.yaml" in status["guides"]["tromso"]["last_reload_error"]["problems"][0]
    assert _metric(app, "bti_unserved_guides") == 1
    assert client.post("/v1/municipalities/tromso/decisions", json={}).status_code == 503


def test_without_the_national_guide_the_service_is_not_ready(root: Path) -> None:
    catalog = root / "national" / "catalog.yaml"
    catalog.write_text(catalog.read_text(encoding="utf-8") + "\n: [\n", encoding="utf-8")
    assert _app(root).test_client().get("/readyz").status_code == 503


def test_a_worker_not_serving_a_version_its_sibling_accepted_is_not_ready_until_it_does(
        root: Path, tmp_path: Path) -> None:
    """Readiness is the same from every worker: a worker that booted while the guide was broken
    and has not yet seen the repair its sibling accepted says so."""
    broken = root / "tromso" / "rules" / "broken.yaml"
    broken.parent.mkdir()
    broken.write_text(BROKEN, encoding="utf-8")
    state = tmp_path / "state"
    late = GuideStore(root, state_dir=state)
    late.load()
    assert late.get("tromso") is None and late.ready  # no worker has a good version
    broken.unlink()
    sibling = GuideStore(root, state_dir=state)
    sibling.load()  # accepts the repaired guide
    assert sibling.get("tromso") is not None and sibling.ready
    assert not late.ready
    assert late.check()
    assert late.get("tromso") is not None and late.ready


def test_an_accepted_version_that_does_not_load_here_does_not_block_readiness(root: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = GuideStore(root, state_dir=state)
    first.load()
    kept = first.snapshots.accepted("tromso")
    assert kept is not None
    (kept / "tromso" / "guide.yaml").write_text("id: [\n", encoding="utf-8")  # e.g. built on another national
    (root / "tromso" / "rules").mkdir()
    (root / "tromso" / "rules" / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    second = GuideStore(root, state_dir=state)
    second.load()
    assert second.get("tromso") is None
    assert second.ready


def test_the_engines_lost_states_are_on_metrics(app: Flask) -> None:
    """Regression: states the engine could not delete were counted but not exported."""
    from rules import engine

    body = app.test_client().get("/metrics").get_data(as_text=True)
    found = re.search(r"^bti_engine_lost_states (\S+)$", body, re.MULTILINE)
    assert found and float(found.group(1)) == engine.lost_states()


def test_bti_check_warns_of_a_stray_folder_as_the_service_refuses_it(
        root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # bti check used to load tromso.bak and fail it as a guide whose id does not match its folder,
    # while the service left the folder unloaded: the two now give the same verdict
    from service.cli import main

    shutil.copytree(root / "tromso", root / "tromso.bak")
    (root / "notes").mkdir()
    assert main(["check", str(root)]) == 0
    out = capsys.readouterr().out
    assert "tromso.bak/: not a guide: a guide's folder is named by its id" in out
    assert "notes/: not a guide: it has no guide.yaml" in out
    assert "0 error(s), 2 warning(s)" in out
    assert "tromso.bak" not in "".join(line for line in out.splitlines(keepends=True) if line.startswith("ok "))
