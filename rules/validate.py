"""Validate a parsed rule file against the grammar (:mod:`rules.grammar`): every error
marshmallow reports becomes a :class:`~rules.errors.Problem` with its file, line and YAML path,
and an unknown key gets the closest valid keys as suggestions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields
from marshmallow.experimental.context import Context

from rules.errors import Problem, RuleFileError
from rules.grammar import CatalogFileSchema, GuideFileSchema, RuleFileSchema
from rules.messages import closest, flatten
from rules.yamlsource import Document, format_path


def _schema_keys(schema: type[Schema]) -> set[str]:
    keys: set[str] = set()
    for name, fld in schema._declared_fields.items():
        keys.add(name)
        nested = getattr(fld, "nested", None) or getattr(getattr(fld, "inner", None), "nested", None)
        if isinstance(nested, type) and issubclass(nested, Schema):
            keys |= _schema_keys(nested)
    return keys


KNOWN_KEYS = sorted(_schema_keys(CatalogFileSchema) | _schema_keys(GuideFileSchema) | _schema_keys(RuleFileSchema))


def _keys_at(schema: Schema, path: tuple[str | int, ...]) -> list[str]:
    """The keys valid at ``path`` under ``schema`` (for "did you mean" on an unknown key)."""
    current: Any = schema
    for part in path:
        if isinstance(current, Schema):
            current = current.fields.get(str(part)) if isinstance(part, str) else None
        elif isinstance(current, fields.List):
            current = current.inner
            if not isinstance(part, int):
                return []
            continue
        elif isinstance(current, fields.Dict):
            current = current.value_field
            continue
        if isinstance(current, fields.Nested):
            current = current.schema
        if current is None:
            return []
    if isinstance(current, fields.List) and isinstance(current.inner, fields.Nested):
        current = current.inner.schema
    return list(current.fields) if isinstance(current, Schema) else []


def validate_document(schema: Schema, doc: Document, context: Mapping[str, Any] | None = None,
             data: Any = None, prefix: tuple[str | int, ...] = ()) -> Any:
    """Load ``data`` (default: the whole document) with ``schema``; every error becomes a
    Problem with its line; ``prefix`` is where ``data`` sits in the document."""
    data = doc.data if data is None and not prefix else data
    try:
        with Context(dict(context or {})):
            return schema.load(data if data is not None else {})
    except ValidationError as exc:
        problems = []
        for path, message, suggestions in flatten(exc.messages):
            key = str(path[-1]) if path else ""
            message_key = getattr(message, "key", None)
            if message_key == "unknown_field":
                message = f"unknown key {key!r}"
                suggestions = tuple(closest(key, _keys_at(schema, path[:-1]) or KNOWN_KEYS))
            elif message_key == "required":
                message = f"missing: {key} is required here"
            full = (*prefix, *path)
            problems.append(Problem(doc.file, doc.line_of(full), format_path(full), message, suggestions))
        raise RuleFileError(problems) from None
