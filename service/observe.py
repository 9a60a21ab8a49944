"""Operations: Prometheus metrics and structured JSON logs. Both carry codes only — the
endpoint, status, municipality and level — never request content."""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

import orjson
from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from rules import engine
from service.paths import MULTIPROC_ENV


class Metrics:
    def __init__(self) -> None:
        self.requests = Counter("bti_http_requests_total", "HTTP requests", ["endpoint", "method", "status"])
        self.latency = Histogram("bti_http_request_duration_seconds", "HTTP request latency", ["endpoint"],
                                 buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
        self.decisions = Counter("bti_decisions_total", "Decisions given", ["municipality", "level"])
        self.reload_errors = Counter("bti_reload_errors_total", "Guide changes refused on reload", ["municipality"])
        # the same in every worker (each reads the same folder): the largest of the live workers
        self.refused_folders = Gauge("bti_refused_folders", "Folders of the rule folder that are not guides",
                                     multiprocess_mode="livemax")
        self.unserved_guides = Gauge("bti_unserved_guides", "Guides with files but no version served",
                                     multiprocess_mode="livemax")
        self.lost_states = Gauge("bti_engine_lost_states", "States the rule engine holds that could not be deleted",
                                 multiprocess_mode="livesum")

    def update_engine(self) -> None:
        """Read this process's engine figures into the gauges (each worker does, now and then)."""
        self.lost_states.set(engine.lost_states())

    def exposition(self) -> bytes:
        if os.environ.get(MULTIPROC_ENV):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest()


_metrics: Metrics | None = None


def metrics() -> Metrics:
    """The process's metrics (created once: prometheus_client registers names globally)."""
    global _metrics
    if _metrics is None:
        _metrics = Metrics()
    return _metrics


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's ``fields``.

    Encoded by orjson (compact, non-ASCII text as UTF-8; a decision's line took about a tenth of
    the request's server time with :mod:`json`); a value orjson cannot encode (a lone surrogate,
    an integer over 64 bits) falls back to :func:`json.dumps`, so what could be logged before
    still is."""

    _stamp: tuple[int, str] = (-1, "")  # the last second formatted, and its text

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        stamp = self._stamp
        if stamp[0] != second:
            stamp = self._stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        entry: dict[str, Any] = {
            "ts": f"{stamp[1]}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[1] is not None:
            # the type and where it was raised, never the message: a message can quote a request
            exc, tb = record.exc_info[1], record.exc_info[2]
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            where = f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}" if tb else ""
            entry["error"] = f"{type(exc).__name__} at {where}"
        try:
            return orjson.dumps(entry, option=orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:
            return json.dumps(entry, ensure_ascii=False)


def configure_logging() -> None:
    """JSON lines on stderr for the ``bti`` loggers (once per process)."""
    logger = logging.getLogger("bti")
    if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = True


def install(app: Flask) -> None:
    """Time every request and count it; serve /metrics."""
    m = metrics()

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()

    # the labelled series by (endpoint, method, status), looked up once (labels() takes a lock and
    # checks its arguments on every call); the endpoints are the app's routes, so the table is small
    series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    @app.after_request
    def _count(response: Response) -> Response:
        rule = request.url_rule
        key = (rule.rule if rule is not None else "unmatched", request.method, response.status_code)
        found = series.get(key)
        if found is None:
            found = series[key] = (m.requests.labels(key[0], key[1], str(key[2])), m.latency.labels(key[0]))
        found[0].inc()
        found[1].observe(time.perf_counter() - getattr(g, "started", time.perf_counter()))
        return response


def metrics_response() -> Response:
    metrics().update_engine()
    # content_type, not mimetype: CONTENT_TYPE_LATEST has its charset already (Flask would add a second)
    return Response(metrics().exposition(), content_type=CONTENT_TYPE_LATEST)
