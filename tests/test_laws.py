"""The law registry (national/laws.yaml): every citation of the catalog is in it, a citation that
is not is refused where it stands, and the registry says which citations an adopted act will change
(docs/national-guide.md, "Legal references")."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from rules.errors import RuleFileError
from rules.laws import LAWS_FILE, catalog_citations, load_laws, provisions
from rules.loader import load_guide
from rules.model import Guide
from service.paths import BUNDLED as MUNICIPALITIES

NATIONAL = MUNICIPALITIES / "national"
# the professional sources that recommend steps: never a legal basis (docs/national-guide.md)
GUIDANCE_WORDS = ("IS-2826", "Bufdir", "Statens barnehus", "BTI", "retningslinje", "Helsenorge")


def test_every_catalog_citation_is_in_the_registry(guide: Guide) -> None:
    registry = load_laws(NATIONAL / LAWS_FILE)
    cited = catalog_citations(guide.catalog)
    assert len(cited) > 50
    missing = [f"{c.where}: {c.text}" for c in cited if registry.find(c.text) is None]
    assert not missing


def test_a_legal_basis_names_statutes_only_and_guidance_no_statute(guide: Guide) -> None:
    for c in catalog_citations(guide.catalog):
        assert not any(word in c.text for word in GUIDANCE_WORDS), c
    for entry in [*guide.catalog.steps.values(), *guide.catalog.forbidden.values()]:
        for source in entry.guidance:
            assert "§" not in source and "loven" not in source, (entry.code, source)


def copy_national(tmp_path: Path) -> Path:
    folder = tmp_path / "national"
    shutil.copytree(NATIONAL, folder)
    return folder


def test_a_citation_not_in_the_registry_is_refused_at_its_line(tmp_path: Path) -> None:
    folder = copy_national(tmp_path)
    catalog = folder / "catalog.yaml"
    text = catalog.read_text(encoding="utf-8")
    wrong = '    legal_basis: ["barnevernsloven § 13-3"]\n'
    text = text.replace('    legal_basis: ["barnevernsloven § 13-2"]\n', wrong, 1)
    catalog.write_text(text, encoding="utf-8")
    line = text.splitlines().index(wrong.rstrip("\n")) + 1
    with pytest.raises(RuleFileError) as info:
        load_guide(folder, root=tmp_path)
    [problem] = info.value.problems
    assert (problem.file, problem.line) == ("national/catalog.yaml", line)
    assert "'barnevernsloven § 13-3' is not in the law registry" in problem.message
    assert problem.suggestions[0] == "barnevernsloven § 13-2"


def test_a_statute_conditioned_on_an_unknown_signal_is_refused(tmp_path: Path) -> None:
    folder = copy_national(tmp_path)
    catalog = folder / "catalog.yaml"
    text = catalog.read_text(encoding="utf-8")
    assert "- signals: [violence_by_caregiver," in text
    catalog.write_text(text.replace("- signals: [violence_by_caregiver,", "- signals: [violence_by_caregivr,"),
                       encoding="utf-8")
    with pytest.raises(RuleFileError) as info:
        load_guide(folder, root=tmp_path)
    [problem] = info.value.problems
    assert "unknown signal 'violence_by_caregivr'" in problem.message
    assert problem.suggestions[0] == "violence_by_caregiver"


@pytest.mark.parametrize(("yaml_text", "path", "message"), [
    ('acts:\n  straffeloven:\n    title: T\n    id: LOV-2005-5-20-28\n    url: https://lovdata.no/x\n'
     '    in_force: null\n    sections: {"§ 196": {about: A}}\n', "acts.straffeloven.value.id", "Lovdata identifier"),
    ('acts:\n  straffeloven:\n    title: T\n    id: LOV-2005-05-20-28\n    url: https://lovdata.no/x\n'
     '    in_force: null\n    sections: {"§ 196": {about: A}}\nchanges:\n  - id: LOV-2025-06-20-86\n'
     '    title: T\n    url: https://lovdata.no/y\n    in_force: 2025-07-01\n'
     '    affects: [{citation: "straffeloven § 197", becomes: null, what: W}]\n',
     "changes[0].affects[0].citation", "not a citation of the registry"),
])
def test_a_bad_registry_is_refused(tmp_path: Path, yaml_text: str, path: str, message: str) -> None:
    (tmp_path / LAWS_FILE).write_text(yaml_text, encoding="utf-8")
    with pytest.raises(RuleFileError) as info:
        load_laws(tmp_path / LAWS_FILE, LAWS_FILE)
    assert [(p.path, message in p.message) for p in info.value.problems] == [(path, True)]


def test_the_school_report_cites_the_education_act(guide: Guide) -> None:
    step = guide.catalog.steps["report_to_child_welfare"]
    assert step.legal_basis_by_reporter["school"] == ("opplæringslova § 24-3",)
    registry = load_laws(NATIONAL / LAWS_FILE)
    act, section = registry.find("opplæringslova § 24-3") or (None, None)
    assert act is not None and act.id == "LOV-2023-06-09-30"
    assert section is not None and section.url == "https://lovdata.no/dokument/NL/lov/2023-06-09-30/§24-3"


def test_adopted_acts_not_yet_in_force_are_pending_until_their_date(guide: Guide) -> None:
    registry = load_laws(NATIONAL / LAWS_FILE)
    found = {p.citation: p for p in provisions(guide.catalog, registry, dt.date(2026, 12, 1))}
    # the new forvaltningsloven has no in-force date yet: every 1967 citation is still to be revised
    assert [c.id for c, _ in found["forvaltningsloven § 13 a nr. 1"].changes] == ["LOV-2025-06-20-81"]
    assert [c.id for c, _ in found["barneloven § 31"].changes] == ["LOV-2025-06-20-40"]
    assert [c.id for c, _ in found["opplæringslova § 24-3"].changes] == ["LOV-2025-06-20-39"]
    # the new list of crimes in straffeloven § 196 came into force on 1 July 2025
    assert found["straffeloven § 196"].changes == ()
    before = {p.citation: p for p in provisions(guide.catalog, registry, dt.date(2025, 6, 30))}
    assert [c.id for c, _ in before["straffeloven § 196"].changes] == ["LOV-2025-06-20-86"]
    assert found["helsepersonelloven § 39"].changes == ()
    assert "steps.record_in_journal.legal_basis" in found["helsepersonelloven § 39"].used_in


def test_bti_laws_lists_every_citation_and_what_will_change(capsys: pytest.CaptureFixture[str]) -> None:
    from service.cli import main

    assert main(["laws", "--as-of", "2026-12-01", "--lang", "en", "--municipalities", str(MUNICIPALITIES)]) == 0
    out = capsys.readouterr().out
    registry = load_laws(NATIONAL / LAWS_FILE)
    catalog = load_guide(NATIONAL).catalog
    for citation in {c.text for c in catalog_citations(catalog)}:
        assert f"\n{citation} — " in out, citation
    assert "https://lovdata.no/dokument/NL/lov/2023-06-09-30/§24-3" in out
    assert "forvaltningsloven § 13 a nr. 1 → forvaltningsloven (2025) § 34 første ledd bokstav a" in out
    pending = out[out.index("Adopted but not in force on 2026-12-01"):out.index("Already in force on 2026-12-01")]
    assert "LOV-2025-06-20-81" in pending and "LOV-2025-06-20-40" in pending and "LOV-2025-06-20-86" not in pending
    assert len(registry.changes) == 4


def test_bti_laws_before_a_change_came_into_force(capsys: pytest.CaptureFixture[str]) -> None:
    from service.cli import main

    assert main(["laws", "--as-of", "2025-06-30", "--lang", "nb", "--municipalities", str(MUNICIPALITIES)]) == 0
    out = capsys.readouterr().out
    pending = out[out.index("Vedtatt, men ikke i kraft per 2025-06-30"):]
    assert "LOV-2025-06-20-86" in pending and "Allerede i kraft" not in out


def test_bti_laws_refuses_a_date_that_is_not_one(capsys: pytest.CaptureFixture[str]) -> None:
    from service.cli import main

    with pytest.raises(SystemExit) as info:
        main(["laws", "--as-of", "1.12.2026"])
    assert info.value.code == 2
    assert "'1.12.2026' is not a date: write YYYY-MM-DD" in capsys.readouterr().err


def test_the_guide_page_links_citations_and_sets_guidance_apart(client: FlaskClient) -> None:
    html = client.get("/municipalities/national?lang=nb").get_data(as_text=True)
    assert '<a href="https://lovdata.no/dokument/NL/lov/2021-06-18-97/§13-2" rel="external noopener">' \
           'barnevernsloven § 13-2</a>' in html
    assert '<span class="law-label">Lov:</span>' in html
    assert '<span class="guidance"><span class="law-label">Faglig anbefaling:</span> IS-2826; BTI-modellen' in html
    html_nn = client.get("/municipalities/national?lang=nn").get_data(as_text=True)
    assert "Fagleg tilråding:" in html_nn
    html_en = client.get("/municipalities/national?lang=en").get_data(as_text=True)
    assert "Professional guidance:" in html_en and '<span class="law-label">Law:</span>' in html_en
