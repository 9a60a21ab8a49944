"""The one adapter around durable_rules: the only module that imports it.

Uses the engine's C layer (``durable_rules_engine``) directly, the way ``durable.engine.Ruleset``
does, but without ``durable.engine.Host``: a Host starts timer threads that walk a state index
``delete_state`` never updates (segfaults with one state per request), and this service needs no
timers, events or stored messages. What it keeps from the engine is the real work: the Rete
network built from the ruleset, matching each asserted fact, and the agenda of rules to fire,
read back one action at a time (``start_action_for_state`` / ``complete_and_start_action``).

Each evaluation runs in a fresh state whose sid comes from a pool of sids whose 32-bit FNV-1a
hashes (how the engine finds a state) are distinct, and the state is deleted afterwards whatever
happens.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import durable_rules_engine as _engine

from rules.errors import EngineError

SID_POOL_SIZE = 64  # the engine allows 1024 live states per ruleset
_STATUS_NOT_HANDLED, _STATUS_OBSERVED = 1, 2
_names = itertools.count(1)
_names_lock = threading.Lock()


def fnv1a_32(text: str) -> int:
    """The engine's hash of sids and attribute names (``fnv1Hash32`` in state.c)."""
    h = 0x811C9DC5
    for byte in text.encode("utf-8"):
        h ^= byte if byte < 128 else byte - 256 & 0xFFFFFFFF  # the C code xors a signed char
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def distinct_sids() -> Iterator[str]:
    """Sids ``s0, s1, …`` whose hashes are all different from each other."""
    seen: set[int] = set()
    for n in itertools.count():
        sid = f"s{n}"
        h = fnv1a_32(sid)
        if h not in seen:
            seen.add(h)
            yield sid


def _sid_pool(size: int) -> list[str]:
    return list(itertools.islice(distinct_sids(), size))


def _rule_name(message: str) -> str:
    """The fired rule's name: the first key of the action message ``{"<rule>": {...}}``.
    Reading it from the text saves decoding the whole fact once per fired rule."""
    if not message.startswith('{"'):
        raise EngineError(f"unexpected action message from the engine: {message[:40]!r}")
    return message[2:message.index('"', 2)]


class Session:
    """One evaluation's states in the engine (one per phase ruleset, all under one sid): assert
    facts, read which rules fired."""

    def __init__(self, engine: RuleEngine, sid: str) -> None:
        self._engine = engine
        self.sid = sid
        self._facts = 0
        self.touched: set[int] = set()  # phases whose ruleset may hold a state for this sid
        self.started: set[int] = set()  # ... on which an action started (then deleting it is safe)

    def assert_fact(self, fact: Mapping[str, Any]) -> list[str]:
        """Assert ``fact`` (its ``t`` names the phase) in this session's state of that phase's
        ruleset; the names of the rules it fired, in the order the engine fired them."""
        phase = fact.get("t")
        handle = self._engine.handles.get(phase)  # type: ignore[arg-type]
        if handle is None:
            raise EngineError(f"the rule engine did not handle the case (no ruleset for phase {phase!r})")
        self._facts += 1
        names = self._engine.attributes.get(phase)  # type: ignore[arg-type]
        # only the attributes this phase's rules read: less to encode and to match
        body = dict(fact) if names is None else {name: fact[name] for name in names if name in fact}
        body.update(t=phase, id=f"f{self._facts}", sid=self.sid)
        self.touched.add(phase)  # type: ignore[arg-type]
        try:
            status, state_handle = _engine.assert_fact(handle, json.dumps(body))
        except Exception as exc:  # the C layer raises plain Exceptions with an error number
            raise EngineError(f"the rule engine refused a fact: {exc}") from exc
        if status == _STATUS_NOT_HANDLED:
            raise EngineError("the rule engine did not handle the case (no rule for its phase)")
        if status == _STATUS_OBSERVED:
            raise EngineError("the rule engine saw the same fact twice")
        fired: list[str] = []
        sentinel = self._engine.sentinels
        try:
            started = _engine.start_action_for_state(handle, state_handle)
            if started:
                self.started.add(phase)  # type: ignore[arg-type]
            message = started[1] if started else None
            while message:
                name = _rule_name(message)
                if name not in sentinel and name not in fired:
                    # a rule whose condition has "or" fires once per branch that matches
                    fired.append(name)
                message = _engine.complete_and_start_action(handle, state_handle)
        except Exception as exc:
            raise EngineError(f"the rule engine failed while firing rules: {exc}") from exc
        if phase in self.started:
            # Each phase's fact stands alone, so its state goes at once: with states left live
            # in the other phases' rulesets every assert was two to five times slower (measured).
            _engine.delete_state(handle, self.sid)
            self.touched.discard(phase)
            self.started.discard(phase)
        return fired


class RuleEngine:
    """A compiled guide loaded into the engine — one ruleset per phase, so each assert is
    matched only against the rules of its phase — evaluated in short-lived sessions.

    ``close()`` while sessions run only marks the engine closed; the rulesets are freed when the
    last session ends (a reload swaps engines under requests in flight)."""

    def __init__(self, name: str, rulesets: Mapping[int, Mapping[str, Any]], sentinels: frozenset[str],
                 attributes: Mapping[int, tuple[str, ...]] | None = None) -> None:
        with _names_lock:
            self.name = f"{name}#{next(_names)}"  # the engine keeps names; a reload needs a new one
        self.handles: dict[int, int] = {}
        try:
            for phase, ruleset in rulesets.items():
                self.handles[phase] = _engine.create_ruleset(f"{self.name}.{phase}",
                                                             json.dumps(ruleset, ensure_ascii=False))
        except Exception as exc:
            for handle in self.handles.values():
                _engine.delete_ruleset(handle)
            raise EngineError(f"the rule engine could not load the ruleset: {exc}") from exc
        self.sentinels = sentinels
        # the attributes each phase's rules read (none given: facts are sent whole)
        self.attributes = {phase: tuple(names) for phase, names in (attributes or {}).items()}
        self._new_sids = distinct_sids()
        self._sids: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._issued: list[str] = []
        for _ in range(SID_POOL_SIZE):
            self._sids.put(self._next_sid())
        self._lock = threading.Lock()
        self._active = 0
        self._closed = False
        self._freed = False
        self.lost_states = 0  # states left in the engine because deleting them is unsafe

    def _next_sid(self) -> str:
        sid = next(self._new_sids)
        self._issued.append(sid)
        return sid

    @contextmanager
    def session(self, timeout: float = 10.0) -> Iterator[Session]:
        """Fresh states under a sid no other live session has; deleted on exit, always."""
        with self._lock:
            if self._closed:
                raise EngineError("the ruleset was unloaded")
            self._active += 1
        try:
            try:
                sid = self._sids.get(timeout=timeout)
            except queue.Empty:
                raise EngineError("the rule engine is busy: no free session") from None
            session = Session(self, sid)
            try:
                yield session
            finally:
                self._release(session)
        finally:
            with self._lock:
                self._active -= 1
                free = self._closed and self._active == 0
            if free:
                self._free()

    def _release(self, session: Session) -> None:
        unsafe = session.touched - session.started
        try:
            for phase in session.started:
                _engine.delete_state(self.handles[phase], session.sid)
        finally:
            if unsafe:
                # Deleting a state on which no action started crashes the engine (see the research
                # notes); leave it, and give the pool a new sid in its place.
                self.lost_states += 1
                self._sids.put(self._next_sid())
            else:
                self._sids.put(session.sid)

    def live_states(self) -> int:
        """How many states the engine holds for this guide (0 between evaluations)."""
        count = 0
        for handle in self.handles.values():
            for sid in self._issued:
                try:
                    facts = json.loads(_engine.get_facts(handle, sid))
                except Exception:  # the engine raises when the sid has no state
                    continue
                count += bool(facts)
        return count

    def free_sids(self) -> int:
        return self._sids.qsize()

    def close(self) -> None:
        """Unload the rulesets once no session uses them any more."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            free = self._active == 0
        if free:
            self._free()

    def _free(self) -> None:
        with self._lock:
            if self._freed:
                return
            self._freed = True
        for handle in self.handles.values():
            _engine.delete_ruleset(handle)
