"""The BTI rule language and engine: load → validate → compile → evaluate → resolve.

No Flask and no I/O beyond reading rule files at load time. The public entry points are
:func:`rules.loader.load_registry` / :func:`rules.loader.load_guide` and
:func:`rules.evaluate.evaluate`.
"""
