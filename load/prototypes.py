"""Prototypes of the changes the profiles point to, measured against the code as it is, in one
process and one run (A/B in alternating blocks, so the shared machine's noise hits both).

Nothing here is used by the service: each prototype is a drop-in replacement for one function,
applied by monkeypatching for the measurement only, and checked to give the same output as the
function it replaces over the benchmark mix. docs/performance.md says what each would change.
Adopted since (so their A/B now compares the code with itself): the direct dump
(service.api.present), the shared rulesets (rules.engine.SharedRuleset) and libyaml parsing.
Not adopted: the fast parse in front of the schema (a second validator to keep equal to it).

    python -m load.prototypes decision [--seconds 20]   # validate / evaluate / dump
    python -m load.prototypes startup  [--count 357]    # load_registry of 357 guides
    python -m load.prototypes http     [--variants sync,gthread]  # gunicorn worker class, locust
    python -m load.prototypes preload  [--count 357]    # gunicorn preload_app: start-up, memory
    python -m load.prototypes memory   [--count 357]    # engine rulesets shared between guides
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from marshmallow import ValidationError
from marshmallow.experimental.context import Context

import rules.evaluate
import rules.resolve
import rules.yamlsource
from load.mix import Item, build_mix
from load.results import BUNDLED, percentile
from rules.case import Case
from rules.decision import Decision, StepOut
from rules.model import CONSENT_ANSWERS, MEASURES, RESPONSIBILITIES, STRENGTH_RANK, SUBJECT_KINDS, Guide
from schemas.request import MAX_SIGNALS, DecisionRequestSchema
from service.api import present

# --- 1. dump: build the response dict directly instead of DecisionSchema().dump -------------------


def present_direct(decision: Decision) -> dict[str, Any]:
    """What :func:`service.api.present` returns, without marshmallow: the schema only copies
    fields of frozen dataclasses (and turns tuples into lists)."""
    return {
        "decision_id": uuid.uuid4().hex,
        "municipality": decision.municipality,
        "ruleset": {"version": decision.version, "digest": decision.digest},
        "lang": decision.lang,
        "level": decision.level,
        "level_name": decision.level_name,
        "urgent": decision.urgent,
        "actors": [{"service": a.service, "role": a.role, "label": a.label} for a in decision.actors],
        "steps": [{"code": s.code, "kind": s.kind, "text": s.text, "legal_basis": list(s.legal_basis),
                   "due_days": s.due_days} for s in decision.steps],
        "forbidden": [{"code": f.code, "text": f.text, "legal_basis": list(f.legal_basis)}
                      for f in decision.forbidden],
        "consent": {"required_from": decision.consent.required_from, "satisfied": decision.consent.satisfied,
                    "blocks_level": decision.consent.blocks_level},
        "explanation": [{"rule": e.rule, "title": e.title, "because": e.because, "signals": list(e.signals)}
                        for e in decision.explanation],
    }


# --- 2. validate: a fast path for well-formed requests, the schema for everything else -----------

_TOP = frozenset(("subject", "reporter", "signals", "family", "consent", "status"))
_STATUS = frozenset(("current_level", "measures_effective", "services_involved", "complex_long_term_needs"))


def _is_int(value: Any) -> bool:
    return type(value) is int


def parse_direct(guide: Guide, body: Any) -> Case | None:
    """The Case a valid ``body`` parses to, or None whenever anything is unusual (the caller
    then runs the schema, which lists every problem). It never accepts what the schema refuses."""
    if type(body) is not dict or not _TOP.issuperset(body) or not {"subject", "reporter", "signals"} <= body.keys():
        return None
    subject, reporter, raw_signals = body["subject"], body["reporter"], body["signals"]
    if type(subject) is not dict or subject.keys() != {"kind", "age"} or type(reporter) is not dict \
            or reporter.keys() != {"service"} or type(raw_signals) is not list:
        return None
    kind, age, service = subject["kind"], subject["age"], reporter["service"]
    catalog, settings = guide.catalog, guide.settings
    if kind not in SUBJECT_KINDS or not _is_int(age) or type(service) is not str or service not in catalog.services:
        return None
    lo, hi = ((settings.child_age_min, settings.child_age_max) if kind == "child"
              else (settings.pregnant_age_min, settings.pregnant_age_max))
    if not lo <= age <= hi or not 1 <= len(raw_signals) <= MAX_SIGNALS:
        return None
    signals: dict[str, int] = {}
    for item in raw_signals:
        if type(item) is str:
            code, strength = item, "concern"
        elif type(item) is dict and item.keys() <= {"code", "strength"} and "code" in item:
            code, strength = item["code"], item.get("strength", "concern")
            strength = "concern" if strength is None else strength
        else:
            return None
        info = catalog.signals.get(code) if type(code) is str else None
        if info is None or kind not in info.subjects or type(strength) is not str or strength not in STRENGTH_RANK:
            return None
        signals[code] = max(signals.get(code, 0), STRENGTH_RANK[strength])
    family, consent, status = body.get("family"), body.get("consent"), body.get("status")
    for part, keys in ((family, {"parental_responsibility"}), (consent, {"parents", "subject"}), (status, _STATUS)):
        if part is not None and (type(part) is not dict or not keys.issuperset(part)):
            return None
    family, consent, status = family or {}, consent or {}, status or {}
    responsibility = family.get("parental_responsibility")
    parents, subject_answer = consent.get("parents"), consent.get("subject")
    if responsibility is not None and responsibility not in RESPONSIBILITIES:
        return None
    if parents is not None and parents not in CONSENT_ANSWERS:
        return None
    if subject_answer is not None and subject_answer not in CONSENT_ANSWERS[:4]:
        return None
    if parents == "partial" and (responsibility or "shared") != "shared":
        return None
    level, measures = status.get("current_level"), status.get("measures_effective")
    involved, complex_needs = status.get("services_involved"), status.get("complex_long_term_needs")
    if level is not None and (not _is_int(level) or not 0 <= level <= 3):
        return None
    if measures is not None and (measures not in MEASURES or level is None):
        return None
    if involved is not None and (type(involved) is not list
                                 or any(type(s) is not str or s not in catalog.services for s in involved)):
        return None
    if complex_needs is not None and type(complex_needs) is not bool:
        return None
    return Case(
        subject_kind=kind, age=age, reporter=service, signals=signals,
        parental_responsibility=responsibility or "shared", consent_parents=parents or "not_asked",
        consent_subject=subject_answer or "not_asked", current_level=level, measures_effective=measures,
        services_involved=tuple(dict.fromkeys(s for s in involved or () if s != service)),
        complex_long_term_needs=bool(complex_needs),
    )


# --- 3. resolve: the texts of a step depend only on the guide, the language and the reporter ------

_step_cache: dict[tuple[int, str, str, str], StepOut] = {}
_resolve_original = rules.resolve.resolve


def _cached_catalog_steps(guide: Guide, lang: str, reporter: str) -> Callable[[str], StepOut]:
    catalog, settings = guide.catalog, guide.settings
    service = catalog.services.get(reporter)
    keys = [reporter, *(["health"] if service and service.health else [])]

    def step_out(code: str) -> StepOut:
        key = (id(guide), lang, reporter, code)
        found = _step_cache.get(key)
        if found is None:
            info = catalog.steps[code]
            basis = list(info.legal_basis)
            for k in keys:
                basis.extend(b for b in info.legal_basis_by_reporter.get(k, ()) if b not in basis)
            due = 0 if info.due == "today" else (settings.value(info.due_setting) if info.due_setting else None)
            found = _step_cache[key] = StepOut(code, info.kind, info.label.in_lang(lang), info.text.in_lang(lang),
                                               tuple(basis), due)
        return found

    return step_out


_explanation_keys: dict[int, tuple[int, int, int]] = {}


def resolve_cached(guide: Guide, case: Case, fired: Any, levels: Any, required_from: str | None,
                   lang: str) -> Decision:
    """:func:`rules.resolve.resolve` with the step texts and the explanation order cached."""
    from rules.decision import ActorOut, ConsentOut, ExplanationOut, ForbiddenOut
    from rules.model import URGENT_STEPS
    from rules.resolve import matched_signals, resolve_actors, resolve_steps

    catalog, settings = guide.catalog, guide.settings
    steps = resolve_steps(fired, case, catalog)
    forbidden = sorted({f for r in fired for f in r.then.forbidden}, key=lambda f: catalog.forbidden[f].order)
    step_out = _cached_catalog_steps(guide, lang, case.reporter)

    def key(rule: Any) -> tuple[int, int, int]:
        k = _explanation_keys.get(id(rule))
        if k is None:
            k = _explanation_keys[id(rule)] = rule.explanation_key
        return k

    def actor_out(service: str, role: str) -> ActorOut:
        title = settings.relay_holder_titles.get(service) if role == "relay_holder" else None
        label = title or catalog.services[service].label
        return ActorOut(service, role, label.in_lang(lang))

    answer = case.consent_answer(required_from)
    return Decision(
        municipality=guide.id, version=guide.version, digest=guide.digest, lang=lang,
        level=levels.decided, level_name=guide.level_name(levels.decided, lang),
        urgent=bool(URGENT_STEPS & set(steps)),
        actors=tuple(actor_out(s, r) for s, r in resolve_actors(fired, steps, case, catalog)),
        steps=tuple(step_out(c) for c in steps),
        forbidden=tuple(
            ForbiddenOut(f, catalog.forbidden[f].label.in_lang(lang), catalog.forbidden[f].text.in_lang(lang),
                         catalog.forbidden[f].legal_basis)
            for f in forbidden
        ),
        consent=ConsentOut(required_from, answer == "given", levels.blocks_level),
        explanation=tuple(
            ExplanationOut(r.id, r.title.in_lang(lang), r.because.in_lang(lang), matched_signals(r, case))
            for r in sorted(fired, key=key)
        ),
    )


@contextmanager
def resolve_patched() -> Iterator[None]:
    rules.evaluate.resolve = resolve_cached  # type: ignore[assignment]
    try:
        yield
    finally:
        rules.evaluate.resolve = _resolve_original


# --- the decision A/B ----------------------------------------------------------------------------


def _check(items: list[Item]) -> dict[str, int]:
    """Each prototype gives what the code gives, over the whole mix (and refuses what it refuses)."""
    schema = DecisionRequestSchema()
    differ = {"present_direct": 0, "parse_direct": 0, "parse_direct_accepted_invalid": 0, "resolve_cached": 0,
              "parse_direct_fallbacks": 0}
    for item in items:
        decision = rules.evaluate.evaluate(item.guide, item.case, item.lang)
        a, b = present(decision), present_direct(decision)
        a.pop("decision_id")
        b.pop("decision_id")
        differ["present_direct"] += a != b
        fast = parse_direct(item.guide, item.body)
        differ["parse_direct_fallbacks"] += fast is None
        differ["parse_direct"] += fast is not None and fast != item.case
        with resolve_patched():
            cached = rules.evaluate.evaluate(item.guide, item.case, item.lang)
        differ["resolve_cached"] += cached != decision
    # requests the schema refuses must not pass the fast path: every scenario 422 case, and mutations
    from rules.scenarios import discover

    guides = {i.guide.id: i.guide for i in items}
    for scenario in discover(BUNDLED):
        guide = guides.get(scenario.guide)
        if guide is None:
            continue
        try:
            with Context({"guide": guide}):
                schema.load(scenario.request)
            continue
        except ValidationError:
            pass
        except Exception:
            continue
        differ["parse_direct_accepted_invalid"] += parse_direct(guide, scenario.request) is not None
    return differ


Path_fn = Callable[[Item], Any]


def _paths(schema: DecisionRequestSchema) -> dict[str, Path_fn]:
    def validate(item: Item) -> Case:
        with Context({"guide": item.guide}):
            return schema.load(item.body)  # type: ignore[no-any-return]

    def current(item: Item) -> Any:
        return present(rules.evaluate.evaluate(item.guide, validate(item), item.lang))

    def fast_dump(item: Item) -> Any:
        return present_direct(rules.evaluate.evaluate(item.guide, validate(item), item.lang))

    def fast_parse_dump(item: Item) -> Any:
        case = parse_direct(item.guide, item.body) or validate(item)
        return present_direct(rules.evaluate.evaluate(item.guide, case, item.lang))

    def all_three(item: Item) -> Any:
        case = parse_direct(item.guide, item.body) or validate(item)
        with resolve_patched():
            decision = rules.evaluate.evaluate(item.guide, case, item.lang)
        return present_direct(decision)

    def evaluate_only(item: Item) -> Any:
        return rules.evaluate.evaluate(item.guide, item.case, item.lang)

    def evaluate_cached(item: Item) -> Any:
        with resolve_patched():
            return rules.evaluate.evaluate(item.guide, item.case, item.lang)

    def reference(item: Item) -> Any:
        from rules.reference import evaluate_reference

        return evaluate_reference(item.guide, item.case, item.lang)

    return {"current full path": current, "+ direct dump": fast_dump, "+ direct dump + fast parse": fast_parse_dump,
            "+ all three (cached resolve)": all_three, "evaluate only": evaluate_only,
            "evaluate, cached resolve": evaluate_cached, "reference": reference}


def decision_ab(seconds: float) -> dict[str, Any]:
    from rules.loader import load_registry

    registry = load_registry(BUNDLED)
    items, _ = build_mix(registry.guides, BUNDLED, sample_every=8)
    differ = _check(items)
    paths = _paths(DecisionRequestSchema())
    times: dict[str, list[float]] = {name: [] for name in paths}
    rng = random.Random(3)
    names = list(paths)
    deadline = time.perf_counter() + seconds
    for item in items[:300]:  # warm-up
        for fn in paths.values():
            fn(item)
    while time.perf_counter() < deadline:
        item = rng.choice(items)
        rng.shuffle(names)
        for name in names:
            started = time.perf_counter_ns()
            paths[name](item)
            times[name].append((time.perf_counter_ns() - started) / 1000)
    out = {}
    for name, values in times.items():
        values.sort()
        out[name] = {"median_us": round(statistics.median(values), 1), "p99_us": round(percentile(values, 99), 1),
                     "n": len(values)}
    return {"checks": differ, "paths": out}


# --- 4. start-up: libyaml's parser for the rule files ---------------------------------------------


class _CLoader(yaml.CSafeLoader):
    """libyaml's parser with the project's YAML 1.2 booleans (the marks carry lines as before)."""


_CLoader.yaml_implicit_resolvers = rules.yamlsource._Loader.yaml_implicit_resolvers


@contextmanager
def c_yaml() -> Iterator[None]:
    original = rules.yamlsource.yaml.compose

    def compose(text: str, Loader: Any = None) -> Any:
        return original(text, Loader=_CLoader)

    rules.yamlsource.yaml.compose = compose  # type: ignore[assignment]
    try:
        yield
    finally:
        rules.yamlsource.yaml.compose = original


@contextmanager
def read_once() -> Iterator[None]:
    """Each rule file parsed once per load: ``load_guide`` parses a municipality's rule files a
    second time for the weakening check (the prototype memoises ``read_yaml`` by path and mtime)."""
    import rules.loader

    original = rules.loader.read_yaml
    cache: dict[tuple[str, str | None, int], Any] = {}

    def read(path: Path, display: str | None = None) -> Any:
        key = (str(path), display, path.stat().st_mtime_ns)
        if key not in cache:
            cache[key] = original(path, display)
        return cache[key]

    rules.loader.read_yaml = read  # type: ignore[assignment]
    try:
        yield
    finally:
        rules.loader.read_yaml = original


def startup_ab(count: int, rounds: int) -> dict[str, Any]:
    from load.generate_guides import generate
    from rules.loader import load_registry

    out: dict[str, list[float]] = {"python yaml": [], "libyaml": [], "libyaml + parse once": []}
    cpu: dict[str, list[float]] = {name: [] for name in out}
    with tempfile.TemporaryDirectory(prefix="bti-proto-") as tmp:
        root = Path(tmp) / "municipalities"
        generate(root, count)
        same = True
        for _ in range(rounds):
            for name in out:
                started, started_cpu = time.perf_counter(), time.process_time()
                if name == "libyaml":
                    with c_yaml():
                        registry = load_registry(root)
                elif name == "libyaml + parse once":
                    with c_yaml(), read_once():
                        registry = load_registry(root)
                else:
                    registry = load_registry(root)
                out[name].append(time.perf_counter() - started)
                cpu[name].append(time.process_time() - started_cpu)
                digests = {g: (x.digest, x.rules) for g, x in registry.guides.items()}
                if name == "python yaml":
                    baseline = digests
                else:
                    same = same and digests == baseline
                for guide in registry.guides.values():
                    guide.engine.close()
    return {"load_registry_s": {k: [round(v, 2) for v in vals] for k, vals in out.items()},
            "load_registry_cpu_s": {k: [round(v, 2) for v in vals] for k, vals in cpu.items()},
            "same_guides": same}


# --- 5. HTTP: gunicorn worker settings ------------------------------------------------------------


def http_ab(variants: list[str], seconds: int, users: int, rounds: int) -> dict[str, list[dict[str, Any]]]:
    """The locust decision mix and /healthz against each gunicorn variant of
    :mod:`load.proto_server`, alternating variants round by round."""
    import argparse as _argparse

    from load.run_load import run_locust, summarise
    from load.server import bti_serve

    out: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    args = _argparse.Namespace(users=users, spawn_rate=users, seconds=seconds)
    for _ in range(rounds):
        for variant in variants:
            kind, _, patches = variant.partition("+")
            env = {"BTI_PROTO_VARIANT": kind, "BTI_PROTO_PATCHES": patches}
            with tempfile.TemporaryDirectory(prefix="bti-proto-http-") as tmp, \
                    bti_serve(BUNDLED, module="load.proto_server", env=env) as server:
                mix = run_locust(server, "decisions", users, users, seconds, Path(tmp), 10)
                health = run_locust(server, "healthz", users, users, seconds, Path(tmp), 10)
            r = summarise(mix, health, 10, args, 2)
            d = r["http_detail"]
            out[variant].append({k: r[k] for k in ("http_decisions_per_s", "healthz_per_s", "http_ratio",
                                                   "http_p50_ms", "http_p99_ms", "http_errors")}
                                | {"server_cpu_ms_per_request": d["server_cpu_ms_per_request"],
                                   "healthz_server_cpu_ms_per_request": d["healthz_server_cpu_ms_per_request"]})
            print(variant, out[variant][-1], flush=True)
    return out


VARIANTS = ("sync", "preload", "sync+shared")


def preload_ab(count: int, variants: tuple[str, ...] = VARIANTS) -> dict[str, Any]:
    """Start-up and worker memory with the 357 guides: ``bti serve`` as is, preloaded, and with
    the engine rulesets shared between guides."""
    from load.generate_guides import generate
    from load.measure_scale import _settled
    from load.results import pss_mb, rss_mb
    from load.server import bti_serve

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bti-proto-") as tmp:
        root = Path(tmp) / "municipalities"
        generate(root, count)
        for variant in variants:
            kind, _, patches = variant.partition("+")
            env = {"BTI_PROTO_VARIANT": kind, "BTI_PROTO_PATCHES": patches}
            with bti_serve(root, module="load.proto_server", env=env) as server:
                settle = _settled(server)
                workers = server.workers()
                out[variant] = {"ready_s": round(server.ready_s, 2), "all_idle_s": round(server.ready_s + settle, 2),
                                "worker_rss_mb": [round(rss_mb(p), 1) for p in workers],
                                "worker_pss_mb": [round(pss_mb(p), 1) for p in workers],
                                "master_rss_mb": round(rss_mb(server.process.pid), 1),
                                "master_pss_mb": round(pss_mb(server.process.pid), 1)}
            print(variant, out[variant], flush=True)
    return out


# --- 6. memory: one engine ruleset per distinct compiled ruleset, shared by the guides ------------


@contextmanager
def shared_rulesets() -> Iterator[dict[str, int]]:
    """``create_ruleset`` returns the handle already made for the same ruleset text. Only safe
    for this single-threaded measurement: two RuleEngines on one handle keep separate sid pools
    and the first to close frees the handle; a real change needs one sid pool and a reference
    count per shared handle (see docs/performance.md)."""
    import rules.engine

    original = rules.engine._engine.create_ruleset
    handles: dict[str, int] = {}
    stats = {"asked": 0}

    class Engine:
        def __getattr__(self, name: str) -> Any:
            return getattr(module, name)

        @staticmethod
        def create_ruleset(name: str, text: str) -> int:
            stats["asked"] += 1
            if text not in handles:
                handles[text] = original(name, text)
            return handles[text]

        @staticmethod
        def delete_ruleset(handle: int) -> None:  # shared: never freed in the prototype
            return None

    module = rules.engine._engine
    rules.engine._engine = Engine()
    try:
        yield stats
    finally:
        stats["distinct"] = len(handles)
        rules.engine._engine = module


def memory_child(root: str, shared: bool) -> None:
    """Run in a fresh process: RSS and time of load_registry(root), and a check of decisions."""
    import gc as _gc
    import json as _json

    from load.results import rss_mb
    from rules.loader import load_registry
    from rules.reference import evaluate_reference
    from rules.scenarios import decision_summary

    _gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    stats: dict[str, int] = {}
    if shared:
        with shared_rulesets() as stats:
            registry = load_registry(Path(root))
    else:
        registry = load_registry(Path(root))
    elapsed = time.perf_counter() - started
    _gc.collect()
    after = rss_mb()
    items, _ = build_mix(registry.guides, None, sample_every=400)
    differ = sum(decision_summary(rules.evaluate.evaluate(i.guide, i.case, i.lang))
                 != decision_summary(evaluate_reference(i.guide, i.case, i.lang)) for i in items)
    print(_json.dumps({"shared": shared, "guides": len(registry.guides), "rss_delta_mb": round(after - before, 1),
                       "mb_per_guide": round((after - before) / len(registry.guides), 3),
                       "load_s": round(elapsed, 2), "rulesets": stats, "checked": len(items),
                       "differ_from_reference": differ}))


def memory_ab(count: int) -> list[dict[str, Any]]:
    import json as _json
    import subprocess

    from load.generate_guides import generate

    out = []
    with tempfile.TemporaryDirectory(prefix="bti-proto-") as tmp:
        root = Path(tmp) / "municipalities"
        generate(root, count)
        for shared in (False, True, False, True):
            done = subprocess.run([sys.executable, "-m", "load.prototypes", "memory-child", str(root)]
                                  + (["--shared"] if shared else []), capture_output=True, text=True, check=True)
            out.append(_json.loads(done.stdout.strip().splitlines()[-1]))
            print(out[-1], flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    d = sub.add_parser("decision")
    d.add_argument("--seconds", type=float, default=20)
    s = sub.add_parser("startup")
    s.add_argument("--count", type=int, default=357)
    s.add_argument("--rounds", type=int, default=2)
    h = sub.add_parser("http")
    h.add_argument("--variants", default="sync,gthread,sync+fastpath,gthread+fastpath")
    h.add_argument("--seconds", type=int, default=15)
    h.add_argument("--users", type=int, default=8)
    h.add_argument("--rounds", type=int, default=2)
    p = sub.add_parser("preload")
    p.add_argument("--count", type=int, default=357)
    p.add_argument("--variants", default=",".join(VARIANTS))
    m = sub.add_parser("memory")
    m.add_argument("--count", type=int, default=357)
    mc = sub.add_parser("memory-child")
    mc.add_argument("root")
    mc.add_argument("--shared", action="store_true")
    args = parser.parse_args(argv)
    if args.what == "memory":
        memory_ab(args.count)
    elif args.what == "memory-child":
        memory_child(args.root, args.shared)
    elif args.what == "http":
        http_ab(args.variants.split(","), args.seconds, args.users, args.rounds)
    elif args.what == "preload":
        preload_ab(args.count, tuple(args.variants.split(",")))
    elif args.what == "decision":
        result = decision_ab(args.seconds)
        print("checks (all 0 but fallbacks means the prototypes agree with the code):", result["checks"])
        for name, r in result["paths"].items():
            print(f"{name:32} median {r['median_us']:8.1f} µs  p99 {r['p99_us']:9.1f} µs  n {r['n']}")
    else:
        print(startup_ab(args.count, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
