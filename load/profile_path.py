"""Where the time goes, by pyinstrument (``pip install pyinstrument`` into the venv first):

    python -m load.profile_path decision [--seconds 8]   # validate → evaluate → dump, bench mix
    python -m load.profile_path evaluate [--seconds 8]   # the engine path alone
    python -m load.profile_path startup  [--count 357]   # load_registry of generated guides

For the server under load, py-spy on one gunicorn worker while ``make load`` (or the locustfile)
runs: ``py-spy record -p <worker pid> -d 15 -r 500 -f raw -o spy.txt --nonblocking``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from marshmallow.experimental.context import Context

from load.mix import build_mix
from load.results import BUNDLED
from rules.evaluate import evaluate
from rules.loader import load_registry
from schemas.request import DecisionRequestSchema
from service.api import present


def main(argv: list[str] | None = None) -> int:
    try:
        from pyinstrument import Profiler
    except ImportError:
        raise SystemExit("pyinstrument is not installed: .venv/bin/pip install pyinstrument") from None
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["decision", "evaluate", "startup"])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--count", type=int, default=357)
    args = parser.parse_args(argv)
    if args.what == "startup":
        from load.generate_guides import generate

        with tempfile.TemporaryDirectory(prefix="bti-profile-") as tmp:
            root = Path(tmp) / "municipalities"
            generate(root, args.count)
            profiler = Profiler(interval=0.001)
            profiler.start()
            load_registry(root)
            profiler.stop()
        print(profiler.output_text(unicode=True, color=False))
        return 0
    registry = load_registry(BUNDLED)
    items, _ = build_mix(registry.prepared, BUNDLED)
    schema = DecisionRequestSchema()
    for item in items:  # warm up
        evaluate(item.prepared, item.case, item.lang)
    profiler = Profiler(interval=0.0002)
    profiler.start()
    deadline, n = time.perf_counter() + args.seconds, 0
    while time.perf_counter() < deadline:
        item = items[n % len(items)]
        n += 1
        if args.what == "evaluate":
            evaluate(item.prepared, item.case, item.lang)
            continue
        with Context({"guide": item.guide}):
            case = schema.load(item.body)
        present(evaluate(item.prepared, case, item.lang))
    profiler.stop()
    print(f"{n} decisions (timings include the profiler's overhead; read the proportions)")
    print(profiler.output_text(unicode=True, color=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
