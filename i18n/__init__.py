"""Everything people read, in their language: gettext catalogues for nb, nn, en and any language a
translator adds (see docs/translation.md).

The catalogues are the ``.po`` files under ``i18n/locale/<lang>/LC_MESSAGES/``, one per domain:

    pages   the web pages and the ``bti explain`` report
    api     the messages of the HTTP API's error envelope

Message ids are stable keys (``site_name``, ``unknown_value``), never English prose: the English is
a translation like the others, and a key missing in a language falls back to bokmål. Texts take
``{name}`` parameters (``str.format``); a text that counts something has plural forms and is read
with :func:`ntext`. The ``.po`` files are compiled in memory the first time a language is used, so
a fresh clone and an installed wheel need no build step.

No Flask and nothing of the project is imported here: ``schemas``, ``toolkit`` and ``service`` all
read their texts through this module.
"""

from __future__ import annotations

import gettext
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAINS = ("pages", "api")
DEFAULT_LANGUAGE = "nb"
_FIRST = ("nb", "nn", "en")  # the order of the language switch; added languages follow by code


def discover() -> tuple[str, ...]:
    """The languages with a catalogue folder: nb, nn, en first, then any added one by its code."""
    found = {p.parent.parent.name for p in LOCALE_DIR.glob("*/LC_MESSAGES/pages.po")}
    return tuple(lang for lang in _FIRST if lang in found) + tuple(sorted(found - set(_FIRST)))


LANGUAGES: tuple[str, ...] = discover()
"""The languages the pages and the API speak: every language with a catalogue."""


def N_(key: str) -> str:
    """Mark ``key`` as a message id (for ``pybabel extract``) where it is looked up by a computed name."""
    return key


@dataclass(frozen=True)
class _Loaded:
    translations: gettext.GNUTranslations
    keys: tuple[str, ...]  # singular message ids, in the catalogue's order
    ids: frozenset[str]  # every message id, plural ones by their singular id


_cache: dict[tuple[str, str], _Loaded] = {}
_lock = threading.RLock()  # loading a language loads bokmål, its fallback, too


def po_path(lang: str, domain: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"


def read_catalogue(lang: str, domain: str) -> Catalog:
    """The ``.po`` file of ``lang`` and ``domain`` as Babel reads it."""
    with po_path(lang, domain).open("rb") as fh:
        return read_po(fh, locale=lang, domain=domain)


def _load(lang: str, domain: str) -> _Loaded:
    key = (lang, domain)
    loaded = _cache.get(key)
    if loaded is not None:
        return loaded
    with _lock:
        loaded = _cache.get(key)
        if loaded is None:
            if not po_path(lang, domain).is_file() and lang != DEFAULT_LANGUAGE:
                loaded = _cache[key] = _load(DEFAULT_LANGUAGE, domain)  # a domain not translated yet
                return loaded
            catalog = read_catalogue(lang, domain)
            buffer = BytesIO()
            write_mo(buffer, catalog)  # fuzzy entries are left out, as msgfmt does
            buffer.seek(0)
            translations = gettext.GNUTranslations(buffer)
            if lang != DEFAULT_LANGUAGE:
                translations.add_fallback(_load(DEFAULT_LANGUAGE, domain).translations)
            keys = tuple(m.id for m in catalog if m.id and isinstance(m.id, str))
            ids = frozenset(m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id)
            loaded = _cache[key] = _Loaded(translations, keys, ids)
    return loaded


def supported(lang: str) -> str:
    """``lang`` if it has catalogues, else bokmål."""
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


class MissingTextWarning(UserWarning):
    """The code asked for a key no catalogue has (declare it where it is built: see N_)."""


def _known(key: str, domain: str) -> None:
    if key not in _load(DEFAULT_LANGUAGE, domain).ids:
        warnings.warn(f"no text {key!r} in the {domain} catalogues", MissingTextWarning, stacklevel=3)


def text(key: str, lang: str, /, domain: str = "pages", **params: Any) -> str:
    """The text ``key`` in ``lang`` (bokmål where the language lacks it), ``{params}`` filled in."""
    _known(key, domain)
    return _load(supported(lang), domain).translations.gettext(key).format(**params)


def ntext(key: str, plural_key: str, n: int, lang: str, /, domain: str = "pages", **params: Any) -> str:
    """The form of ``key`` for the number ``n`` in ``lang`` (``{n}`` and ``{params}`` filled in)."""
    _known(key, domain)
    value = _load(supported(lang), domain).translations.ngettext(key, plural_key, n)
    return value.format(n=n, **params)


def plural_forms(key: str, plural_key: str, lang: str, /, domain: str = "pages") -> tuple[str, str]:
    """The forms of ``key`` for 1 and for more (``{n}`` left in), for a script that fills in the
    number itself (both of the service's languages and English have these two forms)."""
    _known(key, domain)
    translations = _load(supported(lang), domain).translations
    return translations.ngettext(key, plural_key, 1), translations.ngettext(key, plural_key, 2)


def has(key: str, domain: str = "pages") -> bool:
    """Is ``key`` a message of ``domain`` (in bokmål, which has every key)?"""
    return key in _load(DEFAULT_LANGUAGE, domain).ids


def texts(lang: str, domain: str = "pages") -> dict[str, str]:
    """Every text of ``domain`` in ``lang`` that needs no number, as written (``{name}`` left for the
    template or script to fill in), for templates and scripts."""
    keys = _load(DEFAULT_LANGUAGE, domain).keys
    translations = _load(supported(lang), domain).translations
    return {key: translations.gettext(key) for key in keys}


def language_names(langs: Iterable[str] | None = None) -> dict[str, str]:
    """Each language's name in itself (the catalogue's ``language_name``), for the language switch."""
    return {lang: text("language_name", lang) for lang in (LANGUAGES if langs is None else langs)}
