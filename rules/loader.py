"""Load guides from their folders: the stages put together.

A folder holds ``guide.yaml`` and ``rules/*.yaml``; the national folder also holds
``catalog.yaml``. A municipality's guide (``extends: national``) inherits the national rules and
adds its own. Every problem found is reported at once, each with file, line and YAML path.

    read (rules.yamlsource) → validate (rules.validate) → catalog (rules.catalog)
    → rule files (rules.rulefile) → inherit (rules.inherit) → checks (rules.checks)
    → pathway (rules.pathway_loader) → digest (rules.digest) → Guide → compile and start the engine (rules.prepare)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from rules import limits
from rules.catalog import CATALOG_FILE, load_catalog
from rules.checks import unset_setting_problems
from rules.digest import guide_digest
from rules.errors import Problem, RuleFileError
from rules.grammar import NAME, GuideFileSchema
from rules.inherit import inherited_rules, municipal_catalog, settings_problems, weakening_problems
from rules.laws import LAWS_FILE, check_catalog_citations
from rules.limits import size_text
from rules.model import NATIONAL, Guide, Rule, Settings, Source
from rules.pathway import PATHWAY_FILE
from rules.pathway_loader import coverage_problems, load_pathway
from rules.prepare import PreparedGuide, prepare
from rules.rulefile import RULES_DIR, load_rule_file
from rules.validate import validate_document
from rules.yamlsource import Document, display_name, read_yaml, too_large_problem

_LIMITS = "(docs/rule-language.md, Limits)"

__all__ = ["CATALOG_FILE", "GUIDE_FILE", "NATIONAL", "RULES_DIR", "Registry", "load_guide", "load_registry"]

GUIDE_FILE = "guide.yaml"


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


def load_guide(folder: Path, baseline: Guide | None = None, root: Path | None = None) -> Guide:
    """Read and validate the guide in ``folder``; raise RuleFileError listing every problem.
    A municipality's guide needs the loaded national ``baseline``."""
    guide_path = folder / GUIDE_FILE
    if not guide_path.is_file():
        raise RuleFileError([Problem(display_name(guide_path, root), None, "", "missing guide.yaml")])
    rule_paths = sorted((folder / RULES_DIR).glob("*.yaml"))
    check_guide_size(folder, rule_paths, root)
    guide_doc = read_yaml(guide_path, display_name(guide_path, root))
    problems: list[Problem] = []
    laws = baseline.laws if baseline is not None else None
    if baseline is None:
        catalog = load_catalog(folder / CATALOG_FILE, root)
        laws, found = check_catalog_citations(catalog, folder, display_name(folder / CATALOG_FILE, root),
                                              display_name(folder / LAWS_FILE, root))
        problems.extend(found)
        head = validate_document(GuideFileSchema(), guide_doc, {"catalog": catalog})
        inherited: list[Rule] = []
        settings = Settings()
        files: list[tuple[str, bytes]] = [(CATALOG_FILE, (folder / CATALOG_FILE).read_bytes())]
        if laws is not None:  # the registry the decisions cite: a change to it is a new version
            files.append((LAWS_FILE, (folder / LAWS_FILE).read_bytes()))
        level_names = dict(catalog.levels)
    else:
        head = validate_document(GuideFileSchema(), guide_doc, {"catalog": baseline.catalog})
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
    for path, doc in _read_rule_files(rule_paths, len(inherited), problems, root):
        start = len(rules)
        try:
            loaded, found, doc = load_rule_file(path, head["id"], catalog, start, root, doc=doc)
        except MemoryError:
            problems.append(_out_of_memory(path, root))
            break
        problems.extend(found)
        if baseline is not None:
            for rule in loaded:  # the rule's index in its file, also when an earlier rule was invalid
                problems.extend(weakening_problems(rule, rule.order - start, doc, inherited, catalog))
        rules.extend(loaded)
        files.append((f"{RULES_DIR}/{path.name}", path.read_bytes()))
    if not rules:
        problems.append(Problem(display_name(folder, root), None, "", "the guide has no rules (rules/*.yaml)"))
    problems.extend(unset_setting_problems(rules, settings))
    pathway, found, pathway_bytes = load_pathway(folder, head["id"], catalog,
                                                 baseline.pathway if baseline else None,
                                                 display_name(folder / PATHWAY_FILE, root))
    if pathway_bytes is not None:
        files.append((PATHWAY_FILE, pathway_bytes))
    problems.extend(found or coverage_problems(pathway, head["id"], catalog, settings))
    if problems:
        raise RuleFileError(problems)
    return Guide(id=head["id"], name=head["name"], version=head["version"], digest=guide_digest(files),
                  settings=settings, catalog=catalog, rules=tuple(rules), level_names=level_names,
                  files=tuple(name for name, _ in sorted(files)), extends=head.get("extends"),
                  date=head["date"].isoformat() if head.get("date") else None, laws=laws, pathway=pathway,
                  status=head["status"],
                  sources=tuple(Source(s["title"], s["url"], s["read"].isoformat()) for s in head["sources"]))


def _out_of_memory(path: Path, root: Path | None) -> Problem:
    return Problem(display_name(path, root), None, "", f"too large to load: the service ran out of memory {_LIMITS}")


def check_guide_size(folder: Path, rule_paths: list[Path], root: Path | None) -> None:
    """Refuse a guide with too many rule files, a file too large or too many bytes in all,
    before any file is parsed."""
    where = display_name(folder / RULES_DIR, root)
    if len(rule_paths) > limits.RULE_FILES:
        raise RuleFileError([Problem(where, None, "", f"{len(rule_paths):,} rule files: a guide may have at most "
                                                      f"{limits.RULE_FILES} {_LIMITS}")])
    total = 0
    too_large = []
    for path in [*sorted(folder.glob("*.yaml")), *rule_paths]:
        try:
            size = path.stat().st_size
        except OSError:
            continue  # reported with its file when it is read
        total += size
        if size > limits.FILE_BYTES:
            too_large.append(too_large_problem(display_name(path, root), size))
    if too_large:
        raise RuleFileError(too_large)
    if total > limits.GUIDE_BYTES:
        raise RuleFileError([Problem(display_name(folder, root), None, "",
                                     f"the guide's files have {size_text(total)} together: a guide may have at most "
                                     f"{size_text(limits.GUIDE_BYTES)} {_LIMITS}")])


def _read_rule_files(paths: list[Path], inherited: int, problems: list[Problem],
                     root: Path | None) -> list[tuple[Path, Document]]:
    """Parse every rule file (a file that does not parse goes to ``problems``) and count their
    rules before any is validated: a guide over the limit is refused without that work."""
    docs = []
    count = inherited
    for path in paths:
        try:
            doc = read_yaml(path, display_name(path, root))
        except RuleFileError as exc:
            problems.extend(exc.problems)
            continue
        except MemoryError:
            problems.append(_out_of_memory(path, root))
            continue
        listed = doc.data.get("rules") if isinstance(doc.data, dict) else None
        if isinstance(listed, list):
            if count + len(listed) > limits.RULES:
                index = limits.RULES - count
                raise RuleFileError([*problems, Problem(
                    doc.file, doc.line_of(("rules", index)), f"rules[{index}]",
                    f"rule number {limits.RULES + 1:,} of the guide ({count:,} before this file, inherited ones "
                    f"included; this file has {len(listed):,}): a guide may have at most {limits.RULES:,} rules "
                    f"{_LIMITS}")])
            count += len(listed)
        docs.append((path, doc))
    return docs


def refused_reason(folder: Path) -> str | None:
    """Why a folder beside the guides is not a guide (None: it is one). The service and
    ``bti check`` both leave such folders (``tromso.bak``, ``my guide``) unloaded and say why."""
    if not NAME.match(folder.name):
        return ("not a guide: a guide's folder is named by its id (lower-case letters, digits and _, "
                "starting with a letter)")
    if not (folder / GUIDE_FILE).is_file():
        return "not a guide: it has no guide.yaml"
    return None


@dataclass(frozen=True)
class Registry:
    """Every guide under a root folder, by id, prepared to decide; ``errors`` has the guides that
    failed to load, ``skipped`` the folders that are not guides, with the reason. ``guides`` is the
    same guides as plain data."""

    prepared: Mapping[str, PreparedGuide] = field(default_factory=dict)
    errors: Mapping[str, RuleFileError] = field(default_factory=dict)
    skipped: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def guides(self) -> Mapping[str, Guide]:
        return {gid: p.guide for gid, p in self.prepared.items()}


def load_registry(root: Path) -> Registry:
    """Load and prepare every guide under ``root``: the national one first, then each
    municipality's on top of it."""
    prepared: dict[str, PreparedGuide] = {}
    errors: dict[str, RuleFileError] = {}
    try:
        national = load_guide(root / NATIONAL, root=root)
    except RuleFileError as exc:
        return Registry(errors={NATIONAL: exc})
    prepared[NATIONAL] = prepare(national)
    skipped: dict[str, str] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != NATIONAL):
        if folder.name.startswith("."):
            continue
        reason = refused_reason(folder)
        if reason is not None:
            skipped[folder.name] = reason
            continue
        try:
            prepared[folder.name] = prepare(load_guide(folder, national, root))
        except RuleFileError as exc:
            errors[folder.name] = exc
    return Registry(prepared, errors, skipped)
