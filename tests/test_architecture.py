"""The import graph keeps one direction: no cycle between the packages, the rule language and its
engine (rules/) free of the wire format, the service, the toolkit, the translations and Flask, the
translations (i18n/) below the wire format, and the wire format (schemas/) free of the service and
the toolkit. Read from the source (every import statement,
also those inside functions), so nothing needs to be imported to check it."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rules", "i18n", "schemas", "service", "toolkit", "load", "tests")
FORBIDDEN = {
    "rules": {"i18n", "schemas", "service", "toolkit", "load", "tests", "flask", "werkzeug"},
    "i18n": {"schemas", "service", "toolkit", "load", "tests", "flask"},
    "schemas": {"service", "toolkit", "load", "tests", "flask"},
    "toolkit": {"service", "load", "tests"},
    "service": {"load", "tests"},
}


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of each import in the file; relative imports resolved against its package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = path.relative_to(ROOT).parent.parts
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                yield node.lineno, f"{base}.{node.module}" if node.module else base
            else:
                yield node.lineno, node.module or ""


def package_imports() -> dict[str, dict[str, list[str]]]:
    """package → imported top-level name → where (file:line)."""
    graph: dict[str, dict[str, list[str]]] = {p: {} for p in PACKAGES}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, module in imported_modules(path):
                top = module.split(".")[0]
                if top and top != package:
                    graph[package].setdefault(top, []).append(f"{path.relative_to(ROOT)}:{line}")
    return graph


GRAPH = package_imports()


def test_the_walk_finds_the_imports_it_checks() -> None:
    """The check can fail: it sees the imports that are there."""
    assert "rules" in GRAPH["schemas"] and "rules" in GRAPH["service"] and "flask" in GRAPH["service"]
    assert "durable_rules_engine" in GRAPH["rules"]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_lies_below_it(package: str) -> None:
    wrong = {name: where for name, where in GRAPH[package].items() if name in FORBIDDEN[package]}
    assert not wrong, f"{package}/ imports " + "; ".join(f"{n} ({', '.join(w)})" for n, w in sorted(wrong.items()))


def test_no_import_cycle_between_packages() -> None:
    edges = {p: {q for q in GRAPH[p] if q in GRAPH} for p in PACKAGES}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(edges[node]):
            if nxt == path[0]:
                cycles.append(" → ".join([*path, nxt]))
            elif nxt not in path and nxt > path[0]:  # each cycle once, from its smallest package
                visit(nxt, [*path, nxt])

    for start in PACKAGES:
        visit(start, [start])
    assert not cycles, "import cycles: " + "; ".join(cycles)


def test_only_the_engine_adapter_imports_durable_rules() -> None:
    users = sorted({where.split(":")[0] for p in ("rules", "i18n", "schemas", "service", "toolkit", "load")
                    for name, where_list in GRAPH[p].items() if name.startswith("durable")
                    for where in where_list})
    assert users == ["rules/engine.py"]
