"""Load guides from their folders: read YAML, validate with the schemas, build the model,
compile it and load it into the engine.

A folder holds ``guide.yaml`` and ``rules/*.yaml``; the national folder also holds
``catalog.yaml``. A municipality's guide (``extends: national``) inherits the national rules and
adds its own. Every problem found is reported at once, each with file, line and YAML path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError, fields
from marshmallow.experimental.context import Context

from rules.case import fact_template
from rules.compiler import SENTINEL_PREFIX, compile_rules
from rules.engine import RuleEngine
from rules.errors import Problem, RuleFileError
from rules.fields import FIELDS
from rules.grammar import CatalogFileSchema, GuideFileSchema, RuleFileHeadSchema, RuleFileSchema, RuleSchema
from rules.inherit import inherited_rules, municipal_catalog, settings_problems, weakening_problems
from rules.laws import LAWS_FILE, check_catalog_citations
from rules.messages import closest, flatten
from rules.model import (
    URGENT_STEPS,
    ActorRef,
    AllOf,
    AnyOf,
    Catalog,
    Condition,
    FieldTest,
    ForbiddenInfo,
    Guide,
    NotOf,
    Rule,
    Service,
    SettingRef,
    Settings,
    SignalInfo,
    SignalTest,
    StepInfo,
)
from rules.yamlsource import Document, format_path, read_yaml

NATIONAL = "national"
CATALOG_FILE = "catalog.yaml"
GUIDE_FILE = "guide.yaml"
RULES_DIR = "rules"


def _schema_keys(schema: type[Schema]) -> set[str]:
    keys: set[str] = set()
    for name, fld in schema._declared_fields.items():
        keys.add(name)
        nested = getattr(fld, "nested", None) or getattr(getattr(fld, "inner", None), "nested", None)
        if isinstance(nested, type) and issubclass(nested, Schema):
            keys |= _schema_keys(nested)
    return keys


KNOWN_KEYS = sorted(_schema_keys(CatalogFileSchema) | _schema_keys(GuideFileSchema) | _schema_keys(RuleFileSchema))


def _keys_at(schema: Schema, path: tuple[str | int, ...]) -> list[str]:
    """The keys valid at ``path`` under ``schema`` (for "did you mean" on an unknown key)."""
    current: Any = schema
    for part in path:
        if isinstance(current, Schema):
            current = current.fields.get(str(part)) if isinstance(part, str) else None
        elif isinstance(current, fields.List):
            current = current.inner
            if not isinstance(part, int):
                return []
            continue
        elif isinstance(current, fields.Dict):
            current = current.value_field
            continue
        if isinstance(current, fields.Nested):
            current = current.schema
        elif isinstance(current, fields.List) and isinstance(current.inner, fields.Nested):
            pass
        if current is None:
            return []
    if isinstance(current, fields.List) and isinstance(current.inner, fields.Nested):
        current = current.inner.schema
    return list(current.fields) if isinstance(current, Schema) else []


def _validate(schema: Schema, doc: Document, context: Mapping[str, Any] | None = None,
              data: Any = None, prefix: tuple[str | int, ...] = ()) -> Any:
    """Load ``data`` (default: the whole document) with ``schema``; every error becomes a
    Problem with its line; ``prefix`` is where ``data`` sits in the document."""
    data = doc.data if data is None and not prefix else data
    try:
        with Context(dict(context or {})):
            return schema.load(data if data is not None else {})
    except ValidationError as exc:
        problems = []
        for path, message, suggestions in flatten(exc.messages):
            key = str(path[-1]) if path else ""
            if message == "Unknown field.":
                message = f"unknown key {key!r}"
                suggestions = tuple(closest(key, _keys_at(schema, path[:-1]) or KNOWN_KEYS))
            elif message == "Missing data for required field.":
                message = f"missing: {key} is required here"
            full = (*prefix, *path)
            problems.append(Problem(doc.file, doc.line_of(full), format_path(full), message, suggestions))
        raise RuleFileError(problems) from None


def _display(path: Path, root: Path | None) -> str:
    try:
        return str(path.relative_to(root)) if root else str(path)
    except ValueError:
        return str(path)


# --- catalog -------------------------------------------------------------------------------


def load_catalog(path: Path, root: Path | None = None) -> Catalog:
    doc = read_yaml(path, _display(path, root))
    data = _validate(CatalogFileSchema(), doc)
    problems: list[Problem] = []
    services = {code: Service(code, e["label"], e["health"], i, reports=e["reports"])
                for i, (code, e) in enumerate(data["services"].items())}
    signals = {code: SignalInfo(code, e["group"], e["label"], tuple(e["subjects"]), i)
               for i, (code, e) in enumerate(data["signals"].items())}
    steps: dict[str, StepInfo] = {}
    for i, (code, e) in enumerate(data["steps"].items()):
        actor = None
        if "actor" in e:
            actor = ActorRef(e["actor"]["service"], e["actor"]["role"])
            if actor.service not in services:
                problems.append(Problem(doc.file, doc.line_of(("steps", code, "actor", "service")),
                                        f"steps.{code}.actor.service", f"unknown service {actor.service!r}",
                                        tuple(closest(actor.service, services))))
        steps[code] = StepInfo(
            code=code, kind=e["kind"], label=e["label"], text=e["text"], legal_basis=tuple(e["legal_basis"]),
            order=i, legal_basis_by_reporter={k: tuple(v) for k, v in e.get("legal_basis_by_reporter", {}).items()},
            actor=actor, subjects=tuple(e.get("subjects", ("child", "pregnant"))), min_age=e.get("min_age"),
            due=e.get("due"), due_setting=e.get("due_setting"), dropped_when=tuple(e.get("dropped_when", ())),
            guidance=tuple(e["guidance"]),
            legal_basis_by_signal=tuple((tuple(b["signals"]), tuple(b["legal_basis"]))
                                        for b in e.get("legal_basis_by_signal", ())),
        )
    forbidden = {code: ForbiddenInfo(code, e["label"], e["text"], tuple(e["legal_basis"]), tuple(e["removes"]), i,
                                     guidance=tuple(e["guidance"]))
                 for i, (code, e) in enumerate(data["forbidden"].items())}
    for section, code, key, refs in [
        *(("steps", s.code, "dropped_when", s.dropped_when) for s in steps.values()),
        *(("forbidden", f.code, "removes", f.removes) for f in forbidden.values()),
    ]:
        for ref in refs:
            if ref not in steps:
                problems.append(Problem(doc.file, doc.line_of((section, code, key)), f"{section}.{code}.{key}",
                                        f"unknown step {ref!r}", tuple(closest(ref, steps))))
    if problems:
        raise RuleFileError(problems)
    return Catalog(
        languages=tuple(data["languages"]),
        levels={int(k): v for k, v in data["levels"].items()},
        strengths=data["strengths"], roles=data["roles"], consent_parties=data["consent_parties"],
        services=services, signals=signals, steps=steps, forbidden=forbidden,
    )


# --- rules ---------------------------------------------------------------------------------


def _walk(cond: Condition, negated: bool = False) -> Iterable[tuple[Condition, bool]]:
    yield cond, negated
    if isinstance(cond, AllOf | AnyOf):
        for item in cond.items:
            yield from _walk(item, negated)
    elif isinstance(cond, NotOf):
        yield from _walk(cond.item, not negated)


def _phase(cond: Condition) -> int:
    return max((FIELDS[c.path].phase for c, _ in _walk(cond) if isinstance(c, FieldTest)), default=1)


def _phase_problems(rule: Rule, doc: Document, index: int) -> list[Problem]:
    """A rule may only change what is still open when its conditions can be known."""
    out = rule.then
    where = ("rules", index, "then")
    checks = [
        (out.level is not None and rule.phase > 1, "level",
         "a rule that calls for a level may test only the request, not decision.* or consent.required_from/"
         "answer (those are derived from the levels called for)"),
        (out.level_at_most is not None and rule.phase > 2, "level_at_most",
         "a rule that caps the level cannot test decision.level (the level it would change)"),
        (out.consent_from is not None and rule.phase > 1, "consent_from",
         "who must consent is decided from the request alone"),
        (bool(out.sets) and rule.phase > 1, "sets", "derived facts are set from the request alone"),
        (bool(URGENT_STEPS & set(out.steps)) and rule.phase > 1, "steps",
         "urgent notification steps (112, barnevernvakt, police, report to child welfare) decide whether the "
         "ladder pauses, so the rule that gives them may test only the request"),
    ]
    return [Problem(doc.file, doc.line_of((*where, key)), format_path((*where, key)), message)
            for bad, key, message in checks if bad]


def load_rule_file(path: Path, guide_id: str, catalog: Catalog, start: int,
                   root: Path | None = None) -> tuple[list[Rule], list[Problem], Document]:
    """The valid rules of one file (each rule's ``order`` is ``start`` + its index in the file),
    the problems found, and the parsed document (for later checks that need its lines)."""
    doc = read_yaml(path, _display(path, root))
    problems: list[Problem] = []
    context = {"catalog": catalog}
    # the file's head first, then each rule on its own, so one bad rule hides no other problem
    raw = doc.data if isinstance(doc.data, dict) else {}
    try:
        data = _validate(RuleFileHeadSchema(), doc, context)
    except RuleFileError as exc:
        problems.extend(exc.problems)
        data = {"group": raw.get("group", "?"), "hit": raw.get("hit", "all"), "rules": raw.get("rules")}
    raw_rules = data["rules"] if isinstance(data.get("rules"), list) else []
    loaded: list[tuple[int, dict[str, Any]]] = []
    for i, raw_rule in enumerate(raw_rules):
        try:
            loaded.append((i, _validate(RuleSchema(), doc, context, raw_rule, ("rules", i))))
        except RuleFileError as exc:
            problems.extend(exc.problems)
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, r in loaded:
        if r["id"] in seen:
            problems.append(Problem(doc.file, doc.line_of(("rules", i, "id")), f"rules[{i}].id",
                                    f"rule id {r['id']!r} is used twice in this group"))
        seen.add(r["id"])
        tests = tuple(c for c, negated in _walk(r["when"]) if isinstance(c, SignalTest) and not negated)
        rule = Rule(
            id=f"{guide_id}.{data['group']}.{r['id']}", guide=guide_id, group=data["group"], name=r["id"],
            title=r["title"], because=r["because"], when=r["when"], then=r["then"],
            first_hit=data["hit"] == "first", order=start + i, file=doc.file,
            line=doc.line_of(("rules", i)) or 0, notes=r.get("notes"), phase=_phase(r["when"]),
            signal_tests=tests,
        )
        problems.extend(_phase_problems(rule, doc, i))
        rules.append(rule)
    groups_phases = {r.phase for r in rules if r.first_hit}
    if len(groups_phases) > 1:
        problems.append(Problem(doc.file, doc.line_of(("hit",)), "hit",
                                "with hit: first every rule of the group must test the same kind of facts "
                                "(all request-only, or all using decision.*)"))
    return rules, problems, doc


# --- guides --------------------------------------------------------------------------------


def _settings(data: Mapping[str, Any], base: Settings) -> Settings:
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("child_age", "pregnant_age"):
            values[f"{key}_min"], values[f"{key}_max"] = value["min"], value["max"]
        elif key == "languages":
            values[key] = tuple(value)
        elif key == "relay_holder_titles":  # a guide's titles add to (and override) the inherited ones
            values[key] = {**base.relay_holder_titles, **value}
        else:
            values[key] = value
    return replace(base, **values)


def _digest(files: Iterable[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for name, content in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    return "sha256:" + h.hexdigest()


def load_guide(folder: Path, baseline: Guide | None = None, root: Path | None = None) -> Guide:
    """Load, validate, compile and start the guide in ``folder``; raise RuleFileError listing
    every problem. A municipality's guide needs the loaded national ``baseline``."""
    guide_path = folder / GUIDE_FILE
    if not guide_path.is_file():
        raise RuleFileError([Problem(_display(guide_path, root), None, "", "missing guide.yaml")])
    guide_doc = read_yaml(guide_path, _display(guide_path, root))
    problems: list[Problem] = []
    laws = baseline.laws if baseline is not None else None
    if baseline is None:
        catalog = load_catalog(folder / CATALOG_FILE, root)
        laws, found = check_catalog_citations(catalog, folder, _display(folder / CATALOG_FILE, root),
                                              _display(folder / LAWS_FILE, root))
        problems.extend(found)
        head = _validate(GuideFileSchema(), guide_doc, {"catalog": catalog})
        inherited: list[Rule] = []
        settings = Settings()
        files: list[tuple[str, bytes]] = [(CATALOG_FILE, (folder / CATALOG_FILE).read_bytes())]
        level_names = dict(catalog.levels)
    else:
        head = _validate(GuideFileSchema(), guide_doc, {"catalog": baseline.catalog})
        catalog, found = municipal_catalog(baseline.catalog, head, guide_doc)
        problems.extend(found)
        inherited, found = inherited_rules(baseline.rules, head, guide_doc)
        problems.extend(found)
        settings = baseline.settings
        # the baseline's digest covers every file it was built from
        files = [(f"{NATIONAL}.digest", baseline.digest.encode())]
        level_names = dict(baseline.level_names)
        if head.get("extends") != NATIONAL:
            problems.append(Problem(guide_doc.file, guide_doc.line_of(("extends",)), "extends",
                                    "a municipality's guide extends the national guide: write extends: national"))
    if head["id"] != folder.name:
        problems.append(Problem(guide_doc.file, guide_doc.line_of(("id",)), "id",
                                f"the id must be the folder's name {folder.name!r}"))
    settings = _settings(head.get("settings", {}), settings)
    if baseline is not None:
        problems.extend(settings_problems(settings, baseline.settings, guide_doc))
    level_names.update(head.get("level_names", {}))
    files.append((GUIDE_FILE, guide_path.read_bytes()))

    rules = list(inherited)
    for path in sorted((folder / RULES_DIR).glob("*.yaml")):
        start = len(rules)
        try:
            loaded, found, doc = load_rule_file(path, head["id"], catalog, start, root)
        except RuleFileError as exc:
            problems.extend(exc.problems)
            continue
        problems.extend(found)
        if baseline is not None:
            for rule in loaded:  # the rule's index in its file, also when an earlier rule was invalid
                problems.extend(weakening_problems(rule, rule.order - start, doc, inherited, catalog))
        rules.extend(loaded)
        files.append((f"{RULES_DIR}/{path.name}", path.read_bytes()))
    if not rules:
        problems.append(Problem(_display(folder, root), None, "", "the guide has no rules (rules/*.yaml)"))
    problems.extend(_unset_settings(rules, settings))
    if problems:
        raise RuleFileError(problems)
    guide = Guide(id=head["id"], name=head["name"], version=head["version"], digest=_digest(files),
                  settings=settings, catalog=catalog, rules=tuple(rules), level_names=level_names,
                  files=tuple(name for name, _ in sorted(files)), extends=head.get("extends"),
                  date=head["date"].isoformat() if head.get("date") else None, laws=laws)
    return start_guide(guide)


def _setting_refs(cond: Condition) -> Iterable[str]:
    for c, _ in _walk(cond):
        if isinstance(c, FieldTest):
            values = c.value if isinstance(c.value, tuple) else (c.value,)
            yield from (v.name for v in values if isinstance(v, SettingRef))


def _unset_settings(rules: Iterable[Rule], settings: Settings) -> list[Problem]:
    """A condition comparing with a setting the guide leaves empty would silently never hold."""
    return [Problem(rule.file, rule.line, f"{rule.id}.when",
                    f"the setting {name} has no value in this guide (null); set it in guide.yaml or compare "
                    "with a number")
            for rule in rules for name in dict.fromkeys(_setting_refs(rule.when)) if settings.value(name) is None]


def start_guide(guide: Guide) -> Guide:
    """Compile the guide and load it into the engine."""
    compiled = compile_rules(guide.rules, guide.catalog, guide.settings)
    sentinels = frozenset(name for name in compiled.ruleset if name.startswith(SENTINEL_PREFIX))
    engine = RuleEngine(f"{guide.id}-{guide.digest[7:19]}", compiled.rulesets, sentinels, compiled.attributes)
    return replace(guide, compiled=compiled, engine=engine, fact_template=fact_template(guide.catalog), memo={})


@dataclass
class Registry:
    """Every guide under a root folder, by id; ``errors`` has the guides that failed to load."""

    guides: dict[str, Guide] = field(default_factory=dict)
    errors: dict[str, RuleFileError] = field(default_factory=dict)


def load_registry(root: Path) -> Registry:
    registry = Registry()
    try:
        national = load_guide(root / NATIONAL, root=root)
    except RuleFileError as exc:
        registry.errors[NATIONAL] = exc
        return registry
    registry.guides[NATIONAL] = national
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != NATIONAL):
        if not (folder / GUIDE_FILE).is_file():
            continue
        try:
            registry.guides[folder.name] = load_guide(folder, national, root)
        except RuleFileError as exc:
            registry.errors[folder.name] = exc
    return registry

