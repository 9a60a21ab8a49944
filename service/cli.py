"""The ``bti`` command line (README, Command line): serve, check, test, explain.

Environment variables mirror the options: BTI_HOST, BTI_PORT, BTI_WORKERS, BTI_MUNICIPALITIES,
BTI_RELOAD_INTERVAL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

from rules.model import LANGUAGES, NATIONAL
from service.paths import BUNDLED


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bti", description="BTI decision service")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the guides over HTTP under gunicorn")
    serve.add_argument("--host", default=os.environ.get("BTI_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=_env_int("BTI_PORT", 8080))
    serve.add_argument("--workers", type=int, default=_env_int("BTI_WORKERS", min(4, os.cpu_count() or 1)))
    serve.add_argument("--municipalities", default=os.environ.get("BTI_MUNICIPALITIES", str(BUNDLED)))
    serve.add_argument("--reload-interval", type=float, default=float(os.environ.get("BTI_RELOAD_INTERVAL", 5)),
                       help="seconds between checks of the rule folder (0 = off)")

    check = sub.add_parser("check", help="validate guides; file:line: message per problem")
    check.add_argument("paths", nargs="*", default=[os.environ.get("BTI_MUNICIPALITIES", str(BUNDLED))])

    test = sub.add_parser("test", help="run scenario suites")
    test.add_argument("paths", nargs="*", default=[os.environ.get("BTI_MUNICIPALITIES", str(BUNDLED))],
                      help="a scenario file, a guide folder, or a folder of guides (default: all)")
    test.add_argument("--url", help="run against a running service at this base URL instead of in-process")
    test.add_argument("--junit", metavar="FILE", help="also write the results as JUnit XML")
    test.add_argument("--min-coverage", type=float, metavar="P",
                      help="fail when a guide's scenarios fire less than P percent of its own rules")
    test.add_argument("--no-coverage", action="store_true", help="do not print rule coverage")

    diff = sub.add_parser("diff", help="decisions that change between two versions of a guide")
    diff.add_argument("old", help="a guide folder, or a git revision (the NEW folder at that revision)")
    diff.add_argument("new", help="a guide folder")
    diff.add_argument("--fail-on-change", action="store_true", help="exit 1 when any decision changes")
    diff.add_argument("--examples", type=int, default=3, help="cases shown per group (default 3)")

    explain = sub.add_parser("explain", help="one decision as a readable report")
    explain.add_argument("municipality")
    explain.add_argument("file", nargs="?", default="-", help="a JSON request, or - for standard input")
    explain.add_argument("--lang", default="nb", choices=LANGUAGES)
    explain.add_argument("--municipalities", default=os.environ.get("BTI_MUNICIPALITIES", str(BUNDLED)))

    laws = sub.add_parser("laws", help="every cited provision, where it is used, and which citations an adopted "
                                       "act not yet in force will change")
    laws.add_argument("--as-of", type=_iso_date, metavar="DATE", help="YYYY-MM-DD (default: today)")
    laws.add_argument("--lang", default="nb", choices=LANGUAGES)
    laws.add_argument("--municipalities", default=os.environ.get("BTI_MUNICIPALITIES", str(BUNDLED)))

    keyhash = sub.add_parser("key-hash", help="the hash of an API key, for BTI_API_KEYS / BTI_ADMIN_KEY")
    keyhash.add_argument("key", nargs="?", help="the key (default: read from standard input)")

    args = parser.parse_args(argv)
    handler = {"serve": _serve, "check": _check, "test": _test, "explain": _explain, "diff": _diff, "laws": _laws,
               "key-hash": _key_hash}[args.command]
    return handler(args)


def _iso_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date: write YYYY-MM-DD") from None


def _laws(args: argparse.Namespace) -> int:
    from rules.errors import RuleFileError
    from toolkit.laws import laws_report

    try:
        report, problems = laws_report(Path(args.municipalities) / NATIONAL, args.as_of or dt.date.today(), args.lang)
    except RuleFileError as exc:
        for problem in exc.problems:
            print(problem)
        return 1
    print(report)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


def _key_hash(args: argparse.Namespace) -> int:
    from service.access import key_hash

    key = args.key if args.key is not None else sys.stdin.readline().strip()
    if not key:
        print("give a key", file=sys.stderr)
        return 2
    print(key_hash(key))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from service.server import run

    run(host=args.host, port=args.port, workers=args.workers, municipalities=args.municipalities,
        reload_interval=args.reload_interval)
    return 0


def _root_of(path: Path) -> Path:
    """The municipalities folder for a path: itself, or the parent of a guide folder."""
    path = path.resolve()
    if (path / "guide.yaml").is_file():
        return path.parent
    return path


def _check(args: argparse.Namespace) -> int:
    from rules.checks import lint_guide, status_problems
    from rules.loader import load_registry

    errors = warnings = 0
    for raw in args.paths:
        path = Path(raw)
        if not path.exists():
            print(f"{raw}: no such file or folder")
            errors += 1
            continue
        root = _root_of(path)
        registry = load_registry(root)
        wanted = None if path.resolve() == root else path.resolve().name
        for guide_id, error in sorted(registry.errors.items()):
            if wanted and guide_id not in (wanted, NATIONAL):
                continue
            for problem in error.problems:
                print(problem)
                errors += 1
        for guide_id, guide in sorted(registry.guides.items()):
            if wanted and guide_id != wanted:
                continue
            for problem in lint_guide(guide):
                print(problem)
                warnings += 1
            for problem in status_problems(guide, bundled=root == BUNDLED.resolve()):
                print(problem)
                if problem.severity == "error":
                    errors += 1
                else:
                    warnings += 1
            print(f"ok {guide_id}: {len(guide.rules)} rules, version {guide.version}, {guide.digest}")
    print(f"{errors} error(s), {warnings} warning(s)")
    return 1 if errors else 0


def _scenarios_for(raw: str) -> tuple[Path, list[Any]]:
    """(root folder of guides, scenarios) for a scenario file, a guide folder or a root."""
    from toolkit.scenarios import discover, load_scenarios

    path = Path(raw).resolve()
    if path.is_file():
        guide_dir = path.parent.parent
        return guide_dir.parent, load_scenarios(path, guide_dir.name, str(path.relative_to(guide_dir.parent)))
    root = _root_of(path)
    return root, [s for s in discover(root) if path == root or s.guide == path.name]


def _test(args: argparse.Namespace) -> int:
    from rules.loader import load_registry
    from toolkit.coverage import format_coverage, measure
    from toolkit.junit import junit_xml
    from toolkit.remote import run_remote
    from toolkit.scenarios import Outcome, ScenarioFileError, describe, run_scenario

    outcomes: list[Outcome] = []
    registries: dict[Path, Any] = {}
    problems = 0
    for raw in args.paths:
        if not Path(raw).exists():
            print(f"{raw}: no such file or folder")
            problems += 1
            continue
        try:
            root, scenarios = _scenarios_for(raw)
        except ScenarioFileError as exc:
            print(exc)
            problems += 1
            continue
        registry = registries.setdefault(root, load_registry(root))
        for scenario in scenarios:
            prepared = registry.prepared.get(scenario.guide)
            if args.url:
                outcome = run_remote(args.url, scenario)
            elif prepared is None:
                print(f"FAIL {scenario.file}:{scenario.line}: guide {scenario.guide!r} did not load "
                      "(run bti check)")
                outcome = Outcome(scenario, [("guide", scenario.guide, None)])
            else:
                outcome = run_scenario(prepared, scenario)
            outcomes.append(outcome)
            if outcome.status == "failed":
                print(describe(outcome))
            elif outcome.status == "todo":
                print(f"TODO {scenario.file}:{scenario.line}: {scenario.note} ({scenario.todo})")
    below = []
    for registry in registries.values():
        for guide_id in sorted({o.scenario.guide for o in outcomes}):
            guide = registry.guides.get(guide_id)
            mine = [o for o in outcomes if o.scenario.guide == guide_id]
            if guide is None or not mine:
                continue
            cov = measure(guide, mine)
            if not args.no_coverage:
                print(format_coverage(cov, over_http=bool(args.url)))
            if args.min_coverage is not None and cov.percent < args.min_coverage:
                below.append(f"{guide_id} {cov.percent:.1f}% < {args.min_coverage:g}%")
    if args.junit:
        Path(args.junit).write_text(junit_xml(outcomes), encoding="utf-8")
    for line in below:
        print(f"coverage below the minimum: {line}")
    passed = sum(o.status == "passed" for o in outcomes)
    failed = sum(o.status == "failed" for o in outcomes) + problems
    todo = sum(o.status == "todo" for o in outcomes)
    print(f"{passed} passed, {failed} failed" + (f", {todo} skipped" if todo else ""))
    return 1 if failed or below else 0


def _diff(args: argparse.Namespace) -> int:
    from service.versions import load_version
    from toolkit.diff import diff_guides, format_diff

    new_root, new_id = _root_of(Path(args.new)), Path(args.new).resolve().name
    try:
        old, new = load_version(args.old, Path(args.new)), load_version(None, Path(args.new))
    except (OSError, ValueError) as exc:
        print(f"cannot load: {exc}")
        return 2
    result = diff_guides(old, new, new_root / new_id / "scenarios")
    print(format_diff(result, args.examples))
    return 1 if args.fail_on_change and result.changes else 0


def _explain(args: argparse.Namespace) -> int:
    from rules.loader import load_registry
    from toolkit.report import explain_report
    from toolkit.scenarios import parse_request

    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    body: Any = json.loads(text)
    registry = load_registry(Path(args.municipalities))
    prepared = registry.prepared.get(args.municipality)
    if prepared is None:
        print(f"unknown municipality {args.municipality!r}; known: {', '.join(sorted(registry.guides))}",
              file=sys.stderr)
        return 2
    from marshmallow import ValidationError

    from rules.evaluate import evaluate
    from rules.messages import field_path, flatten

    guide = prepared.guide
    try:
        case = parse_request(guide, body)
    except ValidationError as exc:
        from schemas.i18n import localise

        for path, message, suggestions in flatten(exc.messages):
            hint = f" (did you mean: {', '.join(suggestions)}?)" if suggestions else ""
            print(f"{field_path(path) or '(body)'}: {localise(message, args.lang)}{hint}", file=sys.stderr)
        return 1
    from service.guide_view import sentence

    print(explain_report(guide, case, evaluate(prepared, case, args.lang), args.lang, describe=sentence))
    return 0


if __name__ == "__main__":
    sys.exit(main())
