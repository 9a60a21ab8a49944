"""The ``bti`` command line (contract §6): serve, check, test, explain.

Environment variables mirror the options: BTI_HOST, BTI_PORT, BTI_WORKERS, BTI_MUNICIPALITIES,
BTI_RELOAD_INTERVAL.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from service.app import BUNDLED


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
    test.add_argument("paths", nargs="*", default=[os.environ.get("BTI_MUNICIPALITIES", str(BUNDLED))])

    explain = sub.add_parser("explain", help="one decision as a readable report")
    explain.add_argument("municipality")
    explain.add_argument("file", nargs="?", default="-", help="a JSON request, or - for standard input")
    explain.add_argument("--lang", default="nb", choices=["nb", "nn", "en"])
    explain.add_argument("--municipalities", default=os.environ.get("BTI_MUNICIPALITIES", str(BUNDLED)))

    args = parser.parse_args(argv)
    handler = {"serve": _serve, "check": _check, "test": _test, "explain": _explain}[args.command]
    return handler(args)


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
    from rules.checks import lint_guide
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
            if wanted and guide_id not in (wanted, "national"):
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
            print(f"ok {guide_id}: {len(guide.rules)} rules, version {guide.version}, {guide.digest}")
    print(f"{errors} error(s), {warnings} warning(s)")
    return 1 if errors else 0


def _test(args: argparse.Namespace) -> int:
    from rules.loader import load_registry
    from rules.scenarios import describe, discover, load_scenarios, run_scenario

    passed = failed = 0
    for raw in args.paths:
        path = Path(raw).resolve()
        if path.is_file():
            guide_dir = path.parent.parent
            root = guide_dir.parent
            scenarios = load_scenarios(path, guide_dir.name)
        else:
            root = _root_of(path)
            scenarios = [s for s in discover(root) if path == root or s.guide == path.name]
        registry = load_registry(root)
        for scenario in scenarios:
            guide = registry.guides.get(scenario.guide)
            if guide is None:
                print(f"{scenario.file}:{scenario.line}: guide {scenario.guide!r} did not load")
                failed += 1
                continue
            outcome = run_scenario(guide, scenario)
            if outcome.passed:
                passed += 1
            else:
                failed += 1
                print(describe(outcome))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def _explain(args: argparse.Namespace) -> int:
    from rules.loader import load_registry
    from rules.report import explain_report
    from rules.scenarios import parse_request

    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    body: Any = json.loads(text)
    registry = load_registry(Path(args.municipalities))
    guide = registry.guides.get(args.municipality)
    if guide is None:
        print(f"unknown municipality {args.municipality!r}; known: {', '.join(sorted(registry.guides))}",
              file=sys.stderr)
        return 2
    from marshmallow import ValidationError

    from rules.evaluate import evaluate
    from schemas.messages import field_path, flatten

    try:
        case = parse_request(guide, body)
    except ValidationError as exc:
        for path, message, suggestions in flatten(exc.messages):
            hint = f" (did you mean: {', '.join(suggestions)}?)" if suggestions else ""
            print(f"{field_path(path) or '(body)'}: {message}{hint}", file=sys.stderr)
        return 1
    print(explain_report(guide, case, evaluate(guide, case, args.lang), args.lang))
    return 0


if __name__ == "__main__":
    sys.exit(main())
