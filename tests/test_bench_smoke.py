"""The benchmark runs: about a second of ``make bench`` in-process, its JSON checked for shape.
Timing is never asserted here (docs/performance.md has the figures)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from load import bench_engine, stages

FIELDS = ("engine_median_us", "engine_p99_us", "reference_median_us", "engine_ratio", "engine_only_median_us",
          "engine_only_ratio", "bench_decisions")


@pytest.mark.slow
def test_bench_writes_positive_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    out.write_text(json.dumps({"http_ratio": 0.5}))  # another benchmark's figures are kept
    assert bench_engine.main(["--seconds", "1", "--warmup", "0.1", "--sample-every", "400", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    for name in FIELDS:
        value = data[name]
        assert isinstance(value, int | float) and not isinstance(value, bool), name
        assert math.isfinite(value) and value > 0, (name, value)
    assert data["http_ratio"] == 0.5
    assert data["bench_mix"]["engine_reference_disagree"] == 0
    machine = data["machine"]["bench"]
    assert machine["cpu_model"] and machine["python"] and machine["date"]
    assert "full path" in capsys.readouterr().out


@pytest.mark.slow
def test_stage_table_has_every_stage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    assert stages.main(["--seconds", "0.5", "--out", str(out)]) == 0
    table = json.loads(out.read_text())["stages"]["stage_medians_us"]
    assert set(table) == {stage for stage, _ in stages.STAGES}
    for stage in ("validate", "evaluate", "engine_c", "encode", "resolve", "present", "full"):
        assert table[stage] > 0, stage  # each wrapped function was reached
    assert "| stage | median µs |" in capsys.readouterr().out
