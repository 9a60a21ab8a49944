"""The repository stands on its own: no tracked file points outside it.

The API, the vocabulary and the national rules are stated in the project's own docs (docs/api.md,
docs/national-guide.md, docs/rule-language.md, docs/engine-design.md); code, messages, comments
and scenario notes cite those pages. These tests grep every tracked file, as a reviewer would.
The patterns are assembled at run time so that this file does not match itself.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = "shared"
SECTION = "\u00a7"


def _git_grep(*args: str) -> list[str]:
    """Lines of tracked text files that match (``git grep -n -I``); skips outside a git checkout."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    inside = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--is-inside-work-tree"],
                            capture_output=True, text=True, check=False)
    if inside.returncode != 0:
        pytest.skip("not a git checkout")
    found = subprocess.run(["git", "-C", str(ROOT), "grep", "-n", "-I", *args],
                           capture_output=True, text=True, check=False)
    if found.returncode not in (0, 1):  # 1: no match
        raise AssertionError(f"git grep failed: {found.stderr}")
    return found.stdout.splitlines()


def test_no_file_points_at_the_shared_folder_outside_the_repository() -> None:
    hits = _git_grep("-E", rf"\.\./{SHARED}|/{SHARED}/")
    assert not hits, ("these lines point outside the repository; cite docs/api.md, "
                      "docs/national-guide.md or docs/engine-design.md instead:\n" + "\n".join(hits))


def test_no_file_names_an_absolute_path_of_a_machine() -> None:
    hits = _git_grep("-E", "/(work|root|home)/")
    assert not hits, ("these lines name an absolute path of the machine they were written on; use a path "
                      "relative to the repository:\n" + "\n".join(hits))


def test_nothing_cites_the_contract_by_section_number() -> None:
    hits = _git_grep("-i", "-F", f"contract {SECTION}")
    assert not hits, ("these lines cite a section of the contract document, which is not part of the "
                      "repository; cite docs/api.md (the API and vocabulary) or docs/national-guide.md, "
                      "rule N (the national rules) instead:\n" + "\n".join(hits))


def test_every_doc_a_file_cites_exists() -> None:
    """Code, messages and rule files cite docs/<page>.md; each cited page is in the repository."""
    cited = {line.split(":", 2)[2] for line in _git_grep("-o", "-E", r"docs/[a-z_-]+\.md")}
    missing = sorted(page for page in cited if not (ROOT / page).is_file())
    assert not missing, f"cited but not in the repository: {missing}"
