"""Schemas of the rule files a municipality maintains: the catalog, ``guide.yaml`` and
``rules/*.yaml``. Loading them gives the model objects of :mod:`rules.model`.

Codes are checked against the catalog in force (``Context({"catalog": …})``); an unknown code is
an error with the closest valid codes as suggestions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from marshmallow import RAISE, ValidationError, fields, post_load, validate
from marshmallow.experimental.context import Context

from rules.fields import FIELDS, operators_for
from rules.messages import KeyedSchema, Suggesting, closest, unknown_code
from rules.model import (
    CASE_ACTOR_REFS,
    CONSENT_PARTIES,
    DERIVED_FLAGS,
    GUIDE_STATUSES,
    LANGUAGES,
    REPORTER_REF,
    ROLES,
    SETTING_NAMES,
    STRENGTH_RANK,
    STRENGTHS,
    SUBJECT_KINDS,
    ActorRef,
    AllOf,
    AnyOf,
    Catalog,
    Condition,
    FieldTest,
    LevelCall,
    NotOf,
    Outcome,
    SettingRef,
    SignalTest,
    Text,
)

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
NAME_HINT = "use lower-case letters, digits and _ , starting with a letter (e.g. school_absence_level_2)"


def _catalog() -> Catalog:
    return Context[dict[str, Any]].get()["catalog"]


def _check_code(kind: str, value: object, valid: Iterable[str]) -> str:
    valid = list(valid)
    if not isinstance(value, str) or value not in valid:
        raise ValidationError(unknown_code(kind, value, valid))
    return value


class StrictSchema(KeyedSchema):
    class Meta:
        unknown = RAISE


class TextField(fields.Field):
    """A text: a plain string (bokmål) or ``{nb: …, nn: …, en: …}``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Text:
        if isinstance(value, str) and value.strip():
            return Text(nb=value.strip())
        if isinstance(value, dict) and value:
            problems: dict[str, list[str]] = {}
            for lang, text in value.items():
                if lang not in LANGUAGES:
                    problems[lang] = [Suggesting(f"unknown language {lang!r}; use nb, nn or en",
                                                 closest(lang, LANGUAGES))]
                elif not isinstance(text, str) or not text.strip():
                    problems[lang] = ["a text must be a non-empty string"]
            if "nb" not in value:
                problems.setdefault("nb", []).append("the bokmål text (nb) is required; nn and en are optional")
            if problems:
                raise ValidationError(problems)
            return Text({k: v.strip() for k, v in value.items()})
        raise ValidationError("a text: a string, or a mapping nb/nn/en of strings")


class CodeField(fields.Field):
    """A code of the catalog in force; ``kind`` names the catalog section."""

    def __init__(self, kind: str, extra: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = kind
        self.extra = tuple(extra)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        catalog = _catalog()
        section: Iterable[str] = getattr(catalog, self.kind + "s" if self.kind != "forbidden" else "forbidden")
        return _check_code(self.kind.replace("_", " "), value, [*section, *self.extra])


class ChoiceField(fields.Field):
    """One of a fixed list of words, with suggestions when misspelled."""

    def __init__(self, kind: str, choices: Iterable[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = kind
        self.choices = tuple(choices)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return _check_code(self.kind, value, self.choices)


def _int(value: Any, lo: int | None = None, hi: int | None = None) -> int | SettingRef:
    if isinstance(value, dict) and set(value) == {"setting"}:
        name = value["setting"]
        if name not in SETTING_NAMES:
            raise ValidationError({"setting": [unknown_code("setting", name, SETTING_NAMES)]})
        return SettingRef(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"expected a whole number, not {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValidationError(f"{value} is outside {lo}–{hi}")
    return value


# --- conditions ----------------------------------------------------------------------------

CONDITION_KEYS = ("all", "any", "not", "signal", "strength", *FIELDS)
CONDITION_HINT = ("a condition is a mapping such as {signal: school_absence}, "
                  "{subject.age: {below: 18}}, or all/any/not of conditions")


def parse_condition(data: Any, catalog: Catalog) -> Condition:
    """Parse a ``when`` mapping into the condition tree; ``ValidationError`` with nested paths."""
    if not isinstance(data, dict) or not data:
        raise ValidationError(CONDITION_HINT)
    parts: list[Condition] = []
    errors: dict[str, Any] = {}
    for key, value in data.items():
        try:
            if key in ("all", "any"):
                parts.append(_parse_list(key, value, catalog))
            elif key == "not":
                parts.append(NotOf(parse_condition(value, catalog)))
            elif key == "signal":
                parts.append(_parse_signal(value, data.get("strength", "concern"), catalog, errors))
            elif key == "strength":
                if "signal" not in data:
                    raise ValidationError("strength belongs beside a signal: {signal: …, strength: …}")
            elif key in FIELDS:
                parts.extend(_parse_field(key, value, catalog))
            else:
                raise ValidationError(Suggesting(
                    f"unknown condition {key!r}; {CONDITION_HINT}", closest(str(key), CONDITION_KEYS)))
        except ValidationError as exc:
            errors[key] = exc.messages
    if errors:
        raise ValidationError(errors)
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def _parse_list(key: str, value: Any, catalog: Catalog) -> Condition:
    if not isinstance(value, list) or not value:
        raise ValidationError(f"{key} takes a non-empty list of conditions")
    items: list[Condition] = []
    errors: dict[int, Any] = {}
    for i, item in enumerate(value):
        try:
            items.append(parse_condition(item, catalog))
        except ValidationError as exc:
            errors[i] = exc.messages
    if errors:
        raise ValidationError(errors)
    return AllOf(tuple(items)) if key == "all" else AnyOf(tuple(items))


def _parse_signal(value: Any, strength: Any, catalog: Catalog, errors: dict[str, Any]) -> SignalTest:
    codes: tuple[str, ...] | None
    signals = list(catalog.signals)
    if value == "any":
        codes = None
    elif isinstance(value, str):
        codes = (_check_code("signal", value, signals),)
    elif isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("one_of", "other_than"):
        op, listed = next(iter(value.items()))
        if not isinstance(listed, list) or not listed:
            raise ValidationError({op: ["a non-empty list of signal codes"]})
        bad = {i: [unknown_code("signal", c, signals)] for i, c in enumerate(listed) if c not in signals}
        if bad:
            raise ValidationError({op: bad})
        codes = tuple(listed) if op == "one_of" else tuple(s for s in signals if s not in listed)
    else:
        raise ValidationError("signal: a signal code, any, {one_of: [codes]} or {other_than: [codes]}")
    try:
        ranks = _parse_strength(strength)
    except ValidationError as exc:
        errors["strength"] = exc.messages
        ranks = frozenset()
    return SignalTest(codes, ranks)


def _parse_strength(value: Any) -> frozenset[int]:
    """A strength name means "at least"; any, {exactly: s}, {below: s}, {one_of: [s, …]}."""
    def rank(s: Any) -> int:
        return STRENGTH_RANK[_check_code("strength", s, STRENGTHS)]

    if value == "any":
        return frozenset({1, 2, 3})
    if isinstance(value, str):
        return frozenset(range(rank(value), 4))
    if isinstance(value, dict) and len(value) == 1:
        op, arg = next(iter(value.items()))
        if op == "exactly":
            return frozenset({rank(arg)})
        if op == "at_least":
            return frozenset(range(rank(arg), 4))
        if op == "below":
            return frozenset(range(1, rank(arg)))
        if op == "one_of" and isinstance(arg, list) and arg:
            return frozenset(rank(s) for s in arg)
    raise ValidationError("strength: any, a strength (meaning at least), {exactly: s}, {below: s} "
                          "or {one_of: [s, …]}; strengths are wondering < concern < reason_to_believe")


def _parse_field(path: str, value: Any, catalog: Catalog) -> list[Condition]:
    spec = FIELDS[path]
    ops = operators_for(spec.type)
    shorthand = not isinstance(value, dict) or (spec.type == "int" and set(value) == {"setting"})
    if shorthand:
        if "equals" not in ops:
            raise ValidationError(f"{path} takes one of: " + ", ".join(f"{{{o}: …}}" for o in ops))
        value = {"equals": value}
    tests: list[Condition] = []
    errors: dict[str, Any] = {}
    for op, arg in value.items():
        try:
            if op not in ops:
                raise ValidationError(Suggesting(f"{path} cannot use {op!r}; it takes: " + ", ".join(ops),
                                                 closest(str(op), ops)))
            tests.append(FieldTest(path, op, _field_arg(spec.type, path, op, arg, catalog)))
        except ValidationError as exc:
            errors[op] = exc.messages
    if errors:
        # `path: value` is reported at the path itself, `path: {op: value}` at the operator
        raise ValidationError(errors["equals"] if shorthand else errors)
    return tests


def _enum_values(path: str, catalog: Catalog) -> tuple[str, ...]:
    if path == REPORTER_REF:
        return tuple(catalog.services)
    return FIELDS[path].values


def _field_arg(kind: str, path: str, op: str, arg: Any, catalog: Catalog) -> Any:
    spec = FIELDS[path]
    if op == "present":
        if not isinstance(arg, bool):
            raise ValidationError("present takes true or false")
        return arg
    if kind == "bool":
        if not isinstance(arg, bool):
            raise ValidationError(f"{path} is true or false")
        return arg
    if kind == "services":
        if op == "contains":
            return _check_code("service", arg, catalog.services)
        return _int(arg, 0, 50)
    if op in ("one_of", "not_one_of"):
        if not isinstance(arg, list) or not arg:
            raise ValidationError(f"{op} takes a non-empty list")
        out, errors = [], {}
        for i, item in enumerate(arg):
            try:
                out.append(_scalar(kind, path, item, catalog))
            except ValidationError as exc:
                errors[i] = exc.messages
        if errors:
            raise ValidationError(errors)
        return tuple(out)
    if op == "between":
        if not isinstance(arg, list) or len(arg) != 2:
            raise ValidationError("between takes two numbers [low, high], both included")
        return (_int(arg[0], spec.minimum, spec.maximum), _int(arg[1], spec.minimum, spec.maximum))
    return _scalar(kind, path, arg, catalog)


def _scalar(kind: str, path: str, arg: Any, catalog: Catalog) -> Any:
    spec = FIELDS[path]
    if kind == "int":
        return _int(arg, spec.minimum, spec.maximum)
    return _check_code(path.split(".")[-1].replace("_", " "), arg, _enum_values(path, catalog))


class ConditionField(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Condition:
        return parse_condition(value, _catalog())


# --- outcomes, rules, rule files -----------------------------------------------------------


class LevelField(fields.Field):
    """``level: 2`` or ``level: {from: status.current_level, add: 1}``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> LevelCall:
        if isinstance(value, dict):
            if set(value) - {"from", "add"} or value.get("from") != "status.current_level":
                raise ValidationError("a level is 0–3 or {from: status.current_level, add: N}")
            add = value.get("add", 0)
            if isinstance(add, bool) or not isinstance(add, int) or not -3 <= add <= 3:
                raise ValidationError({"add": ["a whole number from -3 to 3"]})
            return LevelCall(from_current=True, add=add)
        level = _int(value, 0, 3)
        if isinstance(level, SettingRef):
            raise ValidationError("a level is a number 0–3")
        return LevelCall(value=level)


class ActorSchema(StrictSchema):
    service = CodeField("service", extra=CASE_ACTOR_REFS, required=True)
    role = ChoiceField("role", ROLES, required=True)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> ActorRef:
        return ActorRef(data["service"], data["role"])


class OutcomeSchema(StrictSchema):
    level = LevelField()
    level_at_most = fields.Integer(strict=True, validate=validate.Range(0, 3))
    blocks_level = fields.Boolean(truthy={True}, falsy={False})
    steps = fields.List(CodeField("step"))
    forbidden = fields.List(CodeField("forbidden"))
    actors = fields.List(fields.Nested(ActorSchema))
    consent_from = ChoiceField("consent party", CONSENT_PARTIES)
    sets = fields.List(ChoiceField("derived fact", DERIVED_FLAGS))

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Outcome:
        if data.get("blocks_level") and "level_at_most" not in data:
            raise ValidationError({"blocks_level": ["blocks_level goes with level_at_most (the cap it reports)"]})
        if not data:
            raise ValidationError("then: give at least one of level, level_at_most, steps, forbidden, "
                                  "actors, consent_from, sets")
        return Outcome(
            level=data.get("level"),
            level_at_most=data.get("level_at_most"),
            blocks_level=data.get("blocks_level", False),
            steps=tuple(dict.fromkeys(data.get("steps", ()))),
            forbidden=tuple(dict.fromkeys(data.get("forbidden", ()))),
            actors=tuple(dict.fromkeys(data.get("actors", ()))),
            consent_from=data.get("consent_from"),
            sets=tuple(data.get("sets", ())),
        )


class RuleSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Regexp(NAME, error=NAME_HINT))
    title = TextField(required=True)
    because = TextField(required=True)
    when = ConditionField(required=True)
    then = fields.Nested(OutcomeSchema, required=True)
    notes = TextField()


class RuleFileSchema(StrictSchema):
    """``rules/<group>.yaml``: a group of rules; ``hit: first`` makes the first that applies decide."""

    group = fields.String(required=True, validate=validate.Regexp(NAME, error=NAME_HINT))
    title = TextField()
    hit = ChoiceField("hit policy", ("all", "first"), load_default="all")
    rules = fields.List(fields.Nested(RuleSchema), required=True, validate=validate.Length(min=1))


class RuleFileHeadSchema(RuleFileSchema):
    """The file without its rules, which are then validated one by one."""

    rules = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1))


# --- guide.yaml ----------------------------------------------------------------------------


class AgeRangeSchema(StrictSchema):
    min = fields.Integer(strict=True, required=True, validate=validate.Range(0, 55))
    max = fields.Integer(strict=True, required=True, validate=validate.Range(0, 55))


class SettingsSchema(StrictSchema):
    youth_consent_age = fields.Integer(strict=True, validate=validate.OneOf([15, 16]))
    child_age = fields.Nested(AgeRangeSchema)
    pregnant_age = fields.Nested(AgeRangeSchema)
    level0_decision_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(0, 365))
    level2_meeting_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(0, 365))
    evaluation_interval_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(1, 365))
    relay_log_from_level = fields.Integer(strict=True, validate=validate.OneOf([1, 2]))
    services_for_level_3 = fields.Integer(strict=True, validate=validate.Range(2, 5))
    relay_holder_titles = fields.Dict(keys=CodeField("service"), values=TextField())
    languages = fields.List(ChoiceField("language", LANGUAGES), validate=validate.Length(min=1))


class ServiceSchema(StrictSchema):
    """A service: the national catalog's, or a guide's local team."""

    label = TextField(required=True)
    health = fields.Boolean(truthy={True}, falsy={False}, load_default=False)
    reports = fields.Boolean(truthy={True}, falsy={False}, load_default=True)  # false: never the reporter


class StepTextSchema(StrictSchema):
    label = TextField()
    text = TextField()


class SourceSchema(StrictSchema):
    """One published document the guide was built from: ``{title, url, read}``."""

    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    url = fields.Url(required=True, schemes={"http", "https"})
    read = fields.Date(required=True, metadata={"description": "when the source was read (YYYY-MM-DD)"})


class GuideFileSchema(StrictSchema):
    """``guide.yaml``: the guide's identity and settings; a municipality's also its local teams,
    local labels, text overrides and the national groups it replaces (only ``routing``)."""

    id = fields.String(required=True, validate=validate.Regexp(NAME, error=NAME_HINT))
    name = TextField(required=True)
    version = fields.String(required=True, validate=validate.Length(min=1, max=40))
    date = fields.Date(metadata={"description": "when this version was adopted (YYYY-MM-DD)"})
    extends = fields.String(allow_none=True)
    status = ChoiceField("guide status", GUIDE_STATUSES, load_default="draft",
                         metadata={"description": "adopted (the municipality's own), draft or example"})
    sources = fields.List(fields.Nested(SourceSchema), load_default=list)
    settings = fields.Nested(SettingsSchema, load_default=dict)
    level_names = fields.Dict(keys=fields.Integer(strict=True, validate=validate.Range(0, 3)), values=TextField())
    local_services = fields.Dict(keys=fields.String(validate=validate.Regexp(NAME, error=NAME_HINT)),
                                 values=fields.Nested(ServiceSchema))
    service_labels = fields.Dict(keys=CodeField("service"), values=TextField())
    step_texts = fields.Dict(keys=CodeField("step"), values=fields.Nested(StepTextSchema))
    replaces = fields.List(fields.String(validate=validate.Regexp(NAME, error=NAME_HINT)))


# --- catalog -------------------------------------------------------------------------------


class SignalEntrySchema(StrictSchema):
    group = ChoiceField("signal group", ("child", "family", "serious", "complex_needs", "pregnancy"),
                        required=True)
    label = TextField(required=True)
    subjects = fields.List(ChoiceField("subject kind", SUBJECT_KINDS), load_default=lambda: list(SUBJECT_KINDS))


class StepActorSchema(StrictSchema):
    service = fields.String(required=True)
    role = ChoiceField("role", ROLES, required=True)


class SignalBasisSchema(StrictSchema):
    """Statutes a step rests on only when the request has one of the signals."""

    signals = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    legal_basis = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class StepEntrySchema(StrictSchema):
    kind = ChoiceField("step kind", ("notification", "participation", "consultation", "consent",
                                     "documentation", "coordination"), required=True)
    label = TextField(required=True)
    text = TextField(required=True)
    legal_basis = fields.List(fields.String(), required=True)  # statutes only; empty when none applies
    legal_basis_by_reporter = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    legal_basis_by_signal = fields.List(fields.Nested(SignalBasisSchema))
    guidance = fields.List(fields.String(), load_default=list)
    actor = fields.Nested(StepActorSchema)
    subjects = fields.List(ChoiceField("subject kind", SUBJECT_KINDS))
    min_age = fields.Integer(strict=True, validate=validate.Range(0, 25))
    due = ChoiceField("due", ("today",))
    due_setting = ChoiceField("setting", ("level0_decision_days", "level2_meeting_days",
                                          "evaluation_interval_days"))
    dropped_when = fields.List(fields.String())


class ForbiddenEntrySchema(StrictSchema):
    label = TextField(required=True)
    text = TextField(required=True)
    legal_basis = fields.List(fields.String(), required=True)
    guidance = fields.List(fields.String(), load_default=list)
    removes = fields.List(fields.String(), load_default=list)


def _texts(required: Iterable[Any]) -> fields.Dict:
    return fields.Dict(keys=fields.Raw(), values=TextField(), required=True,
                       validate=lambda d: _exact_keys(d, required))


def _exact_keys(d: Mapping[Any, Any], required: Iterable[Any]) -> bool:
    missing = [k for k in required if k not in d]
    extra = [k for k in d if k not in list(required)]
    if missing or extra:
        raise ValidationError(f"must list exactly {list(required)} (missing {missing}, unknown {extra})")
    return True


class CatalogFileSchema(StrictSchema):
    languages = fields.List(ChoiceField("language", LANGUAGES), required=True)
    levels = _texts(range(4))
    strengths = _texts(STRENGTHS)
    roles = _texts(ROLES)
    consent_parties = _texts(CONSENT_PARTIES)
    services = fields.Dict(keys=fields.String(validate=validate.Regexp(NAME)),
                           values=fields.Nested(ServiceSchema), required=True)
    signals = fields.Dict(keys=fields.String(validate=validate.Regexp(NAME)),
                          values=fields.Nested(SignalEntrySchema), required=True)
    steps = fields.Dict(keys=fields.String(validate=validate.Regexp(NAME)),
                        values=fields.Nested(StepEntrySchema), required=True)
    forbidden = fields.Dict(keys=fields.String(validate=validate.Regexp(NAME)),
                            values=fields.Nested(ForbiddenEntrySchema), required=True)
