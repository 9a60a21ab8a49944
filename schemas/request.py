"""The decision request (docs/api.md, Request), validated against the guide it is sent to.

``DecisionRequestSchema(...).load(body)`` inside ``Context({"guide": guide})`` gives a
:class:`rules.case.Case` or raises ``ValidationError`` listing every problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from marshmallow import ValidationError, fields, post_load, pre_load, validate, validates_schema
from marshmallow.experimental.context import Context

from rules.case import Case
from rules.grammar import StrictSchema
from rules.messages import closest, closest_labelled
from rules.model import (
    CONSENT_ANSWERS,
    MEASURES,
    RESPONSIBILITIES,
    STRENGTH_RANK,
    STRENGTHS,
    SUBJECT_KINDS,
    Guide,
)
from schemas.i18n import Msg, api_key
from schemas.privacy import excerpt

MAX_SIGNALS = 50
MAX_SERVICES = 100
# a signal sent for a subject it does not apply to: the message names whom it applies to
N_SIGNAL_ONLY = {"child": api_key("signal_only_child"), "pregnant": api_key("signal_only_pregnant")}


def suggest(value: object, entries: Mapping[str, Any]) -> list[str]:
    """The codes closest to ``value``, matched against each code and its label in every language
    ("skole" → school, "mobbing" → bullying)."""
    return closest_labelled(value, {code: entry.label.values() for code, entry in entries.items()})


def _guide() -> Guide:
    return Context[dict[str, Any]].get()["guide"]


class _Documented(fields.Field):
    """A field that adds OpenAPI keywords to its metadata."""

    @property
    def _meta(self) -> dict[str, Any]:
        return self.metadata  # type: ignore[return-value]


class Enum(_Documented):
    """A string from a fixed list; a near miss gets suggestions."""

    def __init__(self, choices: Iterable[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = tuple(choices)
        nullable = bool(kwargs.get("allow_none"))
        self._meta.setdefault("enum", [*self.choices, None] if nullable else list(self.choices))
        self._meta.setdefault("type", "string")  # apispec adds "null" for allow_none

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str) or value not in self.choices:
            raise ValidationError(Msg("unknown_value", closest(value, self.choices), value=excerpt(value),
                                      valid=", ".join(self.choices)))
        return value


class Code(_Documented):
    """A service or signal code of the guide's catalog (local teams included)."""

    def __init__(self, section: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.section = section
        self._meta.setdefault("type", "string")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        valid = getattr(_guide().catalog, self.section)
        if not isinstance(value, str) or value not in valid:
            raise ValidationError(Msg("unknown_code", suggest(value, valid), value=excerpt(value)))
        return value


class Int(fields.Integer, _Documented):
    """A whole number: ``9``, not ``9.0``, ``"9"`` or ``true``."""

    def __init__(self, lo: int | None = None, hi: int | None = None, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)
        if lo is not None:
            self._meta.setdefault("minimum", lo)
        if hi is not None:
            self._meta.setdefault("maximum", hi)
        self.lo, self.hi = lo, hi

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(Msg("integer"))
        if self.lo is not None and self.hi is not None and not self.lo <= value <= self.hi:
            raise ValidationError(Msg("range", min=self.lo, max=self.hi))
        return value


class Bool(fields.Boolean):
    """Only JSON ``true`` or ``false``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError(Msg("boolean"))
        return value


class SignalField(_Documented):
    """``"withdrawn"`` or ``{"code": "withdrawn", "strength": "concern"}`` → (code, strength)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._meta["oneOf"] = [
            {"type": "string", "description": "a signal code; strength concern"},
            {"type": "object", "additionalProperties": False, "required": ["code"],
             "properties": {"code": {"type": "string"},
                            "strength": {"type": ["string", "null"], "enum": [*STRENGTHS, None],
                                         "default": "concern"}}},
        ]

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple[str, str]:
        signals = _guide().catalog.signals
        if isinstance(value, str):
            value = {"code": value}
        if not isinstance(value, dict):
            raise ValidationError(Msg("signal"))
        errors: dict[str, list[Msg]] = {}
        for key in value:
            if key not in ("code", "strength"):
                errors[key] = [Msg("unknown_field_of", valid="code, strength")]
        code, strength = value.get("code"), value.get("strength", "concern")
        if "code" not in value:
            errors["code"] = [Msg("required")]
        elif not isinstance(code, str) or code not in signals:
            errors["code"] = [Msg("unknown_code", suggest(code, signals), value=excerpt(code))]
        if strength is None:
            strength = "concern"
        if not isinstance(strength, str) or strength not in STRENGTHS:
            errors["strength"] = [Msg("unknown_value", closest(strength, STRENGTHS), value=excerpt(strength),
                                      valid=", ".join(STRENGTHS))]
        if errors:
            raise ValidationError(errors)
        return str(code), str(strength)


class RequestObjectSchema(StrictSchema):
    """An object of the request: an unknown key is an error that lists the keys this object takes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.error_messages = {**self.error_messages,
                               "unknown": Msg("unknown_field_of", valid=", ".join(self.fields))}


class SubjectSchema(RequestObjectSchema):
    kind = Enum(SUBJECT_KINDS, required=True)
    # the range depends on the kind and the guide (checked with the other fields below)
    age = Int(required=True, metadata={"description": "whole years; national range 0–25 for a child, 12–55 "
                                                      "for a pregnant woman (her age); a guide may narrow it"})


class ReporterSchema(RequestObjectSchema):
    service = Code("services", required=True)


class FamilySchema(RequestObjectSchema):
    parental_responsibility = Enum(RESPONSIBILITIES, allow_none=True, load_default=None)


class ConsentSchema(RequestObjectSchema):
    parents = Enum(CONSENT_ANSWERS, allow_none=True, load_default=None)
    subject = Enum(CONSENT_ANSWERS[:4], allow_none=True, load_default=None)


class StatusSchema(RequestObjectSchema):
    current_level = Int(0, 3, allow_none=True, load_default=None)
    measures_effective = Enum(MEASURES, allow_none=True, load_default=None)
    # the bound is checked first by DecisionRequestSchema._bounded; the validator states it for the
    # documentation and the fast path's JSON Schema (schemas/fastpath.py)
    services_involved = fields.List(Code("services"), allow_none=True, load_default=None,
                                    validate=validate.Length(max=MAX_SERVICES, error=Msg("length")))
    complex_long_term_needs = Bool(allow_none=True, load_default=None)
    step = fields.String(allow_none=True, load_default=None,
                         metadata={"description": "the id of the guide's pathway step the case is at now; "
                                                  "a step of current_level that applies to this request",
                                   "example": "1.4"})


class DecisionRequestSchema(RequestObjectSchema):
    subject = fields.Nested(SubjectSchema, required=True)
    reporter = fields.Nested(ReporterSchema, required=True)
    signals = fields.List(SignalField(), required=True,
                          validate=validate.Length(1, MAX_SIGNALS, error=Msg("length")))
    family = fields.Nested(FamilySchema, allow_none=True, load_default=None)
    consent = fields.Nested(ConsentSchema, allow_none=True, load_default=None)
    status = fields.Nested(StatusSchema, allow_none=True, load_default=None)

    @pre_load
    def _bounded(self, data: Any, **kwargs: Any) -> Any:
        """Lists far over their limit are refused before their items are looked at: validating
        50,000 misspelt codes one by one would cost seconds and answer with megabytes."""
        if not isinstance(data, dict):
            return data
        errors: dict[str, Any] = {}
        signals = data.get("signals")
        if isinstance(signals, list) and len(signals) > MAX_SIGNALS:
            errors["signals"] = [Msg("length", min=1, max=MAX_SIGNALS)]
        status = data.get("status")
        involved = status.get("services_involved") if isinstance(status, dict) else None
        if isinstance(involved, list) and len(involved) > MAX_SERVICES:
            errors["status"] = {"services_involved": [Msg("length", min=0, max=MAX_SERVICES)]}
        if errors:
            raise ValidationError(errors)
        return data

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _coherent(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """Problems across fields; runs even when fields failed, so every problem is listed."""
        errors: dict[str, Any] = {}
        family, consent, status = data.get("family") or {}, data.get("consent") or {}, data.get("status") or {}
        responsibility = family.get("parental_responsibility") or "shared"
        if consent.get("parents") == "partial" and responsibility != "shared":
            errors["consent"] = {"parents": [Msg("partial_needs_shared")]}
        if status.get("measures_effective") is not None and status.get("current_level") is None:
            errors["status"] = {"measures_effective": [Msg("measures_need_level")]}
        step, current = status.get("step"), status.get("current_level")
        if step is not None and current is None:
            errors.setdefault("status", {})["step"] = [Msg("step_needs_level")]
        elif step is not None and current is not None:
            level = _guide().pathway.levels.get(current)
            ids = [s.id for s in level.steps] if level else []
            if step not in ids:
                errors.setdefault("status", {})["step"] = [Msg("unknown_step", closest(step, ids) or ids[:3],
                                                               value=step, level=current, valid=", ".join(ids))]
        subject = data.get("subject") or {}
        kind, age = subject.get("kind"), subject.get("age")
        guide, settings = _guide(), _guide().settings
        lo, hi = ((settings.child_age_min, settings.child_age_max) if kind == "child"
                  else (settings.pregnant_age_min, settings.pregnant_age_max))
        if kind and age is not None and not lo <= age <= hi:
            key = api_key("age_range_child") if kind == "child" else api_key("age_range_pregnant")
            errors["subject"] = {"age": [Msg(key, min=lo, max=hi)]}
        reporter = (data.get("reporter") or {}).get("service")
        service = guide.catalog.services.get(reporter) if isinstance(reporter, str) else None
        if service is not None and not service.reports:  # emergency_medical answers calls, never reports
            errors["reporter"] = {"service": [Msg("not_a_reporter", service=service.label)]}
        # indices of the request as sent (invalid items are missing from data["signals"])
        sent = original.get("signals") if isinstance(original, dict) else None
        codes = [s.get("code") if isinstance(s, dict) else s for s in sent] if isinstance(sent, list) else []
        known = guide.catalog.signals
        bad = {i: {"code": [Msg(N_SIGNAL_ONLY[known[code].subjects[0]], signal=known[code].label)]}
               for i, code in enumerate(codes)
               if kind and isinstance(code, str) and code in known and kind not in known[code].subjects}
        if bad:
            errors["signals"] = bad
        if errors:
            raise ValidationError(errors)

    @post_load
    def make_case(self, data: dict[str, Any], **kwargs: Any) -> Case:
        signals: dict[str, int] = {}
        for code, strength in data["signals"]:
            signals[code] = max(signals.get(code, 0), STRENGTH_RANK[strength])
        family, consent, status = data["family"] or {}, data["consent"] or {}, data["status"] or {}
        reporter = data["reporter"]["service"]
        involved = tuple(dict.fromkeys(s for s in status.get("services_involved") or () if s != reporter))
        return Case(
            subject_kind=data["subject"]["kind"], age=data["subject"]["age"], reporter=reporter,
            signals=signals,
            parental_responsibility=family.get("parental_responsibility") or "shared",
            consent_parents=consent.get("parents") or "not_asked",
            consent_subject=consent.get("subject") or "not_asked",
            current_level=status.get("current_level"), measures_effective=status.get("measures_effective"),
            services_involved=involved,
            complex_long_term_needs=bool(status.get("complex_long_term_needs")),
            step=status.get("step"),
        )


class BatchRequestSchema(RequestObjectSchema):
    # each case is validated on its own (a bad one is answered at its index), so any value is a case here
    cases = fields.List(fields.Raw(metadata={"description": "a DecisionRequest (#/components/schemas/DecisionRequest)"
                                             "; an invalid one is answered with an error at its index"}),
                        required=True,
                        validate=validate.Length(1, 100, error=Msg("batch_cases")))
