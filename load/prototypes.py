"""Prototypes of the changes the profiles point to, measured against the code as it is, in one
process and one run (A/B in alternating blocks, so the shared machine's noise hits both).

Nothing here is used by the service: each prototype is a drop-in replacement for one function,
applied by monkeypatching for the measurement only, and checked to give the same output as the
function it replaces over the benchmark mix. docs/performance.md says what each would change.
The prototypes that were adopted (the JSON built by hand, rulesets shared between guides,
libyaml, step outputs made once, each rule file parsed once) are gone from here: they are the
code now. Not adopted: the fast parse in front of the schema (a second validator to keep equal
to it), gunicorn's preload_app and worker classes.

    python -m load.prototypes decision [--seconds 20]   # the schema / the fast parse
    python -m load.prototypes http     [--variants sync,gthread]  # gunicorn worker class, locust
    python -m load.prototypes preload  [--count 357]    # gunicorn preload_app: start-up, memory
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from marshmallow import ValidationError
from marshmallow.experimental.context import Context

import rules.evaluate
import rules.resolve
import rules.yamlsource
from load.mix import Item, build_mix
from load.results import BUNDLED, percentile
from rules.case import Case
from rules.model import CONSENT_ANSWERS, MEASURES, RESPONSIBILITIES, STRENGTH_RANK, SUBJECT_KINDS, Guide
from schemas.request import MAX_SIGNALS, DecisionRequestSchema
from service.api import present

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


# --- the decision A/B ----------------------------------------------------------------------------


def _check(items: list[Item]) -> dict[str, int]:
    """Each prototype gives what the code gives, over the whole mix (and refuses what it refuses)."""
    schema = DecisionRequestSchema()
    differ = {"parse_direct": 0, "parse_direct_accepted_invalid": 0, "parse_direct_fallbacks": 0}
    for item in items:
        fast = parse_direct(item.guide, item.body)
        differ["parse_direct_fallbacks"] += fast is None
        differ["parse_direct"] += fast is not None and fast != item.case
    # requests the schema refuses must not pass the fast path: every scenario 422 case, and mutations
    from toolkit.scenarios import discover

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

    def fast_parse(item: Item) -> Any:
        case = parse_direct(item.guide, item.body) or validate(item)
        return present(rules.evaluate.evaluate(item.guide, case, item.lang))

    def evaluate_only(item: Item) -> Any:
        return rules.evaluate.evaluate(item.guide, item.case, item.lang)

    def reference(item: Item) -> Any:
        from toolkit.reference import evaluate_reference

        return evaluate_reference(item.guide, item.case, item.lang)

    return {"current full path": current, "+ fast parse": fast_parse, "evaluate only": evaluate_only,
            "reference": reference}


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    d = sub.add_parser("decision")
    d.add_argument("--seconds", type=float, default=20)
    h = sub.add_parser("http")
    h.add_argument("--variants", default="sync,gthread,sync+fastpath,gthread+fastpath")
    h.add_argument("--seconds", type=int, default=15)
    h.add_argument("--users", type=int, default=8)
    h.add_argument("--rounds", type=int, default=2)
    p = sub.add_parser("preload")
    p.add_argument("--count", type=int, default=357)
    p.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args(argv)
    if args.what == "http":
        http_ab(args.variants.split(","), args.seconds, args.users, args.rounds)
    elif args.what == "preload":
        preload_ab(args.count, tuple(args.variants.split(",")))
    else:
        result = decision_ab(args.seconds)
        print("checks (all 0 but fallbacks means the prototype agrees with the schema):", result["checks"])
        for name, r in result["paths"].items():
            print(f"{name:32} median {r['median_us']:8.1f} µs  p99 {r['p99_us']:9.1f} µs  n {r['n']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
