"""The one adapter around durable_rules: the only module that imports it.

Uses the engine's C layer (``durable_rules_engine``) directly, the way ``durable.engine.Ruleset``
does, but without ``durable.engine.Host``: a Host starts timer threads that walk a state index
``delete_state`` never updates (segfaults with one state per request), and this service needs no
timers, events or stored messages. What it keeps from the engine is the real work: the Rete
network built from the ruleset, matching each asserted fact, and the agenda of rules to fire,
read back one action at a time (``start_action_for_state`` / ``complete_and_start_action``).

Each assert goes into a state of its own: a sid from a pool of sids whose 32-bit FNV-1a hashes
(how the engine finds a state) are distinct, so no two evaluations in flight share one. The fact
is retracted as soon as its fired rules are read, which leaves the state empty for the next
evaluation that takes the sid: making a state costs the engine about 8 KB of cleared memory per
rule, as much as the match itself, so states are kept and reused, not made per assert. A state
that could not be emptied is deleted. docs/engine-design.md lists the engine's sharp edges this
module works around.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

import durable_rules_engine as _engine
import orjson

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


def encode_fact(fact: Mapping[str, Any]) -> str:
    """A fact as the JSON text the engine reads (its values are codes, small integers and 0/1:
    orjson writes the same text as json.dumps, in about a tenth of the time)."""
    return orjson.dumps(fact).decode()


def _rule_name(message: str) -> str:
    """The fired rule's name: the first key of the action message ``{"<rule>": {...}}``.
    Reading it from the text saves decoding the whole fact once per fired rule."""
    if not message.startswith('{"'):
        raise EngineError(f"unexpected action message from the engine: {message[:40]!r}")
    return message[2:message.index('"', 2)]


# what the engine's error numbers on creating a ruleset mean ("… error code: 106")
_CREATE_ERRORS = {
    "106": "more rules test the same facts than the engine can hold (it gives up at about 4,100; "
           "docs/rule-language.md, Limits, keeps a guide to 1,000)",
}


class SharedRuleset:
    """One C ruleset with its pool of sids. Guides whose phase compiles to the same ruleset text
    share it (357 guides compile to a few dozen distinct phase rulesets; sharing took a worker
    from 471 to 131 MB, docs/performance.md). Freed when no engine refers to it.

    Free sids are a stack: the sid given back last is taken first, so a worker deciding one case
    at a time keeps reusing one warm state per ruleset instead of cycling through the pool."""

    def __init__(self, key: str, text: str) -> None:
        with _names_lock:
            self.name = f"ruleset-{hashlib.sha256(text.encode()).hexdigest()[:12]}#{next(_names)}"
        try:
            self.handle: int = _engine.create_ruleset(self.name, text)
        except Exception as exc:
            reason = _CREATE_ERRORS.get(str(exc).rsplit(" ", 1)[-1], str(exc))
            raise EngineError(f"the rule engine could not load the ruleset: {reason}") from exc
        self.key = key
        self.refs = 0
        self._new_sids = distinct_sids()
        self.issued: list[str] = []
        # sids whose state exists and has had an action started: such a state can be deleted
        # (deleting one on which no action ever started crashes the engine)
        self.started: set[str] = set()
        self._free: deque[str] = deque(self._next_sid() for _ in range(SID_POOL_SIZE))
        self._freed = threading.Condition()
        self._waiting = 0
        self.lost_states = 0

    def _next_sid(self) -> str:
        sid = next(self._new_sids)
        self.issued.append(sid)
        return sid

    def take_sid(self, timeout: float) -> str:
        try:
            return self._free.pop()  # atomic: no lock on the common path
        except IndexError:
            pass
        deadline = time.monotonic() + timeout
        with self._freed:
            self._waiting += 1
            try:
                while True:
                    try:
                        return self._free.pop()
                    except IndexError:
                        pass
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise EngineError("the rule engine is busy: no free session")
                    self._freed.wait(min(left, 0.05))
            finally:
                self._waiting -= 1

    def give_back(self, sid: str, clean: bool) -> None:
        """Return ``sid`` to the pool. ``clean``: its state holds no fact (or it has none)."""
        if not clean:
            sid = self._discard(sid)
        self._free.append(sid)
        if self._waiting:
            with self._freed:
                self._freed.notify()

    def _discard(self, sid: str) -> str:
        """The state of ``sid`` may hold a fact or unread actions: delete it, so the sid can be
        used again; when that is not safe, leave it and give the pool a new sid in its place."""
        if sid in self.started:
            self.started.discard(sid)
            try:
                _engine.delete_state(self.handle, sid)
                return sid
            except Exception:  # the engine raises when the sid has no state: nothing to free
                return sid
        self.lost_states += 1
        return self._next_sid()

    def free(self) -> None:
        """Delete the kept states, then the ruleset (the engine's own ``delete_ruleset`` does not
        free its states' memory)."""
        for sid in self.started:
            try:
                _engine.delete_state(self.handle, sid)
            except Exception:  # already gone: nothing to free
                continue
        self.started.clear()
        _engine.delete_ruleset(self.handle)


_shared: dict[str, SharedRuleset] = {}
_shared_lock = threading.Lock()


def _acquire(text: str) -> SharedRuleset:
    with _shared_lock:
        shared = _shared.get(text)
        if shared is None:
            shared = _shared[text] = SharedRuleset(text, text)
        shared.refs += 1
        return shared


def lost_states() -> int:
    """States left in the engine now, over every ruleset this process holds: each is a state on
    which no action started, which cannot be deleted (see ``SharedRuleset.give_back``); freeing
    their ruleset does not free them either, so they stay until the process ends (none has been
    seen: every phase has a rule that fires on every fact)."""
    with _shared_lock:
        return sum(s.lost_states for s in _shared.values())


def _release(shared: SharedRuleset) -> None:
    with _shared_lock:
        shared.refs -= 1
        if shared.refs > 0:
            return
        del _shared[shared.key]
    shared.free()


class Session:
    """One evaluation in the engine: each fact asserted into a state of its phase's ruleset that
    no other evaluation in flight uses, and retracted as soon as its fired rules are read (a
    state left holding facts made every assert two to five times slower, measured)."""

    def __init__(self, engine: RuleEngine, timeout: float) -> None:
        self._engine = engine
        self._timeout = timeout
        self._facts = 0

    # a class rather than a generator-based context manager: a decision enters one, and the
    # generator machinery cost several microseconds of it
    def __enter__(self) -> Session:
        self._engine._enter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._engine._exit()

    def assert_fact(self, fact: Mapping[str, Any]) -> list[str]:
        """Assert ``fact`` (its ``t`` names the phase; an attribute it leaves out has the value of
        the engine's template, or is absent); the names of the rules it fired, in the order the
        engine fired them (sentinel rules left out)."""
        phase = fact.get("t")
        plan = self._engine.plans.get(phase)  # type: ignore[arg-type]
        if plan is None:
            raise EngineError(f"the rule engine did not handle the case (no ruleset for phase {phase!r})")
        shared, names, base = plan
        self._facts += 1
        fid = f"f{self._facts}"
        sid = shared.take_sid(self._timeout)
        if names is None:
            body = dict(fact)
        else:
            # only the attributes this phase's rules read (less to encode and to match): those the
            # fact gives, the rest at the guide's template value
            body = base.copy()
            body.update({name: value for name, value in fact.items() if name in names})
        body.update(t=phase, id=fid, sid=sid)
        handle, clean = shared.handle, False
        try:
            try:
                status, state_handle = _engine.assert_fact(handle, encode_fact(body))
            except Exception as exc:  # the C layer raises plain Exceptions with an error number
                raise EngineError(f"the rule engine refused a fact: {exc}") from exc
            if status == _STATUS_NOT_HANDLED:
                raise EngineError("the rule engine did not handle the case (no rule for its phase)")
            if status == _STATUS_OBSERVED:
                raise EngineError("the rule engine saw the same fact twice")
            fired: list[str] = []
            sentinels = self._engine.sentinels
            try:
                started = _engine.start_action_for_state(handle, state_handle)
                if started:
                    shared.started.add(sid)
                message = started[1] if started else None
                while message:
                    name = _rule_name(message)
                    if name not in sentinels and name not in fired:
                        # a rule whose condition has "or" fires once per branch that matches
                        fired.append(name)
                    message = _engine.complete_and_start_action(handle, state_handle)
                # retracting needs only the fact's sid and id
                _engine.retract_fact(handle, f'{{"sid":"{sid}","id":"{fid}"}}')
            except Exception as exc:
                raise EngineError(f"the rule engine failed while firing rules: {exc}") from exc
            clean = True
            return fired
        finally:
            shared.give_back(sid, clean)


class RuleEngine:
    """A compiled guide loaded into the engine — one ruleset per phase, so each assert is
    matched only against the rules of its phase — evaluated in short-lived sessions.

    ``close()`` while sessions run only marks the engine closed; its rulesets are released when
    the last session ends (a reload swaps engines under requests in flight)."""

    def __init__(self, name: str, rulesets: Mapping[int, Mapping[str, Any]], sentinels: frozenset[str],
                 attributes: Mapping[int, tuple[str, ...]] | None = None,
                 template: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.shared: dict[int, SharedRuleset] = {}
        try:
            for phase, ruleset in rulesets.items():
                self.shared[phase] = _acquire(json.dumps(ruleset, ensure_ascii=False, sort_keys=True))
        except EngineError:
            for shared in self.shared.values():
                _release(shared)
            raise
        self.sentinels = sentinels
        # the attributes each phase's rules read (none given: facts are sent whole)
        self.attributes = {phase: tuple(names) for phase, names in (attributes or {}).items()}
        # per phase, what an assert looks up: the ruleset, the attributes to send and the values
        # of those a fact leaves out (``template``: the guide's fact with every attribute absent)
        template = template or {}
        self.plans: dict[int, tuple[SharedRuleset, frozenset[str] | None, dict[str, Any]]] = {}
        for phase, shared in self.shared.items():
            names = self.attributes.get(phase)
            base = {} if names is None else {name: template[name] for name in names if name in template}
            self.plans[phase] = (shared, None if names is None else frozenset(names), base)
        self._lock = threading.Lock()
        self._active = 0
        self._closed = False
        self._freed = False

    @property
    def lost_states(self) -> int:
        """States left in the engine because no action started on them (each cost a sid)."""
        return sum(s.lost_states for s in self.shared.values())

    def session(self, timeout: float = 10.0) -> Session:
        """An evaluation, used as ``with engine.session() as session``; each fact it asserts goes
        into an emptied state, retracted at once."""
        return Session(self, timeout)

    def _enter(self) -> None:
        with self._lock:
            if self._closed:
                raise EngineError("the ruleset was unloaded")
            self._active += 1

    def _exit(self) -> None:
        with self._lock:
            self._active -= 1
            free = self._closed and self._active == 0
        if free:
            self._free()

    def live_states(self) -> int:
        """How many states the engine holds in this guide's rulesets (0 between assertions)."""
        count = 0
        for shared in self.shared.values():
            for sid in shared.issued:
                try:
                    facts = json.loads(_engine.get_facts(shared.handle, sid))
                except Exception:  # the engine raises when the sid has no state
                    continue
                count += bool(facts)
        return count

    def free_sids(self) -> int:
        """Free sids over this guide's rulesets (SID_POOL_SIZE each when nothing runs)."""
        return sum(len(s._free) for s in self.shared.values())

    def close(self) -> None:
        """Release the rulesets once no session uses them any more."""
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
        for shared in self.shared.values():
            _release(shared)
