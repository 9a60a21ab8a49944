"""Hostile and careless rule files against a running `bti serve`: each must be refused with a
located error on /v1/status within a reload interval or two, the worker's memory must come back,
and the other guides must keep reloading (docs/rule-language.md, "Limits").

    python -m load.hostile [--workers 2] [--reload-interval 1]

Copies the bundled guides to a temporary folder and starts `bti serve` on it. Then, for each
case: writes the files into tromso/rules/ (each file written beside and renamed into place, so no
half-written file is read), waits until /v1/status reports tromso's error, and records the time
that took, the error, and each worker's resident memory (VmRSS) and peak (VmHWM) before and after;
then changes oygarden's version and waits until it is served (the other guides still reload); then
removes the files and waits until tromso loads again. Merges the figures into
load/results/bench.json under "hostile_files".
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from load.results import BUNDLED, RESULTS, publish

ALIAS_BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))
)
"""The "billion laughs": nine levels of nine aliases each, 9^9 strings once expanded (342 bytes)."""

RULE = ("  - id: r{i}\n    title: Regel {i}\n    because: {because}\n"
        "    when: {{subject.age: {{at_least: {age}}}}}\n    then: {{steps: [notify_municipal_health_service]}}\n")


def rules_text(first: int, count: int, group: str, because: str = "Lokal regel.") -> str:
    """A valid rule file of ``count`` small rules (ids r<first>…)."""
    return f"group: {group}\nrules:\n" + "".join(RULE.format(i=i, because=because, age=i % 18)
                                                  for i in range(first, first + count))


def rules_of_size(size: int) -> str:
    """A valid rule file of small rules, at least ``size`` bytes long."""
    parts, total, i = ["group: big\nrules:\n"], 0, 0
    while total < size:
        part = RULE.format(i=i, because="Lokal regel.", age=i % 18)
        parts.append(part)
        total += len(part)
        i += 1
    return "".join(parts)


def long_because(size: int) -> str:
    """One rule whose ``because`` is ``size`` characters."""
    return rules_text(0, 1, "long", because="x" * size)


def many_rule_files(rules: int, per_file: int) -> dict[str, str]:
    """``rules`` rules spread over files of ``per_file`` each."""
    return {f"many{n:03}.yaml": rules_text(first, min(per_file, rules - first), f"many{n:03}")
            for n, first in enumerate(range(0, rules, per_file))}


MB = 1024 * 1024
CASES: dict[str, Callable[[], dict[str, str]]] = {
    "alias bomb": lambda: {"bomb.yaml": ALIAS_BOMB},
    "50 MB file of small rules": lambda: {"big.yaml": rules_of_size(50 * MB)},
    "50 MB because": lambda: {"long.yaml": long_because(50 * MB)},
    "10,000-rule guide (files of 500)": lambda: many_rule_files(10_000, 500),
    "1,500-rule guide within the size limits": lambda: many_rule_files(1_500, 300),
    "250 KB file of small rules": lambda: {"big.yaml": rules_of_size(250 * 1024)},
    "200 KB because": lambda: {"long.yaml": long_because(200 * 1024)},
    "nesting 100,000 levels deep": lambda: {"deep.yaml": "group: deep\nrules: " + "[" * 100_000 + "]" * 100_000},
    "300 rule files": lambda: {f"f{n:03}.yaml": rules_text(n, 1, f"f{n:03}") for n in range(300)},
}


def write_files(folder: Path, files: dict[str, str]) -> None:
    """Write each file beside its place and rename it in, so a reload never reads half a file."""
    for name, text in files.items():
        tmp = folder.parent / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(folder / name)


def memory(pid: int) -> tuple[float, float]:
    """VmRSS and VmHWM (peak) of a process, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def status(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/v1/status", timeout=10) as response:
        return dict(json.loads(response.read()))


def wait_for(check: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``check()`` held (polled every 50 ms); raises TimeoutError."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise TimeoutError
        time.sleep(0.05)
    return time.monotonic() - start


def tromso_error(url: str) -> list[str] | None:
    return _problems(status(url))


def _problems(answer: dict[str, Any]) -> list[str] | None:
    error = answer["guides"].get("tromso", {}).get("last_reload_error")
    return None if error is None else list(error["problems"])


def _about(problems: list[str] | None, files: dict[str, str]) -> bool:
    """The error names one of ``files``, or no rule file at all (a guide-wide limit)."""
    if not problems:
        return False
    named = re.match(r"tromso/rules/([^:]+):", problems[0])
    return named is None or named.group(1) in files


def every_worker(url: str, workers: int, check: Callable[[dict[str, Any]], bool]) -> bool:
    """``check`` holds on as many /v1/status answers in a row as there are workers, times three
    (each answer comes from whichever worker takes the connection)."""
    return all(check(status(url)) for _ in range(3 * workers))



def run_case(url: str, workers: list[int], root: Path, name: str, files: dict[str, str],
             timeout: float) -> dict[str, Any]:
    rules = root / "tromso" / "rules"
    before = {pid: memory(pid) for pid in workers}
    write_files(rules, files)
    try:
        # a worker that has not yet seen the previous case's files go may still show its error:
        # wait for an error about this case's files, from every worker
        seen: list[list[str]] = []

        def refused() -> bool:
            problems = tromso_error(url)
            if _about(problems, files):
                seen.append(problems or [])
            return bool(seen)

        took = wait_for(refused, timeout)
        refused_by_all = wait_for(lambda: every_worker(
            url, len(workers), lambda answer: _about(_problems(answer), files)), timeout)
        error = seen[0]
        time.sleep(1)  # let the workers settle before reading their memory
        after = {pid: memory(pid) for pid in workers}
        version = f"2026.{int(time.time() * 1000) % 100000}"
        guide = root / "oygarden" / "guide.yaml"
        text = guide.read_text(encoding="utf-8")
        old = next(line for line in text.splitlines() if line.startswith("version:"))
        guide.write_text(text.replace(old, f'version: "{version}"'), encoding="utf-8")
        other = wait_for(lambda: every_worker(url, len(workers),
                                              lambda s: s["guides"]["oygarden"]["version"] == version), timeout)
    finally:
        for file in files:
            (rules / file).unlink(missing_ok=True)
    wait_for(lambda: every_worker(url, len(workers), lambda s: s["guides"]["tromso"]["last_reload_error"] is None),
             timeout)
    return {
        "case": name, "bytes": sum(len(t.encode()) for t in files.values()), "files": len(files),
        "seen_refused_s": round(took, 2), "refused_by_every_worker_s": round(refused_by_all, 2),
        "other_guide_reloaded_s": round(other, 2), "error": error[:2],
        "workers": [{"rss_before_mb": round(before[p][0], 1), "rss_after_mb": round(after[p][0], 1),
                     "peak_before_mb": round(before[p][1], 1), "peak_after_mb": round(after[p][1], 1)}
                    for p in workers],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reload-interval", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for each step")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    from load.server import bti_serve

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "municipalities"
        shutil.copytree(BUNDLED, root, ignore=shutil.ignore_patterns("scenarios"))
        (root / "tromso" / "rules").mkdir(exist_ok=True)
        with bti_serve(root, workers=args.workers, reload_interval=args.reload_interval,
                       env={"BTI_STATE_DIR": str(Path(tmp) / "state")}) as server:
            workers = server.workers()
            for name, make in CASES.items():
                rows.append(run_case(server.url, workers, root, name, make(), args.timeout))
                print(json.dumps(rows[-1], ensure_ascii=False), file=sys.stderr)
    lines = [f"{'case':42} {'refused':>8} {'all':>6} {'other':>6}  RSS before → after (peak after), per worker"]
    for row in rows:
        mem = "; ".join(f"{w['rss_before_mb']:.0f} → {w['rss_after_mb']:.0f} ({w['peak_after_mb']:.0f}) MB"
                        for w in row["workers"])
        lines.append(f"{row['case']:42} {row['seen_refused_s']:7.2f}s {row['refused_by_every_worker_s']:5.2f}s "
                     f"{row['other_guide_reloaded_s']:5.2f}s  {mem}")
        lines.append(f"    {row['error'][0] if row['error'] else '(no error)'}")
    return publish({"hostile_files": {"reload_interval_s": args.reload_interval, "workers": args.workers,
                                      "cases": rows}}, "hostile_files", args.out, "\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
