"""The testers' and maintainers' toolkit around the decision pipeline: scenario suites, rule coverage,
JUnit reports, ``bti diff``, ``bti explain``'s report, the remote runner and the reference evaluator.

It sits beside the pipeline, not in it: ``toolkit`` may import ``rules`` and ``schemas``; nothing in
``rules`` or ``schemas`` imports ``toolkit``.

Its one exception joins the rules package's tree:

    rules.errors.BTIError
    └── ScenarioFileError   a scenario file is malformed (toolkit.scenarios; file:line: what)
"""
