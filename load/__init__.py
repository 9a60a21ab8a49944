"""Benchmarks and load tests (``make bench``, ``make load``, ``make soak``); not part of the service."""
