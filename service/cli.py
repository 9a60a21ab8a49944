"""The ``bti`` command line (README, Command line): serve, check, test, diff, explain, key-hash.

Environment variables mirror the options: BTI_HOST, BTI_PORT, BTI_WORKERS, BTI_MUNICIPALITIES,
BTI_RELOAD_INTERVAL.

A mistake in what a command is given (a missing file, bad JSON or YAML, an empty input, a folder
of guides where one guide is meant) is one line on standard error and exit code 2; a reader that
closes the output early (``bti diff … | head``) ends the command quietly with exit code 2 as well.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

from rules.model import LANGUAGES, NATIONAL
from service.cli_input import UsageError, silence_stdout
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
    explain.add_argument("file", nargs="?", default="-",
                         help="a request (JSON or YAML), a scenario entry or a scenario file; - for standard input")
    explain.add_argument("--case", type=int, metavar="N", help="the N-th case of a scenario file (from 1)")
    explain.add_argument("--lang", choices=LANGUAGES, help="default: the scenario's lang, else nb")
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
    try:
        code = handler(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except UsageError as exc:
        print(f"bti {args.command}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        silence_stdout()
        print(f"bti {args.command}: the output was closed before everything was written", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"bti {args.command}: interrupted", file=sys.stderr)
        return 130


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


def _guides_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if (p / "guide.yaml").is_file())


def _guide_folder_of(path: Path) -> Path | None:
    """The guide folder a file belongs to: the nearest folder above it with a guide.yaml."""
    return next((p for p in path.resolve().parents if (p / "guide.yaml").is_file()), None)


def _folder_to_check(raw: str) -> Path:
    """A guide folder or a folder of guides for ``bti check`` (a file: the guide it is part of)."""
    path = Path(raw)
    if not path.exists():
        raise UsageError(f"{raw}: no such file or folder")
    if path.is_file():
        folder = _guide_folder_of(path)
        if folder is None:
            raise UsageError(f"{raw} is not part of a guide (no guide.yaml above it): bti check takes a guide "
                             "folder or a folder of guides")
        return folder
    if not (path / "guide.yaml").is_file() and not _guides_in(path):
        raise UsageError(f"{raw} is neither a guide folder (with guide.yaml) nor a folder of guides")
    return path


def _check(args: argparse.Namespace) -> int:
    from rules.checks import lint_guide, status_problems
    from rules.errors import Problem
    from rules.loader import load_registry

    folders = [_folder_to_check(raw) for raw in args.paths]
    errors = warnings = 0
    for path in folders:
        root = _root_of(path)
        registry = load_registry(root)
        wanted = None if path.resolve() == root else path.resolve().name
        for name, reason in sorted(registry.skipped.items()):
            if wanted is None:  # the service leaves these folders unloaded too (docs/operations.md)
                print(Problem(f"{name}/", None, "", f"{reason}; the service does not load it",
                              severity="warning"))
                warnings += 1
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
    from rules.errors import RuleFileError
    from toolkit.scenarios import ScenarioFileError, discover, load_scenarios

    path = Path(raw)
    if not path.exists():
        raise UsageError(f"{raw}: no such file or folder")
    path = path.resolve()
    try:
        if path.is_file():
            guide_dir = path.parent.parent
            if path.parent.name != "scenarios" or not (guide_dir / "guide.yaml").is_file():
                raise UsageError(f"{raw} is not a scenario file of a guide (<guide>/scenarios/*.yaml)")
            return guide_dir.parent, load_scenarios(path, guide_dir.name, str(path.relative_to(guide_dir.parent)))
        if not (path / "guide.yaml").is_file() and not _guides_in(path):
            raise UsageError(f"{raw} is neither a guide folder (with guide.yaml) nor a folder of guides")
        root = _root_of(path)
        return root, [s for s in discover(root) if path == root or s.guide == path.name]
    except ScenarioFileError as exc:
        raise UsageError(str(exc)) from None
    except RuleFileError as exc:
        raise UsageError("; ".join(str(p) for p in exc.problems)) from None


def _test(args: argparse.Namespace) -> int:
    from rules.loader import load_registry
    from service.cli_input import use_colour
    from toolkit.coverage import format_coverage, measure
    from toolkit.junit import junit_xml
    from toolkit.remote import RemoteError, run_remote
    from toolkit.scenarios import Outcome, describe, run_scenario

    paint = _painter(use_colour(sys.stdout))
    outcomes: list[Outcome] = []
    registries: dict[Path, Any] = {}
    unreadable: list[str] = []
    inputs: list[tuple[Path, list[Any]]] = []
    for raw in args.paths:  # every input first: a broken file is reported, the others still run
        try:
            inputs.append(_scenarios_for(raw))
        except UsageError as exc:
            unreadable.append(str(exc))
    if not inputs:
        raise UsageError("; ".join(unreadable))
    for line in unreadable:
        print(f"bti test: {line}", file=sys.stderr)
    for root, scenarios in inputs:
        if root not in registries:
            registries[root] = load_registry(root)
        registry = registries[root]
        for scenario in scenarios:
            prepared = registry.prepared.get(scenario.guide)
            if args.url:
                try:
                    outcome = run_remote(args.url, scenario)
                except RemoteError as exc:
                    raise UsageError(str(exc)) from None
            elif prepared is None:
                print(f"{paint('FAIL', 'red')} {scenario.file}:{scenario.line}: guide {scenario.guide!r} did "
                      "not load (run bti check)")
                outcome = Outcome(scenario, [("guide", scenario.guide, None)])
            else:
                outcome = run_scenario(prepared, scenario)
            outcomes.append(outcome)
            if outcome.status == "failed":
                text = describe(outcome)
                print(paint("FAIL", "red") + text[4:] if text.startswith("FAIL") else text)
            elif outcome.status == "todo":
                print(f"{paint('TODO', 'yellow')} {scenario.file}:{scenario.line}: {scenario.note} ({scenario.todo})")
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
        try:
            Path(args.junit).write_text(junit_xml(outcomes), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {args.junit}: {exc.strerror}") from None
    for line in below:
        print(f"coverage below the minimum: {line}")
    passed = sum(o.status == "passed" for o in outcomes)
    failed = sum(o.status == "failed" for o in outcomes)
    todo = sum(o.status == "todo" for o in outcomes)
    summary = (paint(f"{passed} passed", "green" if passed else "") + ", "
               + paint(f"{failed} failed", "red" if failed else "") + (f", {todo} skipped" if todo else ""))
    print(summary)
    if unreadable:
        return 2
    return 1 if failed or below else 0


_COLOURS = {"red": "31", "green": "32", "yellow": "33"}


def _painter(on: bool) -> Any:
    def paint(text: str, colour: str) -> str:
        code = _COLOURS.get(colour)
        return f"\x1b[{code}m{text}\x1b[0m" if on and code else text
    return paint


def _diff(args: argparse.Namespace) -> int:
    from service.versions import load_version
    from toolkit.diff import diff_guides, format_diff

    new_path = Path(args.new)
    if not new_path.exists():
        raise UsageError(f"{args.new}: no such folder")
    if not new_path.is_dir():
        raise UsageError(f"{args.new} is a file: bti diff compares guide folders (one with guide.yaml)")
    if not (new_path / "guide.yaml").is_file():
        guides = _guides_in(new_path)
        if guides:
            raise UsageError(f"{args.new} is a folder of guides; bti diff compares one guide: give its folder, "
                             f"e.g. {new_path / guides[0]} (guides here: {', '.join(guides)})")
        raise UsageError(f"{args.new} is not a guide folder (no guide.yaml)")
    if Path(args.old).is_file():
        raise UsageError(f"{args.old} is a file: give the old version as a guide folder or a git revision")
    new_root, new_id = _root_of(new_path), new_path.resolve().name
    try:
        old, new = load_version(args.old, new_path), load_version(None, new_path)
    except (OSError, ValueError) as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        more = f" (and {len(lines) - 2} more problems; run bti check)" if len(lines) > 2 else ""
        raise UsageError("cannot load: " + " ".join(lines[:2]) + more) from None
    result = diff_guides(old, new, new_root / new_id / "scenarios")
    print(format_diff(result, args.examples))
    return 1 if args.fail_on_change and result.changes else 0


def _explain(args: argparse.Namespace) -> int:
    from marshmallow import ValidationError

    from rules.evaluate import evaluate
    from rules.loader import load_registry
    from rules.messages import field_path, flatten
    from service.cli_input import case_request, parse_document, read_text
    from toolkit.report import explain_report
    from toolkit.scenarios import parse_request

    text, name = read_text(args.file)
    body, scenario_lang = case_request(parse_document(text, name), name, args.case)
    lang = args.lang or (scenario_lang if scenario_lang in ("nb", "nn", "en") else "nb")
    root = Path(args.municipalities)
    if not root.is_dir():
        raise UsageError(f"{args.municipalities}: no such folder of guides")
    registry = load_registry(root)
    prepared = registry.prepared.get(args.municipality)
    if prepared is None:
        known = ", ".join(sorted(registry.guides))
        if args.municipality in registry.errors:
            raise UsageError(f"the guide {args.municipality!r} does not load: run bti check {root / args.municipality}")
        raise UsageError(f"unknown municipality {args.municipality!r}; known: {known}")
    guide = prepared.guide
    try:
        case = parse_request(guide, body)
        decision = evaluate(prepared, case, lang)
    except ValidationError as exc:
        from schemas.i18n import localise

        problems = []
        for path, message, suggestions in flatten(exc.messages):
            hint = f" (did you mean: {', '.join(suggestions)}?)" if suggestions else ""
            problems.append(f"{field_path(path) or '(body)'}: {localise(message, lang)}{hint}")
        raise UsageError(f"{name}: " + "; ".join(problems)) from None
    from service.guide_view import sentence

    print(explain_report(guide, case, decision, lang, describe=sentence))
    return 0


if __name__ == "__main__":
    sys.exit(main())
