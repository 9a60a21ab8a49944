"""Constants the command line needs before anything heavy is imported."""

from __future__ import annotations

from pathlib import Path

BUNDLED = Path(__file__).resolve().parent.parent / "municipalities"
# Must be set before prometheus_client is first imported (it picks its storage then):
# `bti serve` sets it, and each worker writes its numbers there, so /metrics covers all workers.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
