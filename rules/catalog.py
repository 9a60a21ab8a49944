"""Read the national catalog (``catalog.yaml``): every code a rule may use — services, signals,
steps, forbidden actions — with its labels, texts and legal basis, and the cross-references
between them checked."""

from __future__ import annotations

from pathlib import Path

from rules.errors import Problem, RuleFileError
from rules.grammar import CatalogFileSchema
from rules.messages import closest
from rules.model import SUBJECT_KINDS, ActorRef, Catalog, ForbiddenInfo, Service, SignalInfo, StepInfo
from rules.validate import validate_document
from rules.yamlsource import display_name, read_yaml

CATALOG_FILE = "catalog.yaml"


def load_catalog(path: Path, root: Path | None = None) -> Catalog:
    """The catalog in ``path``; raise RuleFileError listing every problem."""
    doc = read_yaml(path, display_name(path, root))
    data = validate_document(CatalogFileSchema(), doc)
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
            actor=actor, subjects=tuple(e.get("subjects", SUBJECT_KINDS)), min_age=e.get("min_age"),
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
