"""Messages of the HTTP API in nb, nn and en.

Validation raises :class:`Msg` (a key and its parameters); the error envelope renders it in the
response language. Marshmallow's own English messages are mapped to keys here too.
"""

from __future__ import annotations

from typing import Any

from rules.messages import Suggesting

MESSAGES: dict[str, dict[str, str]] = {
    # envelope messages (error.message)
    "invalid_request": {"nb": "Forespørselen er ugyldig: se details.", "nn": "Førespurnaden er ugyldig: sjå details.",
                        "en": "The request is invalid: see details."},
    "malformed_json": {"nb": "Innholdet er ikke gyldig JSON: {reason}.",
                       "nn": "Innhaldet er ikkje gyldig JSON: {reason}.",
                       "en": "The body is not valid JSON: {reason}."},
    "not_found": {"nb": "Fant ingen ressurs på {path}.", "nn": "Fann ingen ressurs på {path}.",
                  "en": "Nothing found at {path}."},
    "unknown_municipality": {"nb": "Ukjent kommune «{id}».", "nn": "Ukjend kommune «{id}».",
                             "en": "Unknown municipality '{id}'."},
    "method_not_allowed": {"nb": "Metoden {method} er ikke tillatt her; bruk {allow}.",
                           "nn": "Metoden {method} er ikkje tillaten her; bruk {allow}.",
                           "en": "Method {method} is not allowed here; use {allow}."},
    "payload_too_large": {"nb": "Innholdet er større enn {limit} byte.", "nn": "Innhaldet er større enn {limit} byte.",
                          "en": "The body is larger than {limit} bytes."},
    "unsupported_media_type": {"nb": "Send application/json i UTF-8 (fikk {got}).",
                               "nn": "Send application/json i UTF-8 (fekk {got}).",
                               "en": "Send application/json in UTF-8 (got {got})."},
    "unauthorized": {"nb": "Mangler gyldig API-nøkkel (Authorization: Bearer …).",
                     "nn": "Manglar gyldig API-nøkkel (Authorization: Bearer …).",
                     "en": "A valid API key is needed (Authorization: Bearer …)."},
    "forbidden": {"nb": "Nøkkelen gir ikke tilgang her.", "nn": "Nøkkelen gir ikkje tilgang her.",
                  "en": "This key gives no access here."},
    "bad_request": {"nb": "Forespørselen kunne ikke leses slik den ble sendt.",
                    "nn": "Førespurnaden kunne ikkje lesast slik han vart send.",
                    "en": "The request could not be read as it was sent."},
    "range_not_satisfiable": {"nb": "Range-hodet ligger utenfor filen.", "nn": "Range-hovudet ligg utanfor fila.",
                              "en": "The Range header lies outside the file."},
    "guide_unavailable": {"nb": "Veilederen «{id}» kunne ikke lastes, og ingen tidligere versjon er i bruk.",
                          "nn": "Rettleiaren «{id}» kunne ikkje lastast, og ingen tidlegare versjon er i bruk.",
                          "en": "The guide '{id}' did not load and no earlier version is being served."},
    "identity_number": {"nb": "ser ut som et fødselsnummer; tjenesten tar ikke imot personidentifikatorer: fjern det",
                        "nn": "ser ut som eit fødselsnummer; tenesta tek ikkje imot personidentifikatorar: fjern det",
                        "en": "looks like a national identity number; the service accepts no personal "
                              "identifiers: remove it"},
    "not_ready": {"nb": "Ikke alle veiledere er lastet.", "nn": "Ikkje alle rettleiarane er lasta.",
                  "en": "Not every guide is loaded."},
    "internal_error": {"nb": "Intern feil; ingen beslutning er gitt.", "nn": "Intern feil; inga avgjerd er gitt.",
                       "en": "Internal error; no decision was given."},
    # reasons for malformed JSON
    "reason_syntax": {"nb": "feil i syntaksen på linje {line}, kolonne {column}",
                      "nn": "feil i syntaksen på linje {line}, kolonne {column}",
                      "en": "syntax error at line {line}, column {column}"},
    "reason_number": {"nb": "et tall er for langt", "nn": "eit tal er for langt", "en": "a number is too long"},
    "reason_surrogate": {"nb": "en \\u-kode er ikke gyldig Unicode (en enslig surrogat)",
                         "nn": "ein \\u-kode er ikkje gyldig Unicode (ein einsleg surrogat)",
                         "en": "a \\u escape is not valid Unicode (a lone surrogate)"},
    "reason_nesting": {"nb": "for dypt nøstet", "nn": "for djupt nøsta", "en": "nested too deeply"},
    "reason_utf8": {"nb": "ikke gyldig UTF-8", "nn": "ikkje gyldig UTF-8", "en": "not valid UTF-8"},
    "reason_duplicate_key": {"nb": "nøkkelen «{key}» står to ganger", "nn": "nøkkelen «{key}» står to gonger",
                             "en": "the key '{key}' appears twice"},
    "reason_constant": {"nb": "{value} er ikke et gyldig tall i JSON", "nn": "{value} er ikkje eit gyldig tal i JSON",
                        "en": "{value} is not a valid JSON number"},
    "reason_empty": {"nb": "innholdet er tomt", "nn": "innhaldet er tomt", "en": "the body is empty"},
    # field messages (details[].message)
    "unknown_field": {"nb": "ukjent felt", "nn": "ukjent felt", "en": "unknown field"},
    "required": {"nb": "mangler: feltet er påkrevd", "nn": "manglar: feltet er påkravd",
                 "en": "missing: this field is required"},
    "null": {"nb": "kan ikke være null", "nn": "kan ikkje vere null", "en": "may not be null"},
    "integer": {"nb": "må være et heltall, for eksempel 9 (ikke 9.0 eller \"9\")",
                "nn": "må vere eit heiltal, til dømes 9 (ikkje 9.0 eller \"9\")",
                "en": "must be a whole number such as 9 (not 9.0 or \"9\")"},
    "boolean": {"nb": "må være true eller false", "nn": "må vere true eller false", "en": "must be true or false"},
    "string": {"nb": "må være en tekst", "nn": "må vere ein tekst", "en": "must be a string"},
    "object": {"nb": "må være et objekt", "nn": "må vere eit objekt", "en": "must be an object"},
    "list": {"nb": "må være en liste", "nn": "må vere ei liste", "en": "must be a list"},
    "range": {"nb": "må være fra {min} til {max}", "nn": "må vere frå {min} til {max}",
              "en": "must be from {min} to {max}"},
    "length": {"nb": "må ha fra {min} til {max} elementer", "nn": "må ha frå {min} til {max} element",
               "en": "must have {min} to {max} items"},
    "unknown_value": {"nb": "ukjent verdi «{value}»; gyldige verdier: {valid}",
                      "nn": "ukjend verdi «{value}»; gyldige verdiar: {valid}",
                      "en": "unknown value '{value}'; valid values: {valid}"},
    "unknown_code": {"nb": "ukjent kode «{value}»", "nn": "ukjend kode «{value}»", "en": "unknown code '{value}'"},
    "signal": {"nb": "et signal er en kode eller {{\"code\": …, \"strength\": …}}",
               "nn": "eit signal er ein kode eller {{\"code\": …, \"strength\": …}}",
               "en": "a signal is a code or {{\"code\": …, \"strength\": …}}"},
    "partial_needs_shared": {"nb": "partial gjelder bare ved felles foreldreansvar (shared)",
                             "nn": "partial gjeld berre ved felles foreldreansvar (shared)",
                             "en": "partial is only valid with shared parental responsibility"},
    "measures_need_level": {"nb": "measures_effective krever status.current_level",
                            "nn": "measures_effective krev status.current_level",
                            "en": "measures_effective needs status.current_level"},
    "signal_subject": {"nb": "{code} gjelder bare for gravide (subject.kind pregnant)",
                       "nn": "{code} gjeld berre for gravide (subject.kind pregnant)",
                       "en": "{code} applies only to a pregnant subject"},
    "not_a_reporter": {"nb": "{code} kan ikke være melder; oppgi tjenesten som sender forespørselen",
                       "nn": "{code} kan ikkje vere meldar; gje opp tenesta som sender førespurnaden",
                       "en": "{code} cannot be the reporter; give the service that sends the request"},
    "age_range": {"nb": "alderen må være {min}–{max} år for {kind} i denne veilederen",
                  "nn": "alderen må vere {min}–{max} år for {kind} i denne rettleiaren",
                  "en": "the age must be {min}–{max} for {kind} in this guide"},
    "lang": {"nb": "språk må være nb, nn eller en", "nn": "språk må vere nb, nn eller en",
             "en": "language must be nb, nn or en"},
    "batch_cases": {"nb": "cases må ha fra 1 til 100 saker", "nn": "cases må ha frå 1 til 100 saker",
                    "en": "cases must have 1 to 100 items"},
    "invalid": {"nb": "ugyldig verdi", "nn": "ugyldig verdi", "en": "invalid value"},
}

# marshmallow's default messages → our keys
_MARSHMALLOW = {
    "Unknown field.": "unknown_field",
    "Missing data for required field.": "required",
    "Field may not be null.": "null",
    "Not a valid integer.": "integer",
    "Not a valid boolean.": "boolean",
    "Not a valid string.": "string",
    "Invalid input type.": "object",
    "Not a valid list.": "list",
    "Invalid value.": "invalid",
    "batch_cases": "batch_cases",
}


class Msg(Suggesting):
    """A message key with parameters (and suggestions), rendered per language."""

    key: str
    params: dict[str, Any]

    def __new__(cls, message_key: str, suggestions: tuple[str, ...] | list[str] = (), **params: Any) -> Msg:
        obj = super().__new__(cls, render(message_key, "en", **params), suggestions)
        assert isinstance(obj, Msg)
        obj.key = message_key
        obj.params = params
        return obj


def render(message_key: str, lang: str, **params: Any) -> str:
    texts = MESSAGES[message_key]
    return (texts.get(lang) or texts["nb"]).format(**params)


def localise(message: str, lang: str) -> str:
    """A validation message in ``lang``: a Msg by its key, marshmallow's by our mapping."""
    if isinstance(message, Msg):
        return render(message.key, lang, **message.params)
    key = _MARSHMALLOW.get(str(message))
    if key:
        return render(key, lang)
    if str(message).startswith("Length must be between"):
        return render("length", lang, min=1, max=50)
    return str(message)
