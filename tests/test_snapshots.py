"""The last good version of a guide lives on disk, not only in a worker's memory: a worker that
starts while the guide's folder is broken serves the same version as its siblings. And whatever
goes wrong while loading one guide stays that guide's problem."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from service.paths import BUNDLED as MUNICIPALITIES
from service.snapshots import safe_name
from service.store import GuideStore
from tests.servers import bti_serve_process, get, post, worker_pids

CASE = {"subject": {"kind": "child", "age": 9}, "reporter": {"service": "school"}, "signals": ["school_absence"]}
BROKEN = "group: local\nrules: [\n"


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    root = tmp_path / "municipalities"
    shutil.copytree(MUNICIPALITIES, root, ignore=shutil.ignore_patterns("scenarios"))
    (root / "tromso" / "rules").mkdir(exist_ok=True)
    return root


def _store(root: Path, state: Path) -> GuideStore:
    store = GuideStore(root, state_dir=state)
    store.load()
    return store


def _set_version(guide_yaml: Path, version: str) -> None:
    text = guide_yaml.read_text(encoding="utf-8")
    guide_yaml.write_text(text.replace('version: "2026.1"', f'version: "{version}"'), encoding="utf-8")


def test_a_worker_that_starts_into_a_broken_guide_serves_the_last_accepted_version(root: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = _store(root, state)
    _set_version(root / "tromso" / "guide.yaml", "2026.2")
    assert first.check() and first.get("tromso").version == "2026.2"  # type: ignore[union-attr]
    (root / "tromso" / "rules" / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    _set_version(root / "tromso" / "guide.yaml", "2026.3")
    first.check()

    second = _store(root, state)  # a worker started after the file broke
    guide = second.get("tromso")
    assert guide is not None and guide.version == "2026.2"
    assert guide.digest == first.get("tromso").digest  # type: ignore[union-attr]
    assert second.status["tromso"].last_error and "broken.yaml" in second.status["tromso"].last_error[0]
    assert second.ready


def test_a_guide_with_no_accepted_version_is_not_served(root: Path, tmp_path: Path) -> None:
    (root / "tromso" / "rules" / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    store = _store(root, tmp_path / "state")
    assert store.get("tromso") is None
    assert "tromso" in store.registry.errors


def test_a_guide_loads_without_a_writable_state_directory(root: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    store = _store(root, blocker / "state")
    assert store.get("tromso") is not None and store.ready


def _rule_file(root: Path) -> Path:
    return root / "tromso" / "rules" / "extra.yaml"


def _python_tag(root: Path) -> str:
    _rule_file(root).write_text("group: local\nrules: !!python/name:os.system\n", encoding="utf-8")
    return "extra.yaml"


def _dropped_tag(root: Path) -> str:
    _rule_file(root).write_text("group: local\nrules: !include [other.yaml]\n", encoding="utf-8")
    return "extra.yaml:2"


def _directory_named_like_a_file(root: Path) -> str:
    _rule_file(root).mkdir()
    return "extra.yaml"


def _dangling_link(root: Path) -> str:
    _rule_file(root).symlink_to(root / "tromso" / "rules" / "gone.yaml")
    return "extra.yaml"


def _symlink_loop(root: Path) -> str:
    _rule_file(root).symlink_to(_rule_file(root))
    return "extra.yaml"


def _nested_too_deeply(root: Path) -> str:
    _rule_file(root).write_text("group: local\nrules: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    return "tromso"


@pytest.mark.parametrize("breakage", [_python_tag, _dropped_tag, _directory_named_like_a_file, _dangling_link,
                                      _symlink_loop, _nested_too_deeply])
def test_a_file_that_cannot_be_loaded_is_its_guides_problem_and_blocks_no_other(
        root: Path, tmp_path: Path, breakage: Any) -> None:
    where = breakage(root)
    store = _store(root, tmp_path / "state")  # the worker boots
    assert store.get("tromso") is None and "tromso" in store.registry.errors
    error = store.status["tromso"].last_error
    assert error and where in error[0]
    assert store.get("oygarden") is not None
    _set_version(root / "oygarden" / "guide.yaml", "2026.9")  # another guide still reloads
    assert store.check()
    assert store.get("oygarden").version == "2026.9"  # type: ignore[union-attr]


@pytest.mark.parametrize("text", ["rules: !include {file: other.yaml}\n", "rules: !!python/object:x.y {a: 1}\n",
                                  "rules: !!omap [{a: 1}]\n", "rules: !!set {a}\n", "rules: !local [1]\n"])
def test_a_tag_on_a_mapping_or_list_is_reported_not_dropped(text: str) -> None:
    """Regression: a tag on a mapping or a list was silently dropped and the data read as plain
    (``!include {file: x}`` read as the mapping ``{file: x}``); a tag on a single value was refused."""
    from rules.errors import RuleFileError
    from rules.yamlsource import parse_yaml

    with pytest.raises(RuleFileError) as caught:
        parse_yaml("group: local\n" + text, "x.yaml")
    [problem] = caught.value.problems
    assert (problem.line, problem.path) == (2, "rules") and "is not allowed in a rule file" in problem.message
    assert parse_yaml("group: local\nrules: !!seq [{a: 1}]\n", "x.yaml").data == {"group": "local", "rules": [{"a": 1}]}


def test_a_file_deleted_mid_load_is_its_guides_problem(root: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil as shutil_module

    real = shutil_module.copyfile

    def vanishing(src: Any, dst: Any, **kw: Any) -> Any:
        if Path(src).name == "extra.yaml":
            raise FileNotFoundError(2, "No such file or directory", str(src))
        return real(src, dst, **kw)

    _rule_file(root).write_text("group: local\nrules: []\n", encoding="utf-8")
    monkeypatch.setattr("service.snapshots.shutil.copyfile", vanishing)
    store = _store(root, tmp_path / "state")
    error = store.status["tromso"].last_error
    assert error and "tromso/rules/extra.yaml" in error[0]
    assert store.get("oygarden") is not None


def test_a_failed_guide_is_not_retried_until_its_files_change(root: Path, tmp_path: Path) -> None:
    _python_tag(root)
    store = _store(root, tmp_path / "state")
    assert store.reload_errors == 1
    assert not store.check()
    assert store.reload_errors == 1


# --- the running service ------------------------------------------------------------------------

def _answers(url: str, n: int) -> list[tuple[int, str | None]]:
    results: list[tuple[int, str | None]] = []

    def client() -> None:
        for _ in range(n // 4):
            status, body = post(f"{url}/v1/municipalities/tromso/decisions", CASE)
            results.append((status, body.get("ruleset", {}).get("version") if status == 200 else None))

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _readiness(url: str, n: int) -> list[int]:
    return [get(f"{url}/readyz")[0] for _ in range(n)]


def _wait_for_new_workers(master: int, old: set[int], count: int, url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        pids = worker_pids(master)
        if len(pids) == count and not (pids & old) and get(f"{url}/healthz")[0] == 200:
            break
        assert time.monotonic() < deadline, "the workers were not replaced"
        time.sleep(0.2)
    time.sleep(3)  # let every new worker finish booting


@pytest.mark.slow
def test_every_worker_serves_the_last_good_version_after_kill_and_sighup_while_a_guide_is_broken(
        root: Path, tmp_path: Path) -> None:
    env = {"BTI_STATE_DIR": str(tmp_path / "state")}
    with bti_serve_process(root, workers=2, reload_interval=0.2, env=env) as (url, master):
        assert {v for _, v in _answers(url, 20)} == {"2026.1"}
        (root / "tromso" / "rules" / "broken.yaml").write_text(BROKEN, encoding="utf-8")
        _set_version(root / "tromso" / "guide.yaml", "2026.3")
        deadline = time.monotonic() + 20
        while not (get(f"{url}/v1/status")[1]["guides"]["tromso"]["last_reload_error"] or {}).get("problems"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(1)  # both workers have seen it

        old = worker_pids(master.pid)
        victim = min(old)
        os.kill(victim, signal.SIGKILL)  # a worker dies; gunicorn starts another into the broken folder
        _wait_for_new_workers(master.pid, {victim}, 2, url)
        after_kill, ready_after_kill = _answers(url, 40), _readiness(url, 20)

        old = worker_pids(master.pid)
        master.send_signal(signal.SIGHUP)  # every worker is replaced
        _wait_for_new_workers(master.pid, old, 2, url)
        after_hup, ready_after_hup = _answers(url, 40), _readiness(url, 20)

    assert after_kill == [(200, "2026.1")] * 40
    assert after_hup == [(200, "2026.1")] * 40
    assert set(ready_after_kill) == set(ready_after_hup) == {200}


# --- what a load reads, what is kept ------------------------------------------------------------

def test_a_change_to_laws_yaml_alone_reloads_the_guides(root: Path, tmp_path: Path) -> None:
    """Regression: the change check looked at guide.yaml, catalog.yaml and rules/*.yaml only, and
    the digest left laws.yaml out, so an edited laws.yaml was never loaded (and a snapshot named by
    the old digest kept the old file)."""
    store = _store(root, tmp_path / "state")
    before = store.get("national").digest  # type: ignore[union-attr]
    laws = root / "national" / "laws.yaml"
    text = laws.read_text(encoding="utf-8")
    assert '"Lov om barnevern (barnevernsloven)"' in text
    laws.write_text(text.replace('"Lov om barnevern (barnevernsloven)"', '"Lov om barnevern"', 1), encoding="utf-8")
    assert store.check()
    national = store.get("national")
    assert national is not None and national.digest != before
    assert national.laws is not None and national.laws.acts["barnevernsloven"].title == "Lov om barnevern"
    kept = store.snapshots.accepted("national")
    assert kept is not None and "Lov om barnevern\"" in (kept / "national" / "laws.yaml").read_text(encoding="utf-8")


def test_a_change_to_pathway_yaml_alone_reloads_the_guide(root: Path, tmp_path: Path) -> None:
    store = _store(root, tmp_path / "state")
    before = store.get("national").digest  # type: ignore[union-attr]
    pathway = root / "national" / "pathway.yaml"
    pathway.write_text(pathway.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert store.check()
    assert store.get("national").digest != before  # type: ignore[union-attr]


def _with_version(guide_yaml: Path, original: str, version: str) -> None:
    guide_yaml.write_text(original.replace('version: "2026.1"', f'version: "{version}"'), encoding="utf-8")


def test_old_snapshots_are_pruned_keeping_the_current_and_a_few_before_it(root: Path, tmp_path: Path) -> None:
    """Regression: every accepted version stayed in the state directory for ever."""
    from service.snapshots import KEEP_PREVIOUS, STALE_STAGING

    state = tmp_path / "state"
    leftover = state / "staging" / "tromso-left-by-a-killed-worker"
    leftover.mkdir(parents=True)
    os.utime(leftover, (time.time() - STALE_STAGING - 10,) * 2)
    fresh = state / "staging" / "tromso-being-staged-now"
    fresh.mkdir()
    store = _store(root, state)
    guide_yaml = root / "tromso" / "guide.yaml"
    original = guide_yaml.read_text(encoding="utf-8")
    digests = [store.get("tromso").digest]  # type: ignore[union-attr]
    for n in range(2, 8):
        _with_version(guide_yaml, original, f"2026.{n}")
        assert store.check()
        digests.append(store.get("tromso").digest)  # type: ignore[union-attr]
    assert len(set(digests)) == 7
    home = state / "guides" / "tromso"
    kept = sorted(p.name for p in home.iterdir() if p.is_dir())
    assert kept == sorted(safe_name(d) for d in digests[-1 - KEEP_PREVIOUS:])
    assert store.snapshots.accepted("tromso") == home / safe_name(digests[-1])
    assert not leftover.exists() and fresh.exists()


def test_an_older_version_accepted_again_counts_as_the_newest(root: Path, tmp_path: Path) -> None:
    """A snapshot accepted again (the files went back to it) is not pruned as an old one."""
    from service.snapshots import KEEP_PREVIOUS

    state = tmp_path / "state"
    store = _store(root, state)
    guide_yaml = root / "tromso" / "guide.yaml"
    original = guide_yaml.read_text(encoding="utf-8")
    first = store.get("tromso").digest  # type: ignore[union-attr]
    for n in range(2, 3 + KEEP_PREVIOUS):
        _with_version(guide_yaml, original, f"2026.{n}")
        assert store.check()
    guide_yaml.write_text(original, encoding="utf-8")  # back to the first version
    assert store.check()
    assert store.get("tromso").digest == first  # type: ignore[union-attr]
    _with_version(guide_yaml, original, "2026.99")
    assert store.check()
    assert (state / "guides" / "tromso" / safe_name(first)).is_dir()


# --- links out of the rule folder ---------------------------------------------------------------

SECRET_KEY_NAME = "AWS_SECRET_ACCESS_KEY"


def test_a_link_to_a_file_outside_the_rule_folder_is_refused_unread(
        root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Regression: a rule file linked to a file elsewhere was read; its unknown key, a secret's
    name, was quoted on /v1/status and in the log."""
    import json

    from service.app import create_app

    outside = tmp_path / "elsewhere" / "settings.yaml"
    outside.parent.mkdir()
    outside.write_text(f"group: local\nrules: []\n{SECRET_KEY_NAME}: x\n", encoding="utf-8")
    _rule_file(root).symlink_to(outside)
    os.environ["BTI_STATE_DIR"] = str(tmp_path / "state")
    try:
        with caplog.at_level(logging.INFO, logger="bti"):
            app = create_app({"TESTING": True, "BTI_MUNICIPALITIES": str(root)})
            status = app.test_client().get("/v1/status").get_json()
    finally:
        del os.environ["BTI_STATE_DIR"]
    problems = status["guides"]["tromso"]["last_reload_error"]["problems"]
    assert problems == ["tromso/rules/extra.yaml: a link to a file outside the rule folder: not read "
                        "(copy the file into the guide's folder instead)"]
    assert status["guides"]["tromso"]["serving"] is False
    assert SECRET_KEY_NAME not in json.dumps(status)
    assert not [r for r in caplog.records if SECRET_KEY_NAME in r.getMessage()]
    assert "tromso/rules/extra.yaml" in caplog.text


LOCAL_RULE = """\
group: local
rules:
  - id: leader_on_bullying
    title: {nb: "Mobbing: drøft med leder", nn: "Mobbing: drøft med leiar", en: "Bullying: consult the leader"}
    because: {nb: "Saken drøftes med leder.", nn: "Saka blir drøfta med leiar.", en: "Discuss it with the leader."}
    when: {signal: bullying}
    then: {steps: [discuss_with_leader]}
"""


def test_a_link_inside_the_rule_folder_is_followed(root: Path, tmp_path: Path) -> None:
    # a rule file of its own (no bundled guide keeps one: their facts come from published pages)
    (root / "oygarden" / "rules").mkdir()
    (root / "oygarden" / "rules" / "teams.yaml").write_text(LOCAL_RULE, encoding="utf-8")
    plain = _store(root, tmp_path / "plain").get("oygarden")
    teams = root / "oygarden" / "rules" / "teams.yaml"
    teams.rename(root / "oygarden" / "teams-source.yaml")
    teams.symlink_to(Path("..") / "teams-source.yaml")
    linked = _store(root, tmp_path / "state").get("oygarden")
    assert plain is not None and linked is not None and linked.digest == plain.digest


def test_a_link_outside_is_refused_without_a_state_directory(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(f"group: local\nrules: []\n{SECRET_KEY_NAME}: x\n", encoding="utf-8")
    _rule_file(root).symlink_to(outside)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    store = _store(root, blocker / "state")
    error = store.status["tromso"].last_error
    assert error and "outside the rule folder" in error[0] and SECRET_KEY_NAME not in error[0]


# --- staging is bounded like loading --------------------------------------------------------------

def _largest_file_and_count(folder: Path) -> tuple[int, int]:
    sizes = [p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return max(sizes, default=0), len(sizes)


def _copies_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    copied: list[str] = []
    real = shutil.copyfile

    def counting(src: Any, dst: Any, **kw: Any) -> Any:
        copied.append(Path(src).name)
        return real(src, dst, **kw)

    monkeypatch.setattr("service.snapshots.shutil.copyfile", counting)
    return copied


def test_staging_copies_no_file_of_a_guide_over_the_size_limit(root: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: a guide's files were copied into the state directory, a 50 MB file whole,
    before the loader found the file over its 256 KiB limit."""
    state = tmp_path / "state"
    store = _store(root, state)
    accepted = store.get("tromso")
    assert accepted is not None
    copied = _copies_made(monkeypatch)
    with (root / "tromso" / "rules" / "huge.yaml").open("wb") as f:
        f.truncate(50 * 2**20)  # sparse: 50 MB of size, no disk used
    store.check()

    error = store.status["tromso"].last_error
    assert error == ["tromso/rules/huge.yaml: the file has 50.0 MiB: a rule file may have at most 256 KiB "
                     "(docs/rule-language.md, Limits)"]
    assert copied == []  # refused before any file of the guide was copied
    largest, _ = _largest_file_and_count(state)
    assert largest < 2**20
    assert store.get("tromso") is accepted  # the last accepted version still serves


def test_staging_copies_nothing_of_a_guide_with_too_many_rule_files(root: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for a guide of thousands of small rule files: refused from the listing."""
    state = tmp_path / "state"
    store = _store(root, state)
    _, files_before = _largest_file_and_count(state)
    copied = _copies_made(monkeypatch)
    for n in range(2000):
        (root / "tromso" / "rules" / f"r{n:04}.yaml").write_text("group: local\nrules: []\n", encoding="utf-8")
    store.check()

    error = store.status["tromso"].last_error
    assert error and error[0].startswith("tromso/rules: 2,000 rule files: a guide may have at most 100")
    assert copied == []
    assert _largest_file_and_count(state)[1] == files_before
