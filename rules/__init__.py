"""The BTI rule language and engine: load → validate → compile → evaluate → resolve.

No Flask and no I/O beyond reading rule files at load time; nothing here imports ``schemas``,
``service`` or ``toolkit`` (tests/test_architecture.py keeps it so). The entry points:
:func:`rules.loader.load_registry` (every guide under a folder, prepared to decide),
:func:`rules.loader.load_guide` with :func:`rules.prepare.prepare`, and
:func:`rules.evaluate.evaluate` (a prepared guide and a case → a decision).

Loading a guide folder, stage by stage:

    yamlsource  read a YAML file keeping each value's line
    grammar     the rule, guide and catalog file formats (marshmallow schemas)
    validate    a file checked against the grammar: problems with file, line and YAML path
    catalog     catalog.yaml → the codes rules may use
    laws        laws.yaml → the statutes the catalog may cite
    rulefile    one rules/*.yaml → rules, each checked against the phase it can be decided in
    inherit     what a municipality's guide may change in the national baseline
    checks      checks on the whole guide (errors, and warnings that do not stop it loading)
    digest      one hash over every file a guide is built from
    loader      the stages put together: a folder → Guide; a root folder → Registry

Deciding:

    prepare     Guide → PreparedGuide: rules compiled and loaded into the engine, once
    compiler    conditions → durable_rules rulesets (pure data)
    engine      the one adapter around durable_rules
    case        a Case and the fact the engine is given
    evaluate    the three phases of one decision in the engine
    resolve     the rules that fired → the Decision

Shared by both: ``model`` (the rule model as plain data), ``fields`` (what a condition can test
and what each operator means), ``describe`` and ``analysis`` (conditions in words; whether one
can hold or implies another), ``decision``, ``messages`` and ``errors``.
"""
