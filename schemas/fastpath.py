"""The fast validation path of a decision request: a compiled JSON Schema that says yes quickly.

The JSON Schema is derived from :class:`schemas.request.DecisionRequestSchema` when this module is
imported, by walking its fields and validators, so the request is described once (in marshmallow).
:func:`fast_case` answers a body with the :class:`rules.case.Case` marshmallow would have given, or
with ``None`` when it is not sure the body is valid; the caller then loads the body with marshmallow,
which lists every problem with the messages of docs/api.md. The fast path therefore never refuses
anything and never words an error: it only skips marshmallow for bodies that are valid.

Three steps, each refusing (``None``) on any doubt:

1. the compiled JSON Schema: types, enums, required and unknown keys, list lengths, ranges;
2. a converter derived from the same fields: strict integers (JSON Schema takes ``1.0`` for an
   integer, marshmallow does not), catalog codes of the guide, the defaults of absent fields;
3. the schema's own cross-field check and case builder (``_coherent``, ``make_case``), called as
   marshmallow would call them, so they are not written twice either.

A body accepted here holds only enum values, codes and step ids of the guide, small integers and
booleans, so the identity-number scan is skipped for it, unless the guide itself has a code or step
id that looks like an identity number or allows ages of eleven digits (:func:`scan_needed`).

Deriving fails at import (:class:`UnsupportedSchemaError`) on a field type, validator, option or
hook it does not know, so a change to the request schema cannot silently make this path wrong.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any

import jsonschema_rs
from marshmallow import RAISE, Schema, ValidationError, fields, missing, validate
from marshmallow.experimental.context import Context

from rules.case import Case
from rules.model import STRENGTHS, Guide
from schemas.privacy import identity_numbers
from schemas.request import Bool, Code, DecisionRequestSchema, Enum, Int, SignalField

DRAFT = "http://json-schema.org/draft-07/schema#"
Convert = Callable[[Any, Guide], Any]  # a value of the body (already valid as JSON Schema) → as loaded


class UnsupportedSchemaError(TypeError):
    """The request schema uses something the fast path cannot express: extend this module."""


class _Refused(Exception):
    """Raised inside a converter: the body may be invalid, let marshmallow decide."""


# The schema hooks this module knows, by name, and why the fast path stays equal to marshmallow
# with them. Any other hook on the request schema (or on a nested one) fails the import.
KNOWN_HOOKS = {
    ("pre_load", "_bounded"): "refuses lists over their Length validators' maximum, which the JSON Schema "
                              "derives as maxItems",
    ("validates_schema", "_coherent"): "called by fast_case after the fields are valid",
    ("post_load", "make_case"): "called by fast_case to build the case",
}


def _walk_validators(field: fields.Field, where: str) -> dict[str, Any]:
    keywords: dict[str, Any] = {}
    for validator in field.validators:
        if isinstance(validator, validate.Length) and validator.equal is None:
            array = isinstance(field, fields.List)
            if validator.min is not None:
                keywords["minItems" if array else "minLength"] = validator.min
            if validator.max is not None:
                keywords["maxItems" if array else "maxLength"] = validator.max
        elif isinstance(validator, validate.OneOf):
            keywords["enum"] = list(validator.choices)
        elif isinstance(validator, validate.Range):
            if validator.min is not None:
                keywords["minimum" if validator.min_inclusive else "exclusiveMinimum"] = validator.min
            if validator.max is not None:
                keywords["maximum" if validator.max_inclusive else "exclusiveMaximum"] = validator.max
        else:
            raise UnsupportedSchemaError(f"{where}: validator {type(validator).__name__} has no JSON Schema here")
    return keywords


def _nullable(schema: dict[str, Any], field: fields.Field) -> dict[str, Any]:
    if not field.allow_none:
        return schema
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    if "type" in schema:
        schema["type"] = [schema["type"], "null"]
    return schema


def _field(field: fields.Field, where: str) -> tuple[dict[str, Any], Convert | None]:
    """The JSON Schema of ``field`` and its converter (None: the value is loaded as it is)."""
    if field.dump_only:
        raise UnsupportedSchemaError(f"{where}: dump_only fields are not supported")
    kind = type(field)
    schema: dict[str, Any]
    convert: Convert | None = None
    if kind is Enum:
        assert isinstance(field, Enum)
        schema = {"enum": list(field.choices)}
    elif kind is Code:
        assert isinstance(field, Code)
        section = field.section

        def convert(value: Any, guide: Guide) -> Any:
            if value is not None and value not in getattr(guide.catalog, section):
                raise _Refused
            return value

        schema = {"type": "string"}
    elif kind is Int:
        assert isinstance(field, Int)
        schema = {"type": "integer"}
        if field.lo is not None and field.hi is not None:  # Int checks a range only with both ends
            schema.update(minimum=field.lo, maximum=field.hi)

        def convert(value: Any, guide: Guide) -> Any:
            if value is not None and type(value) is not int:  # JSON Schema's integer takes 1.0
                raise _Refused
            return value

    elif kind is Bool:
        schema = {"type": "boolean"}
    elif kind is fields.String:
        schema = {"type": "string"}
    elif kind is SignalField:
        schema = {"anyOf": [{"type": "string"}, {
            "type": "object", "additionalProperties": False, "required": ["code"],
            "properties": {"code": {"type": "string"}, "strength": {"enum": [*STRENGTHS, None]}}}]}
        convert = _signal
    elif kind is fields.List:
        assert isinstance(field, fields.List)
        items, inner = _field(field.inner, f"{where}[]")
        schema = {"type": "array", "items": items}
        if inner is None:
            def convert(value: Any, guide: Guide) -> Any:
                return None if value is None else list(value)
        else:
            def convert(value: Any, guide: Guide) -> Any:
                return None if value is None else [inner(item, guide) for item in value]
    elif kind is fields.Nested:
        assert isinstance(field, fields.Nested)
        nested = field.schema
        if field.many or not isinstance(nested, Schema):
            raise UnsupportedSchemaError(f"{where}: Nested(many=True) or a nested schema given as a function")
        schema, load = _object(nested, where)

        def convert(value: Any, guide: Guide) -> Any:
            return None if value is None else load(value, guide)

    else:
        raise UnsupportedSchemaError(f"{where}: field type {kind.__name__} has no JSON Schema here")
    if kind is not SignalField:
        schema.update(_walk_validators(field, where))
    return _nullable(schema, field), convert


def _signal(value: Any, guide: Guide) -> tuple[str, str]:
    """As :meth:`SignalField._deserialize` for a value the JSON Schema accepted."""
    if isinstance(value, str):
        code, strength = value, None
    else:
        code, strength = value["code"], value.get("strength")
    if code not in guide.catalog.signals:
        raise _Refused
    return code, strength or "concern"


def _object(schema: Schema, where: str) -> tuple[dict[str, Any], Callable[[Any, Guide], dict[str, Any]]]:
    """The JSON Schema of a marshmallow schema's object and its loader."""
    if schema.unknown != RAISE:
        raise UnsupportedSchemaError(f"{where or 'request'}: unknown={schema.unknown}; only RAISE has a JSON Schema "
                                     "here (additionalProperties false)")
    for tag, hooks in schema._hooks.items():
        for name, _many, _kwargs in hooks if tag not in ("pre_dump", "post_dump") else ():
            if (tag, name) not in KNOWN_HOOKS:
                raise UnsupportedSchemaError(f"{type(schema).__name__}: hook {tag} {name} is unknown to the fast path")
    if schema.only is not None or schema.exclude or schema.partial:
        raise UnsupportedSchemaError(f"{where}: only, exclude and partial are not supported")
    properties: dict[str, Any] = {}
    required: list[str] = []
    # (key in the body, attribute loaded, converter, default when absent)
    plan: list[tuple[str, str, Convert | None, Any]] = []
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        attribute = field.attribute or name
        properties[key], convert = _field(field, f"{where}.{key}" if where else key)
        if field.required:
            required.append(key)
        default = field.load_default
        plan.append((key, attribute, convert, default))
    out: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = required

    def load(value: Mapping[str, Any], guide: Guide) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key, attribute, convert, default in plan:
            if key in value:
                data[attribute] = value[key] if convert is None else convert(value[key], guide)
            elif default is not missing:
                data[attribute] = default() if callable(default) else default
        return data

    return out, load


def derive(schema_class: type[Schema] = DecisionRequestSchema) -> tuple[dict[str, Any], Callable[..., Any]]:
    """The JSON Schema of ``schema_class`` and the loader that turns a body it accepts into what
    marshmallow's field stage gives (before the schema's own validators and ``post_load``)."""
    schema, load = _object(schema_class(), "")
    return {"$schema": DRAFT, **schema}, load


REQUEST_JSON_SCHEMA, _load = derive()
# jsonschema_rs (Rust) checks a typical body in about 2 µs; fastjsonschema's generated Python took
# about 45 µs on the same bodies, marshmallow's load about 190 µs (docs/performance.md)
_valid = jsonschema_rs.validator_for(REQUEST_JSON_SCHEMA).is_valid
_request_schema = DecisionRequestSchema()


def fast_case(guide: Guide, body: Any) -> Case | None:
    """The case of a valid ``body`` for ``guide``, or None: then load it with marshmallow (which
    either finds it valid after all, or lists its problems)."""
    try:
        if not _valid(body):
            return None
    except ValueError:  # a Python value JSON has no form for (bytes, a set, a key that is not text)
        return None
    try:
        data = _load(body, guide)
        with Context({"guide": guide}):
            _request_schema._coherent(data, original=body)
            case: Case = _request_schema.make_case(data)
    except (_Refused, ValidationError):
        return None
    return case


# by id(guide): a Guide is neither hashable (it holds dicts) nor to be kept alive by this cache
_scan: dict[int, tuple[weakref.ref[Guide], bool]] = {}


def scan_needed(guide: Guide) -> bool:
    """Whether a body :func:`fast_case` accepted for ``guide`` may still hold something like an
    identity number: only if the guide has a code or a step id that looks like one, or admits ages
    of eleven digits (computed once per guide)."""
    cached = _scan.get(id(guide))
    if cached is not None and cached[0]() is guide:
        return cached[1]
    catalog, settings = guide.catalog, guide.settings
    identifiers = [*catalog.services, *catalog.signals,
                   *(step.id for level in guide.pathway.levels.values() for step in level.steps)]
    needed = (any(True for _ in identity_numbers(identifiers))
              or max(settings.child_age_max, settings.pregnant_age_max) >= 10**10)
    key = id(guide)
    _scan[key] = (weakref.ref(guide, lambda _: _scan.pop(key, None)), needed)
    return needed
