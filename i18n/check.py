"""Are the catalogues complete and well formed? ``python -m i18n.check`` (``make translations-check``,
and a test) lists every problem and exits 1 if there is one.

For each domain the message keys are extracted from the source the way ``make translations`` does
(same mapping file, same keywords); then every language's ``.po`` must have every key, translated
(no empty or fuzzy entry, every plural form), with the same ``{parameters}`` as bokmål, no key the
code no longer uses, and nothing Babel's own checks (what ``msgfmt --check`` checks) object to.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from i18n import DEFAULT_LANGUAGE, DOMAINS, LANGUAGES, LOCALE_DIR, read_catalogue

SOURCE_ROOT = LOCALE_DIR.parent.parent
_PARAM = re.compile(r"\{(\w*)[^{}]*\}")


def keywords(domain: str) -> dict[str, tuple[int, ...] | None]:
    """The extraction keywords of ``domain``, from the ``# keywords:`` line of its mapping file."""
    line = next(line for line in (LOCALE_DIR.parent / f"{domain}.cfg").read_text(encoding="utf-8").splitlines()
                if line.startswith("# keywords:"))
    found: dict[str, tuple[int, ...] | None] = {}
    for word in line.removeprefix("# keywords:").split():
        name, _, spec = word.partition(":")
        found[name] = tuple(int(i) for i in spec.split(",")) if spec else None
    return found


def extracted(domain: str, root: Path = SOURCE_ROOT) -> dict[str, tuple[str, ...]]:
    """Every message key the source uses in ``domain``: key → (key, plural key) or (key,)."""
    with (LOCALE_DIR.parent / f"{domain}.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[str, tuple[str, ...]] = {}
    # Babel notes every f-string it skips; the keys those look up are declared with N_ instead
    with contextlib.redirect_stderr(io.StringIO()):
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
                str(root), method_map, options_map, keywords=keywords(domain)):
            ids = (message,) if isinstance(message, str) else tuple(message)
            found[ids[0]] = ids
    return found


def _by_key(catalog: Catalog) -> dict[str, Message]:
    return {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}


def _forms(message: Message) -> list[str]:
    """The translation, or each of its plural forms ("" where one is missing)."""
    string = message.string
    return [s or "" for s in string] if isinstance(string, list | tuple) else [string or ""]


def _params(value: str) -> set[str]:
    return set(_PARAM.findall(value.replace("{{", "").replace("}}", "")))


def catalogue_problems(catalog: Catalog, used: dict[str, tuple[str, ...]], reference: Catalog | None,
                       where: str) -> Iterator[str]:
    """What is wrong with one language's catalogue of one domain."""
    present = _by_key(catalog)
    ref = _by_key(reference) if reference is not None else {}
    for key, ids in used.items():
        message = present.get(key)
        if message is None:
            yield f"{where}: {key!r} is missing"
            continue
        forms = _forms(message)
        if len(ids) == 2 and (not message.pluralizable or len(forms) != catalog.num_plurals):
            yield f"{where}: {key!r} needs {catalog.num_plurals} plural forms (msgid_plural {ids[1]!r})"
        elif len(ids) == 1 and message.pluralizable:
            yield f"{where}: {key!r} has plural forms but the code reads it as a single text"
        if message.fuzzy:
            yield f"{where}: {key!r} is marked fuzzy (check the text, then remove the fuzzy flag)"
        if not all(form and form.strip() for form in forms):
            yield f"{where}: {key!r} is not translated"
        if key in ref:
            wanted = set().union(*(_params(f) for f in _forms(ref[key]) if f))
            for form in forms:
                if form and _params(form) - wanted:
                    yield f"{where}: {key!r} has parameters {sorted(_params(form) - wanted)} that bokmål lacks"
                elif form and len(ids) == 1 and _params(form) != wanted:
                    yield f"{where}: {key!r} must use the parameters {sorted(wanted)}, as bokmål does"
    for key in sorted(set(present) - set(used)):
        yield f"{where}: {key!r} is not used by the code (run make translations to drop it)"
    for message, errors in catalog.check():
        for error in errors:
            yield f"{where}: {message.id!r}: {error}"


def problems(root: Path = SOURCE_ROOT) -> list[str]:
    found: list[str] = []
    for domain in DOMAINS:
        used = extracted(domain, root)
        reference = read_catalogue(DEFAULT_LANGUAGE, domain)
        for lang in LANGUAGES:
            catalog = read_catalogue(lang, domain)
            where = f"i18n/locale/{lang}/LC_MESSAGES/{domain}.po"
            found += catalogue_problems(catalog, used, None if lang == DEFAULT_LANGUAGE else reference, where)
    return found


def main() -> int:
    found = problems()
    for problem in found:
        print(problem)
    print(f"{len(found)} problem(s) in the {', '.join(DOMAINS)} catalogues of {', '.join(LANGUAGES)}",
          file=sys.stderr if found else sys.stdout)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
