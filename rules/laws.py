"""The statutes a guide cites, as dated data: the registry in ``national/laws.yaml``.

A catalog citation is ``"<act> <section>[ <part>]"`` (``"forvaltningsloven § 13 a nr. 2"``); its act
and section must be in the registry, or the catalog is refused (file, line, the closest citations).
The registry also records adopted acts that will change a cited provision and from when, so that
:func:`provisions` can tell, for a date, which citations are still to be revised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import fields, validate

from rules.errors import Problem, RuleFileError
from rules.grammar import StrictSchema, TextField
from rules.messages import closest
from rules.model import Catalog, Text
from rules.validate import validate_document
from rules.yamlsource import Document, format_path, read_yaml

LAWS_FILE = "laws.yaml"
LOVDATA_ID = r"^LOV-\d{4}-\d{2}-\d{2}(-\d+)?$"
LOVDATA_HINT = "a Lovdata identifier: LOV-YYYY-MM-DD or LOV-YYYY-MM-DD-N"


# --- model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    act: str
    section: str  # "§ 13 a", "art. 12"
    about: Text
    parts: tuple[str, ...] = ()
    url: str | None = None


@dataclass(frozen=True)
class Act:
    name: str  # the short name citations use
    title: str
    id: str  # Lovdata identifier
    url: str
    in_force: dt.date | None  # None: in force, the date is not recorded
    sections: Mapping[str, Section]


@dataclass(frozen=True)
class Affected:
    citation: str
    becomes: str | None
    what: Text


@dataclass(frozen=True)
class Change:
    """An act that changes cited provisions; ``in_force`` None: adopted, no date set yet."""

    id: str
    title: str
    url: str
    in_force: dt.date | None
    in_force_note: Text | None
    affects: tuple[Affected, ...]

    def pending(self, as_of: dt.date) -> bool:
        return self.in_force is None or self.in_force > as_of


@dataclass(frozen=True)
class LawRegistry:
    acts: Mapping[str, Act]
    changes: tuple[Change, ...] = ()
    file: str = LAWS_FILE

    def find(self, citation: str) -> tuple[Act, Section] | None:
        """The act and section a citation names, or None when the registry does not list it."""
        for name in sorted(self.acts, key=len, reverse=True):  # "barneloven" before a shorter prefix
            if not citation.startswith(name + " "):
                continue
            act, rest = self.acts[name], citation[len(name) + 1:]
            for key, section in act.sections.items():
                if rest == key or any(rest == f"{key} {part}" for part in section.parts):
                    return act, section
            return None
        return None

    def citations(self) -> list[str]:
        """Every valid citation (for suggestions)."""
        return [f"{a.name} {key}{' ' + part if part else ''}"
                for a in self.acts.values() for key, s in a.sections.items() for part in ("", *s.parts)]

    def changes_to(self, citation: str) -> list[tuple[Change, Affected]]:
        return [(c, a) for c in self.changes for a in c.affects if a.citation == citation]


# --- grammar -------------------------------------------------------------------------------


class SectionSchema(StrictSchema):
    about = TextField(required=True)
    parts = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)


class ActSchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(min=1))
    id = fields.String(required=True, validate=validate.Regexp(LOVDATA_ID, error=LOVDATA_HINT))
    url = fields.Url(required=True, schemes={"https"})
    in_force = fields.Date(required=True, allow_none=True)
    section_links = fields.Boolean(truthy={True}, falsy={False}, load_default=True)
    sections = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^(§ |art\. )\S")),
                           values=fields.Nested(SectionSchema), required=True, validate=validate.Length(min=1))


class AffectedSchema(StrictSchema):
    citation = fields.String(required=True)
    becomes = fields.String(required=True, allow_none=True)
    what = TextField(required=True)


class ChangeSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Regexp(LOVDATA_ID, error=LOVDATA_HINT))
    title = fields.String(required=True, validate=validate.Length(min=1))
    url = fields.Url(required=True, schemes={"https"})
    in_force = fields.Date(required=True, allow_none=True)
    in_force_note = TextField()
    affects = fields.List(fields.Nested(AffectedSchema), required=True, validate=validate.Length(min=1))


class LawsFileSchema(StrictSchema):
    acts = fields.Dict(keys=fields.String(validate=validate.Length(min=1)), values=fields.Nested(ActSchema),
                       required=True)
    changes = fields.List(fields.Nested(ChangeSchema), load_default=list)


def _section_url(act_url: str, section: str) -> str:
    return f"{act_url}/§{section.removeprefix('§ ').replace(' ', '')}"


def load_laws(path: Path, display: str | None = None) -> LawRegistry:
    """Read and validate ``laws.yaml``; RuleFileError lists every problem with its line."""
    doc = read_yaml(path, display)
    data = validate_document(LawsFileSchema(), doc)
    acts = {}
    for name, a in data["acts"].items():
        sections = {key: Section(name, key, s["about"], tuple(s["parts"]),
                                 _section_url(a["url"], key) if a["section_links"] else None)
                    for key, s in a["sections"].items()}
        acts[name] = Act(name, a["title"], a["id"], a["url"], a["in_force"], sections)
    changes = tuple(Change(c["id"], c["title"], c["url"], c["in_force"], c.get("in_force_note"),
                           tuple(Affected(x["citation"], x["becomes"], x["what"]) for x in c["affects"]))
                    for c in data["changes"])
    registry = LawRegistry(acts, changes, doc.file)
    problems = [Problem(doc.file, doc.line_of(("changes", i, "affects", j, "citation")),
                        f"changes[{i}].affects[{j}].citation", f"{x.citation!r} is not a citation of the registry",
                        tuple(closest(x.citation, registry.citations())))
                for i, c in enumerate(changes) for j, x in enumerate(c.affects) if registry.find(x.citation) is None]
    if problems:
        raise RuleFileError(problems)
    return registry


# --- the catalog's citations ---------------------------------------------------------------


@dataclass(frozen=True)
class Citation:
    """One place a citation is used: the catalog entry and where in it."""

    text: str
    where: str  # "steps.report_to_child_welfare.legal_basis_by_reporter.school"
    path: tuple[str | int, ...] = field(default=(), compare=False)


def catalog_citations(catalog: Catalog) -> list[Citation]:
    """Every legal_basis entry of the catalog, with its place (steps, then forbidden actions)."""
    out: list[Citation] = []
    for code, step in catalog.steps.items():
        out.extend(Citation(b, f"steps.{code}.legal_basis", ("steps", code, "legal_basis", i))
                   for i, b in enumerate(step.legal_basis))
        for who, bases in step.legal_basis_by_reporter.items():
            out.extend(Citation(b, f"steps.{code}.legal_basis_by_reporter.{who}",
                                ("steps", code, "legal_basis_by_reporter", who, i)) for i, b in enumerate(bases))
        for k, (_, bases) in enumerate(step.legal_basis_by_signal):
            out.extend(Citation(b, f"steps.{code}.legal_basis_by_signal[{k}]",
                                ("steps", code, "legal_basis_by_signal", k, "legal_basis", i))
                       for i, b in enumerate(bases))
    for code, forbidden in catalog.forbidden.items():
        out.extend(Citation(b, f"forbidden.{code}.legal_basis", ("forbidden", code, "legal_basis", i))
                   for i, b in enumerate(forbidden.legal_basis))
    return out


def citation_problems(catalog: Catalog, registry: LawRegistry, doc: Document) -> list[Problem]:
    """A problem for each citation of the catalog that the registry does not list, and for each
    signal a statute is conditioned on that the catalog does not know."""
    problems = [Problem(doc.file, doc.line_of(c.path), format_path(c.path),
                        f"{c.text!r} is not in the law registry ({registry.file}): cite a listed act and "
                        "section, or add the provision there with its Lovdata address",
                        tuple(closest(c.text, registry.citations())))
                for c in catalog_citations(catalog) if registry.find(c.text) is None]
    for code, step in catalog.steps.items():
        for k, (signals, _) in enumerate(step.legal_basis_by_signal):
            for i, signal in enumerate(signals):
                if signal not in catalog.signals:
                    path = ("steps", code, "legal_basis_by_signal", k, "signals", i)
                    problems.append(Problem(doc.file, doc.line_of(path), format_path(path),
                                            f"unknown signal {signal!r}", tuple(closest(signal, catalog.signals))))
    return problems


def check_catalog_citations(catalog: Catalog, folder: Path, catalog_doc_name: str,
                            laws_display: str | None = None) -> tuple[LawRegistry | None, list[Problem]]:
    """Load the registry beside the catalog and check the catalog's citations against it (the
    loader's hook)."""
    try:
        registry = load_laws(folder / LAWS_FILE, laws_display)
    except RuleFileError as exc:
        return None, exc.problems
    doc = read_yaml(folder / "catalog.yaml", catalog_doc_name)
    return registry, citation_problems(catalog, registry, doc)


# --- the report of `bti laws` --------------------------------------------------------------


@dataclass(frozen=True)
class Provision:
    citation: str
    act: Act
    section: Section
    used_in: tuple[str, ...]
    changes: tuple[tuple[Change, Affected], ...]  # still pending at the date asked about


def provisions(catalog: Catalog, registry: LawRegistry, as_of: dt.date) -> list[Provision]:
    """Every provision the catalog cites, in registry order, with where it is used and the
    adopted changes not yet in force on ``as_of``."""
    used: dict[str, list[str]] = {}
    for c in catalog_citations(catalog):
        used.setdefault(c.text, [])
        if c.where not in used[c.text]:
            used[c.text].append(c.where)
    order = {c: i for i, c in enumerate(registry.citations())}
    out = []
    for text in sorted(used, key=lambda t: order.get(t, len(order))):
        found = registry.find(text)
        if found is None:
            continue  # refused when the guide is loaded
        act, section = found
        pending = tuple((c, a) for c, a in registry.changes_to(text) if c.pending(as_of))
        out.append(Provision(text, act, section, tuple(used[text]), pending))
    return out


def citation_urls(registry: LawRegistry | None, citations: Iterable[str]) -> dict[str, str]:
    """The Lovdata address of each citation the registry knows (the section's, else the act's)."""
    out: dict[str, str] = {}
    for text in citations:
        found = registry.find(text) if registry else None
        if found:
            out[text] = found[1].url or found[0].url
    return out


def as_text(value: Any, lang: str) -> str:
    return value.in_lang(lang) if isinstance(value, Text) else str(value or "")
