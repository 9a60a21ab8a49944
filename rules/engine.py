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
    """One evaluation's state in the engine: assert facts, read which rules fired."""

    def __init__(self, handle: int, sid: str, sentinels: frozenset[str]) -> None:
        self._handle = handle
        self.sid = sid
        self._sentinels = sentinels
        self._facts = 0
        self.touched = False  # the engine may hold a state for this sid
        self.started = False  # an action started on it (then deleting it is safe)

    def assert_fact(self, fact: Mapping[str, Any]) -> list[str]:
        """Assert ``fact`` in this session's state; the names of the rules it fired, in the
        order the engine fired them (sentinel rules left out)."""
        self._facts += 1
        body = dict(fact, id=f"f{self._facts}", sid=self.sid)
        self.touched = True
        try:
            status, state_handle = _engine.assert_fact(self._handle, json.dumps(body))
        except Exception as exc:  # the C layer raises plain Exceptions with an error number
            raise EngineError(f"the rule engine refused a fact: {exc}") from exc
        if status == _STATUS_NOT_HANDLED:
            raise EngineError("the rule engine did not handle the case (no rule for its phase)")
        if status == _STATUS_OBSERVED:
            raise EngineError("the rule engine saw the same fact twice")
        fired: list[str] = []
        try:
            started = _engine.start_action_for_state(self._handle, state_handle)
            self.started = self.started or bool(started)
            message = started[1] if started else None
            while message:
                name = _rule_name(message)
                if name not in self._sentinels and name not in fired:
                    # a rule whose condition has "or" fires once per branch that matches
                    fired.append(name)
                message = _engine.complete_and_start_action(self._handle, state_handle)
        except Exception as exc:
            raise EngineError(f"the rule engine failed while firing rules: {exc}") from exc
        return fired


class RuleEngine:
    """A compiled ruleset loaded into the engine, evaluated in short-lived sessions.

    ``close()`` while sessions run only marks the engine closed; the ruleset is freed when the
    last session ends (a reload swaps engines under requests in flight)."""

    def __init__(self, name: str, ruleset: Mapping[str, Any], sentinels: frozenset[str]) -> None:
        with _names_lock:
            self.name = f"{name}#{next(_names)}"  # the engine keeps names; a reload needs a new one
        try:
            self._handle = _engine.create_ruleset(self.name, json.dumps(ruleset, ensure_ascii=False))
        except Exception as exc:
            raise EngineError(f"the rule engine could not load the ruleset: {exc}") from exc
        self._sentinels = sentinels
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
        """A fresh state with a sid no other live session has; deleted on exit, always."""
        with self._lock:
            if self._closed:
                raise EngineError("the ruleset was unloaded")
            self._active += 1
        try:
            try:
                sid = self._sids.get(timeout=timeout)
            except queue.Empty:
                raise EngineError("the rule engine is busy: no free session") from None
            session = Session(self._handle, sid, self._sentinels)
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
        if not session.touched:
            self._sids.put(session.sid)
        elif session.started:
            try:
                _engine.delete_state(self._handle, session.sid)
            finally:
                self._sids.put(session.sid)
        else:
            # Deleting a state on which no action started crashes the engine (see the research
            # notes); leave it, and give the pool a new sid in its place.
            self.lost_states += 1
            self._sids.put(self._next_sid())

    def live_states(self) -> int:
        """How many states the engine holds for this ruleset (0 between evaluations)."""
        count = 0
        for sid in self._issued:
            try:
                facts = json.loads(_engine.get_facts(self._handle, sid))
            except Exception:  # the engine raises when the sid has no state
                continue
            count += bool(facts)
        return count

    def free_sids(self) -> int:
        return self._sids.qsize()

    def close(self) -> None:
        """Unload the ruleset once no session uses it any more."""
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
        _engine.delete_ruleset(self._handle)
