"""Rule files are bounded (docs/rule-language.md, Limits): a file or guide over a limit is refused
with its file and line before the costly step the limit protects, it costs a worker little memory,
it stays that guide's problem, and the other guides keep reloading. Also what happens when a
guide gets past the limits all the same: the engine's own rule limit, and running out of memory."""

from __future__ import annotations

import gc
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from load.hostile import ALIAS_BOMB, long_because, many_rule_files, rules_of_size, rules_text, run_case
from rules import limits
from rules.errors import RuleFileError
from rules.loader import load_guide
from rules.yamlsource import parse_yaml, read_yaml
from service.paths import BUNDLED as MUNICIPALITIES
from service.store import GuideStore
from tests.servers import bti_serve_process, get, worker_pids

MB = 1024 * 1024


def _problems(text: str) -> list[str]:
    with pytest.raises(RuleFileError) as caught:
        parse_yaml(text, "local.yaml")
    return [str(p) for p in caught.value.problems]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


# --- one file ---------------------------------------------------------------------------------

def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    # nine levels of nine aliases: 9^9 strings once expanded, from 342 bytes
    (problem,) = _problems(ALIAS_BOMB)
    assert problem.startswith("local.yaml:5: this value holds 66,430 values")
    assert "at most 50,000" in problem


def test_aliases_within_the_limit_are_still_expanded() -> None:
    doc = parse_yaml("gate: &gate {subject.age: {below: 18}}\nrules:\n  - when: *gate\n  - when: *gate\n", "x.yaml")
    assert doc.data["rules"] == [{"when": {"subject.age": {"below": 18}}}] * 2


def test_an_alias_inside_the_value_it_refers_to_is_refused_not_recursed_into() -> None:
    (problem,) = _problems("group: g\nrules: &loop\n  - *loop\n")
    assert problem.startswith("local.yaml:2: this value holds an alias of itself")


def test_a_text_over_the_limit_is_refused_with_its_line() -> None:
    text = rules_text(0, 2, "local").replace("because: Lokal regel.", "because: " + "x" * 2001, 1)
    (problem,) = _problems(text)
    assert problem.startswith("local.yaml:5: a text of 2,001 characters: a text may have at most 2,000")


def test_a_text_at_the_limit_is_accepted() -> None:
    doc = parse_yaml(long_because(limits.TEXT_CHARS), "x.yaml")
    assert len(doc.data["rules"][0]["because"]) == limits.TEXT_CHARS


def test_nesting_deeper_than_the_limit_is_refused_with_the_line_it_goes_too_deep() -> None:
    # the file's mapping, then a list on each line from line 3: the 33rd collection opens on line 34
    block = "".join("  " * level + "- \n" for level in range(40)) + "  " * 40 + "- x\n"
    assert _problems("group: g\nrules:\n" + block)[0].startswith("local.yaml:34: nested more than 32 levels deep")
    flow = "group: g\nrules:\n  " + "[" * 40 + "]" * 40 + "\n"
    assert _problems(flow)[0].startswith("local.yaml:3: nested more than 32 levels deep")


def test_nesting_far_past_what_the_yaml_parsers_take_is_refused_with_its_line() -> None:
    # libyaml gives up at 1,000 levels, and the Python parser it falls back to recursed until
    # RecursionError, with no line (issue 16)
    (problem,) = _problems("group: g\nrules: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert problem.startswith("local.yaml:2: nested more than 32 levels deep")


def test_a_large_file_that_does_not_parse_gets_libyamls_message_not_a_second_slow_parse(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the Python parser, whose messages are better, took 10 s for a broken 250 KB file
    import yaml

    loaders = []
    real = yaml.compose

    def compose(text: str, Loader: Any) -> Any:
        loaders.append(Loader.__name__)
        return real(text, Loader=Loader)

    monkeypatch.setattr("rules.yamlsource.yaml.compose", compose)
    (problem,) = _problems(rules_of_size(100 * 1024) + "rules: [\n")
    assert "not valid YAML" in problem and problem.startswith("local.yaml:")
    assert loaders == ["_CLoader"]
    loaders.clear()
    _problems(rules_text(0, 2, "small") + "rules: [\n")  # a small file gets the Python parser's message
    assert loaders == ["_CLoader", "_Loader"]


def test_a_condition_nested_as_deep_as_the_limit_allows_loads_and_decides(tmp_path: Path) -> None:
    # rules (list) > rule (map) > when (map) under the file's mapping: 4 levels; each any/all 2
    # more; the innermost test's own mapping 1: 13 combinators reach 31 of the 32 levels
    condition = "{subject.age: {at_least: 0}}"
    for n in range(13):
        condition = f"{{{'any' if n % 2 else 'all'}: [{condition}, {{subject.kind: pregnant}}]}}"
    root = _copy(tmp_path)
    rule = rules_text(0, 1, "deep").replace("when: {subject.age: {at_least: 0}}", f"when: {condition}")
    (root / "tromso" / "rules" / "deep.yaml").write_text(rule, encoding="utf-8")
    national = load_guide(root / "national", root=root)
    guide = load_guide(root / "tromso", national, root=root)
    assert "tromso.deep.r0" in {r.id for r in guide.rules}
    deeper = rule.replace(f"when: {condition}", f"when: {{all: [{condition}]}}")
    (root / "tromso" / "rules" / "deep.yaml").write_text(deeper, encoding="utf-8")
    with pytest.raises(RuleFileError, match="nested more than 32 levels deep"):
        load_guide(root / "tromso", national, root=root)


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(rules_of_size(limits.FILE_BYTES + 1), encoding="utf-8")
    monkeypatch.setattr("rules.yamlsource.parse_yaml", lambda *a: pytest.fail("the file was parsed"))
    with pytest.raises(RuleFileError) as caught:
        read_yaml(path, "tromso/rules/big.yaml")
    assert str(caught.value).startswith("tromso/rules/big.yaml: the file has 256 KiB: a rule file may have at most")


def test_a_pipe_named_like_a_rule_file_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    with pytest.raises(RuleFileError, match="not a regular file"):
        read_yaml(tmp_path / "pipe.yaml", "pipe.yaml")


# --- one guide --------------------------------------------------------------------------------

def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "municipalities"
    shutil.copytree(MUNICIPALITIES, root, ignore=shutil.ignore_patterns("scenarios"))
    (root / "tromso" / "rules").mkdir(exist_ok=True)
    return root


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    return _copy(tmp_path)


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / "tromso" / "rules" / name).write_text(text, encoding="utf-8")


def _load_tromso(root: Path) -> list[str]:
    national = load_guide(root / "national", root=root)
    with pytest.raises(RuleFileError) as caught:
        load_guide(root / "tromso", national, root=root)
    return [str(p) for p in caught.value.problems]


def test_a_guide_over_the_rule_limit_is_refused_before_any_rule_is_checked(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(root, many_rule_files(1_000, 300))  # 85 national rules + 1,000
    checked = []
    real = __import__("rules.rulefile", fromlist=["validate_document"]).validate_document
    monkeypatch.setattr("rules.rulefile.validate_document", lambda *a, **k: checked.append(1) or real(*a, **k))
    national = load_guide(root / "national", root=root)
    checked.clear()
    with pytest.raises(RuleFileError) as caught:
        load_guide(root / "tromso", national, root=root)
    assert [str(p) for p in caught.value.problems] == [
        "tromso/rules/many003.yaml:78: rules[15]: rule number 1,001 of the guide (985 before this file, inherited "
        "ones included; this file has 100): a guide may have at most 1,000 rules (docs/rule-language.md, Limits)"]
    assert checked == []


def test_a_guide_at_the_rule_limit_loads(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "RULES", 95)  # the real limit takes 1,000 rules to reach: too slow here
    _write(root, many_rule_files(10, 5))
    national = load_guide(root / "national", root=root)
    assert len(load_guide(root / "tromso", national, root=root).rules) == 95
    _write(root, {"one_more.yaml": rules_text(100, 1, "one_more")})
    (problem,) = _load_tromso(root)
    assert problem.startswith("tromso/rules/one_more.yaml:3: rules[0]: rule number 96 of the guide")


def test_a_guide_with_too_many_rule_files_is_refused_naming_its_rules_folder(root: Path) -> None:
    _write(root, {f"f{n:03}.yaml": rules_text(n, 1, f"f{n:03}") for n in range(limits.RULE_FILES + 1)})
    assert _load_tromso(root) == ["tromso/rules: 101 rule files: a guide may have at most 100 "
                                  "(docs/rule-language.md, Limits)"]


def test_a_guide_over_the_size_limit_is_refused_before_any_file_is_parsed(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(root, {f"f{n}.yaml": rules_of_size(200 * 1024) for n in range(6)})
    national = load_guide(root / "national", root=root)
    monkeypatch.setattr("rules.loader.read_yaml", lambda *a: pytest.fail("a file was parsed"))
    with pytest.raises(RuleFileError) as caught:
        load_guide(root / "tromso", national, root=root)
    (problem,) = caught.value.problems
    assert str(problem).startswith("tromso: the guide's files have 1.2 MiB together: a guide may have at most 1.0 MiB")


def test_each_file_over_the_size_limit_is_named(root: Path) -> None:
    _write(root, {"big.yaml": rules_of_size(limits.FILE_BYTES + 10)})
    (problem,) = _load_tromso(root)
    assert problem.startswith("tromso/rules/big.yaml: the file has 256 KiB")


# --- the store: refused, located, not retried, blocking no other guide, memory back -------------

def _store(root: Path, state: Path) -> GuideStore:
    store = GuideStore(root, state_dir=state)
    store.load()
    return store


def _bump(root: Path, gid: str, version: str) -> None:
    guide = root / gid / "guide.yaml"
    guide.write_text(guide.read_text(encoding="utf-8").replace('version: "2026.1"', f'version: "{version}"'),
                     encoding="utf-8")


HOSTILE = {
    "alias bomb": (lambda: {"bomb.yaml": ALIAS_BOMB}, "tromso/rules/bomb.yaml:5: "),
    "50 MB file of rules": (lambda: {"big.yaml": rules_of_size(50 * MB)}, "tromso/rules/big.yaml: the file has 50"),
    "50 MB because": (lambda: {"long.yaml": long_because(50 * MB)}, "tromso/rules/long.yaml: the file has 50"),
    "10,000-rule guide": (lambda: many_rule_files(10_000, 500), "tromso: the guide's files have 1.5 MiB"),
    "a file of 1,600 rules": (lambda: {"big.yaml": rules_of_size(240 * 1024)}, "tromso/rules/big.yaml:4578: "),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_rule_file_is_refused_with_its_file_and_costs_no_memory_afterwards(
        root: Path, tmp_path: Path, case: str) -> None:
    make, where = HOSTILE[case]
    store = _store(root, tmp_path / "state")
    gc.collect()
    before = _rss_mb()
    _write(root, make())
    assert store.check()
    error = store.status["tromso"].last_error
    assert error and error[0].startswith(where)
    assert store.get("tromso").version == "2026.1"  # type: ignore[union-attr]  # the last good version serves
    gc.collect()
    assert _rss_mb() - before < 50
    errors = store.reload_errors
    assert not store.check() and store.reload_errors == errors  # not tried again until the files change
    _bump(root, "oygarden", "2026.7")
    assert store.check() and store.get("oygarden").version == "2026.7"  # type: ignore[union-attr]


def _out_of_memory_in_compose(monkeypatch: pytest.MonkeyPatch) -> None:
    import rules.yamlsource as yamlsource

    real = yamlsource._compose

    def compose(text: str) -> Any:
        if "group: exhausting" in text:
            raise MemoryError
        return real(text)

    monkeypatch.setattr(yamlsource, "_compose", compose)


def test_running_out_of_memory_while_parsing_a_rule_file_is_that_files_problem(
        root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _out_of_memory_in_compose(monkeypatch)
    _write(root, {"extra.yaml": rules_text(0, 1, "exhausting")})
    store = _store(root, tmp_path / "state")  # the worker still boots
    assert store.get("tromso") is None and store.get("oygarden") is not None
    assert store.status["tromso"].last_error == [
        "tromso/rules/extra.yaml: too large to read: the service ran out of memory (docs/rule-language.md, Limits)"]
    errors = store.reload_errors
    assert not store.check() and store.reload_errors == errors
    _bump(root, "oygarden", "2026.8")
    assert store.check() and store.get("oygarden").version == "2026.8"  # type: ignore[union-attr]


def test_running_out_of_memory_while_checking_rules_is_that_files_problem(
        root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def exhausted(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError

    store = _store(root, tmp_path / "state")
    _write(root, {"extra.yaml": rules_text(0, 1, "local")})
    monkeypatch.setattr("rules.loader.load_rule_file", exhausted)
    assert store.check()
    assert store.status["tromso"].last_error == [
        "tromso/rules/extra.yaml: too large to load: the service ran out of memory (docs/rule-language.md, Limits)"]
    assert store.get("tromso").version == "2026.1"  # type: ignore[union-attr]


def test_running_out_of_memory_while_loading_a_guide_into_the_engine_is_that_guides_problem(
        root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import service.store as store_module

    real = store_module.prepare

    def prepare(guide: Any) -> Any:
        if guide.id == "tromso":
            raise MemoryError
        return real(guide)

    monkeypatch.setattr(store_module, "prepare", prepare)
    store = _store(root, tmp_path / "state")  # the worker still boots
    assert store.get("tromso") is None and store.get("oygarden") is not None
    assert store.status["tromso"].last_error == ["tromso: the guide is too large to load"]
    errors = store.reload_errors
    assert not store.check() and store.reload_errors == errors
    _bump(root, "oygarden", "2026.9")
    assert store.check() and store.get("oygarden").version == "2026.9"  # type: ignore[union-attr]


@pytest.mark.slow
def test_a_guide_over_the_engines_own_rule_limit_is_that_guides_problem_and_not_retried(
        root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 4,200 rules that test the same fact: past durable_rules' limit (its error 106 at about
    # 4,100), which the rule limit normally keeps a guide far from
    monkeypatch.setattr(limits, "RULES", 10_000)
    store = _store(root, tmp_path / "state")
    _write(root, many_rule_files(4_200, 300))
    assert store.check()
    (error,) = store.status["tromso"].last_error or []
    assert error.startswith("tromso: could not be loaded: EngineError: the rule engine could not load the ruleset: "
                            "more rules test the same facts than the engine can hold")
    assert store.get("tromso").version == "2026.1"  # type: ignore[union-attr]
    errors = store.reload_errors
    assert not store.check() and store.reload_errors == errors  # not retried (each retry leaked ~36 MB)
    _bump(root, "oygarden", "2026.7")
    assert store.check() and store.get("oygarden").version == "2026.7"  # type: ignore[union-attr]


# --- the running service --------------------------------------------------------------------

@pytest.mark.slow
def test_the_running_service_refuses_each_hostile_file_on_its_status_with_worker_memory_back(
        root: Path, tmp_path: Path) -> None:
    # the probe of issue 16: a 442-byte alias bomb took 40 s and 4.3 GB per worker, a 50 MB file
    # of rules was still loading after 4 minutes, a 50 MB because was served in every decision,
    # a 10,000-rule guide was retried until both workers timed out
    with bti_serve_process(root, workers=2, reload_interval=0.5,
                           env={"BTI_STATE_DIR": str(tmp_path / "state")}) as (url, master):
        deadline = time.monotonic() + 60
        while len(worker_pids(master.pid)) < 2 or any(get(f"{url}/readyz")[0] != 200 for _ in range(6)):
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.2)
        workers = sorted(worker_pids(master.pid))
        for case in ("alias bomb", "50 MB file of rules", "50 MB because", "10,000-rule guide"):
            make, where = HOSTILE[case]
            # waits (up to 60 s each) for the error on /v1/status from every worker, for another
            # guide's change to be served, and for tromso to load again once the files are gone
            row = run_case(url, workers, root, case, make(), timeout=60)
            assert row["error"][0].startswith(where), case
            for worker in row["workers"]:
                assert worker["rss_after_mb"] - worker["rss_before_mb"] < 50, case
