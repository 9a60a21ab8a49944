"""The engine adapter (rules.engine) and evaluate(): no state left behind, a decision when no
rule fires, the same decisions from many threads as from one, errors instead of crashes."""

from __future__ import annotations

import random
import shutil
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from rules.case import Case
from rules.decision import Decision
from rules.engine import SID_POOL_SIZE, RuleEngine, Session, _sid_pool, fnv1a_32
from rules.errors import CaseError, EngineError
from rules.evaluate import evaluate
from rules.loader import load_guide
from rules.model import CONSENT_ANSWERS, LANGUAGES, MEASURES, RESPONSIBILITIES, Guide
from rules.prepare import start_guide
from toolkit.scenarios import decision_summary

ROOT = Path(__file__).resolve().parent.parent
NATIONAL = ROOT / "municipalities" / "national"


def mixed_cases(guide: Guide, n: int, seed: int) -> list[Case]:
    """Children and pregnant women of every age, 1–4 signals of every strength, every consent
    answer, level and measure, with and without services involved."""
    rnd = random.Random(seed)
    services = list(guide.catalog.services)
    s = guide.settings
    cases = []
    for _ in range(n):
        kind = rnd.choice(["child"] * 4 + ["pregnant"])
        age = rnd.randint(s.child_age_min, s.child_age_max) if kind == "child" else \
            rnd.randint(s.pregnant_age_min, s.pregnant_age_max)
        fitting = [code for code, info in guide.catalog.signals.items() if kind in info.subjects]
        reporter = rnd.choice(services)
        cases.append(Case(
            subject_kind=kind, age=age, reporter=reporter,
            signals={code: rnd.randint(1, 3) for code in rnd.sample(fitting, rnd.randint(1, 4))},
            parental_responsibility=rnd.choice(RESPONSIBILITIES),
            consent_parents=rnd.choice(CONSENT_ANSWERS),
            consent_subject=rnd.choice(CONSENT_ANSWERS[:4]),
            current_level=rnd.choice([None, None, 0, 1, 2, 3]),
            measures_effective=rnd.choice([None, *MEASURES]),
            services_involved=tuple(rnd.sample([x for x in services if x != reporter], rnd.choice([0, 0, 1, 2, 3]))),
            complex_long_term_needs=rnd.random() < 0.1,
        ))
    return cases


def outcome(decision: Decision) -> tuple[dict[str, Any], tuple[str, ...]]:
    return decision_summary(decision), tuple(e.rule for e in decision.explanation)


def assert_engine_clean(engine: RuleEngine) -> None:
    assert engine.live_states() == 0
    assert engine.free_sids() == SID_POOL_SIZE * len(engine.shared)


@pytest.fixture()
def fresh(guide: Guide) -> Iterator[Guide]:
    """The national guide in an engine of its own, closed afterwards (the shared one stays open)."""
    own = start_guide(guide)
    yield own
    own.engine.close()


# --- (a) no state left behind --------------------------------------------------------------


def test_no_state_left_after_10000_decisions(guide: Guide) -> None:
    cases = mixed_cases(guide, 10_000, seed=1)
    rnd = random.Random(2)
    refused = 0
    for i, case in enumerate(cases):
        if i % 500 == 0:  # now and then a case the guide refuses (child older than 25)
            case = Case("child", 30, "school", {"school_absence": 2})
        try:
            evaluate(guide, case, rnd.choice(LANGUAGES))
        except CaseError:
            refused += 1
    assert refused == 20
    assert_engine_clean(guide.engine)


def test_live_states_sees_a_state_the_engine_holds(guide: Guide) -> None:
    """The check above can fail: a state left in the engine is counted. (A session deletes each
    phase's state as soon as it has read what fired, so one is made here by hand.)"""
    import json

    from rules import engine as adapter

    shared = guide.engine.shared[1]
    sid = shared.take_sid(1.0)
    fact = dict(guide.fact_template, t=1, kind="child", age=10, id="probe", sid=sid)
    _, state = adapter._engine.assert_fact(shared.handle, json.dumps(fact))
    adapter._engine.start_action_for_state(shared.handle, state)
    assert guide.engine.live_states() == 1
    adapter._engine.delete_state(shared.handle, sid)
    shared.give_back(sid, state_deleted=True, touched=True)
    with guide.engine.session() as session:
        session.assert_fact(dict(guide.fact_template, t=1, kind="child", age=10))
        assert guide.engine.free_sids() == SID_POOL_SIZE * 3  # the sid went back with its state
    assert_engine_clean(guide.engine)


def test_state_is_deleted_when_the_caller_fails(guide: Guide) -> None:
    fact = dict(guide.fact_template, t=1, kind="child", age=10)
    with pytest.raises(RuntimeError), guide.engine.session() as session:
        session.assert_fact(fact)
        raise RuntimeError("the caller failed mid-decision")
    with pytest.raises(RuntimeError), guide.engine.session():
        raise RuntimeError("before any fact")
    assert_engine_clean(guide.engine)


def test_busy_engine_is_an_error_not_a_wait_forever(fresh: Guide) -> None:
    shared = fresh.engine.shared[1]
    taken = [shared.take_sid(1.0) for _ in range(SID_POOL_SIZE)]  # every sid in use elsewhere
    try:
        with pytest.raises(EngineError, match="busy"), fresh.engine.session(timeout=0.01) as session:
            session.assert_fact(dict(fresh.fact_template, t=1, kind="child", age=10))
    finally:
        for sid in taken:
            shared.give_back(sid, state_deleted=True, touched=False)
    assert_engine_clean(fresh.engine)


def test_guides_with_the_same_compiled_rules_share_one_ruleset(registry: Any) -> None:
    """Tromsø changes only settings the national rules do not compare with: its three phase
    rulesets are the national ones; Løten adds a phase-3 rule: its phase 3 is its own."""
    national, tromso, loten = (registry.guides[g].engine for g in ("national", "tromso", "loten"))
    assert [tromso.shared[p] is national.shared[p] for p in (1, 2, 3)] == [True, True, True]
    assert [loten.shared[p] is national.shared[p] for p in (1, 2, 3)] == [True, True, False]


def test_unhandled_fact_gives_its_sid_back(fresh: Guide) -> None:
    with pytest.raises(EngineError, match="did not handle"), fresh.engine.session() as session:
        session.assert_fact(dict(fresh.fact_template, t=9, kind="child", age=10))
    assert_engine_clean(fresh.engine)


# --- (b) no rule fires ---------------------------------------------------------------------

ONLY_RULE = """\
group: only
rules:
  - id: acute_danger
    title: Acute danger
    because: Call 112.
    when: {signal: acute_danger, strength: any}
    then:
      steps: [call_emergency_112]
"""


def test_decision_when_no_rule_fires(tmp_path: Path) -> None:
    folder = tmp_path / "national"
    shutil.copytree(NATIONAL, folder)
    for path in (folder / "rules").glob("*.yaml"):
        path.unlink()
    (folder / "rules" / "only.yaml").write_text(ONLY_RULE, encoding="utf-8")
    tiny = load_guide(folder, root=tmp_path)
    try:
        assert [r.id for r in tiny.rules] == ["national.only.acute_danger"]
        decision = evaluate(tiny, Case("child", 10, "school", {"school_absence": 2}), "en")
        assert decision.level == 0
        assert decision.level_name == tiny.catalog.levels[0]["en"]
        assert (decision.steps, decision.actors, decision.forbidden, decision.explanation) == ((), (), (), ())
        assert decision.urgent is False
        assert (decision.consent.required_from, decision.consent.blocks_level) == (None, None)
        assert_engine_clean(tiny.engine)
    finally:
        tiny.engine.close()


# --- (c) threads ---------------------------------------------------------------------------


@pytest.fixture()
def switch_often() -> Iterator[None]:
    """Switch threads often, so that sessions of different threads overlap."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


def test_concurrent_decisions_equal_sequential_ones(guide: Guide, monkeypatch: pytest.MonkeyPatch,
                                                    switch_often: None) -> None:
    cases = mixed_cases(guide, 2000, seed=7)
    langs = [LANGUAGES[i % len(LANGUAGES)] for i in range(len(cases))]
    sequential = [outcome(evaluate(guide, c, lang)) for c, lang in zip(cases, langs, strict=True)]

    live, peak, lock = 0, 0, threading.Lock()
    session = guide.engine.session

    @contextmanager
    def counted(timeout: float = 10.0) -> Iterator[Session]:
        nonlocal live, peak
        with session(timeout) as s:
            with lock:
                live += 1
                peak = max(peak, live)
            try:
                yield s
            finally:
                with lock:
                    live -= 1

    monkeypatch.setattr(guide.engine, "session", counted)
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(lambda args: outcome(evaluate(guide, *args)), zip(cases, langs, strict=True)))
    monkeypatch.undo()
    assert peak > 1, "no two sessions were ever live at once: the test proved nothing"
    for case, seq, con in zip(cases, sequential, concurrent, strict=True):
        assert con == seq, case
    # the cases are mixed: every level, urgent and not, the gate shut and open
    assert {s["level"] for s, _ in sequential} == {0, 1, 2, 3}
    assert {s["urgent"] for s, _ in sequential} == {True, False}
    assert {s["consent"]["blocks_level"] for s, _ in sequential} > {None}
    assert_engine_clean(guide.engine)


# --- (d) sids ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [SID_POOL_SIZE, 1024])
def test_sid_pool_hashes_are_distinct(size: int) -> None:
    """Two sids with one hash would share one engine state: two requests could mix."""
    sids = _sid_pool(size)
    assert len(sids) == size
    assert len({fnv1a_32(sid) for sid in sids}) == size
    assert _sid_pool(size) == sids  # every engine builds the same pool


# --- (e) a closed engine -------------------------------------------------------------------


def test_closed_engine_is_an_error_not_a_crash(fresh: Guide, guide: Guide) -> None:
    case = Case("child", 10, "school", {"school_absence": 2})
    assert evaluate(fresh, case) == evaluate(guide, case)
    fresh.engine.close()
    with pytest.raises(EngineError, match="unloaded"):
        evaluate(fresh, case)
    fresh.engine.close()  # twice is harmless
    assert evaluate(guide, case).level == 1  # another ruleset is untouched


# --- (f) determinism -----------------------------------------------------------------------


def test_same_case_twice_gives_identical_decisions(guide: Guide) -> None:
    for case in mixed_cases(guide, 50, seed=11):
        for lang in LANGUAGES:
            first, second = evaluate(guide, case, lang), evaluate(guide, case, lang)
            assert first == second
            assert first is not second
