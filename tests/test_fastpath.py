"""The fast validation path (schemas/fastpath.py): it never accepts a body marshmallow refuses, gives
the same case for what it accepts, and its JSON Schema is derived from the marshmallow schema."""

from __future__ import annotations

import copy
import dataclasses
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_dump, post_load, validate, validates
from marshmallow.experimental.context import Context

from rules.case import Case
from rules.loader import Registry
from rules.model import CONSENT_ANSWERS, MEASURES, NATIONAL, RESPONSIBILITIES, STRENGTHS, SUBJECT_KINDS, Guide
from schemas.fastpath import REQUEST_JSON_SCHEMA, UnsupportedSchemaError, derive, fast_case, scan_needed
from schemas.privacy import identity_numbers, is_identity_number
from schemas.request import MAX_SERVICES, MAX_SIGNALS, Bool, DecisionRequestSchema, Int, SignalField, StatusSchema
from service.api import parse_case
from service.http import ApiError
from tests.conftest import MUNICIPALITIES
from toolkit.scenarios import discover

EXAMPLES = int(os.environ.get("BTI_FASTPATH_EXAMPLES", "300"))
SCHEMA = DecisionRequestSchema()
VALID: dict[str, Any] = {
    "subject": {"kind": "child", "age": 9}, "reporter": {"service": "school"},
    "signals": [{"code": "school_absence", "strength": "concern"}, "withdrawn"],
    "family": {"parental_responsibility": "shared"}, "consent": {"parents": "given", "subject": "not_asked"},
    "status": {"current_level": 1, "measures_effective": "no", "services_involved": ["ppt", "school"],
               "complex_long_term_needs": False},
}
# synthetic identity numbers (right check digits; month 81 is a test number no person has)
IDENTITY_NUMBER = "01819010192"
IDENTITY_INT = next(n for n in range(41819010100, 41819010200) if is_identity_number(str(n)))


def marshmallow_case(guide: Guide, body: Any) -> Case | None:
    try:
        with Context({"guide": guide}):
            case: Case = SCHEMA.load(body)
    except ValidationError:
        return None
    return case


def assert_agrees(guide: Guide, body: Any) -> Case | None:
    """The property: fast accepts ⇒ marshmallow accepts the same case, and nothing is left to scan."""
    fast = fast_case(guide, body)
    if fast is not None:
        assert marshmallow_case(guide, body) == fast, body
        if not scan_needed(guide):
            assert not list(identity_numbers(body)), body
    return fast


# --- near-valid bodies: a valid body, then zero to three mutations -------------------------------

NEAR_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 60), st.integers(min_value=2**62, max_value=2**80),
    st.integers(max_value=-2**62, min_value=-2**80), st.floats(allow_nan=False), st.sampled_from([0.0, 1.0, 9.0, -0.0]),
    st.text(max_size=6), st.sampled_from(["", " ", "child", "School", "ppt ", "concern", "1.1", "nåtid", "ü\u0301",
                                          IDENTITY_NUMBER, str(IDENTITY_INT), "pregnancy_violence", "midwife"]),
    st.just(IDENTITY_INT), st.just([]), st.just({}))
JUNK = st.recursive(NEAR_VALUES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                             max_size=3), max_leaves=4)


@st.composite
def valid_bodies(draw: st.DrawFn, guide: Guide) -> dict[str, Any]:
    """A body marshmallow accepts, built from the rules of docs/api.md (Request)."""
    catalog, limits = guide.catalog, guide.settings
    kind = draw(st.sampled_from(SUBJECT_KINDS))
    ages = ((limits.child_age_min, limits.child_age_max) if kind == "child"
            else (limits.pregnant_age_min, limits.pregnant_age_max))
    codes = st.sampled_from(sorted(c for c, info in catalog.signals.items() if kind in info.subjects))
    signal = st.one_of(codes, st.builds(lambda c: {"code": c}, codes),
                       st.builds(lambda c, s: {"code": c, "strength": s}, codes, st.sampled_from([*STRENGTHS, None])))
    body: dict[str, Any] = {
        "subject": {"kind": kind, "age": draw(st.integers(*ages))},
        "reporter": {"service": draw(st.sampled_from(sorted(c for c, s in catalog.services.items() if s.reports)))},
        "signals": draw(st.lists(signal, min_size=1, max_size=6))}

    def optional(key: str, value: dict[str, Any]) -> None:
        form = draw(st.sampled_from(["absent", "null", "empty", "given"]))
        if form != "absent":
            body[key] = None if form == "null" else {} if form == "empty" else value

    responsibility = draw(st.sampled_from([None, *RESPONSIBILITIES]))
    optional("family", {"parental_responsibility": responsibility})
    shared = body.get("family") in (None, {}) or responsibility in (None, "shared")
    parents = [None, *CONSENT_ANSWERS[:4], *(["partial"] if shared else [])]
    optional("consent", {"parents": draw(st.sampled_from(parents)),
                         "subject": draw(st.sampled_from([None, *CONSENT_ANSWERS[:4]]))})
    level = draw(st.sampled_from([None, 0, 1, 2, 3]))
    steps = [s.id for s in guide.pathway.levels[level].steps] if level in guide.pathway.levels else []
    status = {"current_level": level,
              "measures_effective": None if level is None else draw(st.sampled_from([None, *MEASURES])),
              "step": draw(st.sampled_from([None, *steps])) if level is not None else None,
              "services_involved": draw(st.none() | st.lists(st.sampled_from(sorted(catalog.services)), max_size=4)),
              "complex_long_term_needs": draw(st.sampled_from([None, True, False]))}
    optional("status", {k: v for k, v in status.items() if v is not None or draw(st.booleans())})
    return body


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path in a body (the body itself: ``()``)."""
    inner = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    return [path, *(p for key, item in inner for p in _places(item, (*path, key)))]


SUITS = {"replace": lambda v: True, "remove": lambda v: True, "unknown key": lambda v: isinstance(v, dict),
         "float": lambda v: type(v) is int, "bool": lambda v: type(v) is int,
         "repeat": lambda v: isinstance(v, list) and bool(v), "grow": lambda v: isinstance(v, list) and bool(v)}


@st.composite
def mutated(draw: st.DrawFn, body: dict[str, Any]) -> Any:
    """``body`` with one thing wrong or odd: a value replaced, a key removed or added, a number as a float
    or a bool, a list item repeated, a list grown to its limit or past it; or no body at all."""
    if draw(st.integers(0, 15)) == 0:
        return draw(JUNK)
    body = copy.deepcopy(body)
    change = draw(st.sampled_from(sorted(SUITS)))
    paths = [p for p in _places(body)[1:] if SUITS[change](_at(body, p))]
    if not paths:
        return body
    path = draw(st.sampled_from(paths))
    parent, key = _at(body, path[:-1]), path[-1]
    value = parent[key]
    if change == "replace":
        parent[key] = draw(JUNK)
    elif change == "remove":
        del parent[key]
    elif change == "unknown key":
        value[draw(st.sampled_from(["extra", "Kind", "ägé", "code", "services", "strength"]))] = draw(JUNK)
    elif change in ("float", "bool"):
        parent[key] = float(value) if change == "float" else bool(value)
    elif change == "repeat":
        value.extend(value[:draw(st.integers(1, len(value)))])
    else:
        limit = MAX_SIGNALS if key == "signals" else MAX_SERVICES
        value.extend([value[0]] * (draw(st.sampled_from([limit, limit + 1])) - len(value)))
    return body


def _at(body: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        body = body[key]
    return body


@st.composite
def near_valid_bodies(draw: st.DrawFn, guide: Guide) -> Any:
    body: Any = draw(valid_bodies(guide))
    for _ in range(draw(st.sampled_from([0, 1, 1, 2, 3]))):
        if not isinstance(body, dict):
            break
        body = draw(mutated(body))
    return body


@pytest.mark.parametrize("guide_id", [NATIONAL, "larvik", "risor"])
@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_fast_path_never_accepts_what_marshmallow_refuses(registry: Registry, guide_id: str,
                                                          data: st.DataObject) -> None:
    guide = registry.guides[guide_id]
    assert_agrees(guide, data.draw(near_valid_bodies(guide)))


def _with(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """VALID with the value at ``path`` replaced (``...``: the key removed)."""
    body: Any = {k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
                 for k, v in VALID.items()}
    parent = body
    for key in path[:-1]:
        parent[key] = dict(parent[key]) if isinstance(parent[key], dict) else list(parent[key])
        parent = parent[key]
    if value is ...:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return body


REFUSED = {
    "age a float": _with(("subject", "age"), 9.0),
    "age a bool": _with(("subject", "age"), True),
    "age a string": _with(("subject", "age"), "9"),
    "age huge": _with(("subject", "age"), 2**70),
    "age out of the guide's range": _with(("subject", "age"), 26),
    "age missing": _with(("subject", "age"), ...),
    "kind unknown": _with(("subject", "kind"), "Child"),
    "reporter not a service": _with(("reporter", "service"), "skole"),
    "reporter who never reports": _with(("reporter", "service"), "emergency_medical"),
    "unknown key at the top": _with(("note",), "x"),
    "unknown key in status": _with(("status", "extra"), 1),
    "signals empty": _with(("signals",), []),
    "signals over the limit": _with(("signals",), ["withdrawn"] * (MAX_SIGNALS + 1)),
    "signal unknown": _with(("signals", 1), "withdrawnn"),
    "signal of pregnancy for a child": _with(("signals", 1), "pregnancy_substance_use"),
    "signal strength unknown": _with(("signals", 0, "strength"), "strong"),
    "signal object without code": _with(("signals", 0), {"strength": "concern"}),
    "signal object with unknown key": _with(("signals", 0), {"code": "withdrawn", "why": "x"}),
    "level a float": _with(("status", "current_level"), 1.0),
    "level out of range": _with(("status", "current_level"), 4),
    "level a bool": _with(("status", "current_level"), True),
    "services over the limit": _with(("status", "services_involved"), ["ppt"] * (MAX_SERVICES + 1)),
    "services with an unknown code": _with(("status", "services_involved"), ["ppt", "pptt"]),
    "needs as an int": _with(("status", "complex_long_term_needs"), 0),
    "step without a level": _with(("status",), {"step": "1.1"}),
    "step not of the level": _with(("status", "step"), "9.9"),
    "step an identity number": _with(("status", "step"), IDENTITY_NUMBER),
    "partial consent without shared responsibility": {**VALID, "family": {"parental_responsibility": "one_parent"},
                                                      "consent": {"parents": "partial"}},
    "measures without a level": _with(("status",), {"measures_effective": "no"}),
    "not an object": ["subject"],
    "bytes": _with(("reporter", "service"), b"school"),
    "a key that is not text": {**VALID, 1: 2},
}


@pytest.mark.parametrize("body", REFUSED.values(), ids=REFUSED.keys())
def test_fast_path_refuses_what_marshmallow_refuses(guide: Guide, body: Any) -> None:
    assert marshmallow_case(guide, body) is None, "the table needs a body marshmallow refuses"
    assert fast_case(guide, body) is None


ACCEPTED = {
    "the documented example": VALID,
    "no optional object": {k: VALID[k] for k in ("subject", "reporter", "signals")},
    "optional objects null": {**VALID, "family": None, "consent": None, "status": None},
    "optional fields null": {**VALID, "status": {"current_level": None, "step": None, "services_involved": None,
                                                 "measures_effective": None, "complex_long_term_needs": None}},
    "empty optional objects": {**VALID, "family": {}, "consent": {}, "status": {}},
    "a signal twice, the stronger kept": _with(("signals",), ["withdrawn", {"code": "withdrawn",
                                                                            "strength": "reason_to_believe"}]),
    "strength null": _with(("signals",), [{"code": "withdrawn", "strength": None}]),
    "the reporter among the services involved": _with(("status", "services_involved"), ["school", "ppt", "ppt"]),
    "signals at the limit": _with(("signals",), ["withdrawn"] * MAX_SIGNALS),
    "services at the limit": _with(("status", "services_involved"), ["ppt"] * MAX_SERVICES),
    "a step of the level": _with(("status", "step"), "1.1"),
    "a pregnant woman": {"subject": {"kind": "pregnant", "age": 30}, "reporter": {"service": "gp"},
                         "signals": ["pregnancy_substance_use"]},
}


@pytest.mark.parametrize("body", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_fast_path_accepts_valid_bodies_with_the_same_case(guide: Guide, body: dict[str, Any]) -> None:
    expected = marshmallow_case(guide, body)
    assert expected is not None, "the table needs a body marshmallow accepts"
    assert fast_case(guide, body) == expected


def test_every_scenario_request_agrees(registry: Registry) -> None:
    """Every request of the bundled scenarios (valid or not): the property holds, and each valid one
    takes the fast path (else the speed-up would be lost without a test noticing)."""
    accepted = 0
    for scenario in discover(MUNICIPALITIES):
        guide = registry.guides.get(scenario.guide)
        if guide is None:
            continue
        fast = assert_agrees(guide, scenario.request)
        if marshmallow_case(guide, scenario.request) is not None:
            assert fast is not None, f"{scenario.guide}: {scenario.request}"
            accepted += 1
    assert accepted > 100


def test_python_values_json_has_no_form_for_go_to_marshmallow(guide: Guide) -> None:
    """Through the embedding API a body may hold a set or a tuple, which marshmallow takes as a list."""
    for services in ({"ppt"}, ("ppt", "school")):
        body = _with(("status", "services_involved"), services)
        assert parse_case(guide, body) == marshmallow_case(guide, body) is not None
        assert_agrees(guide, body)


# --- the identity-number scan --------------------------------------------------------------------

def test_step_holding_an_identity_number_gets_the_identity_number_error(guide: Guide) -> None:
    with pytest.raises(ApiError) as raised:
        parse_case(guide, _with(("status", "step"), IDENTITY_NUMBER))
    assert [d["field"] for d in raised.value.details] == ["status.step"]
    assert raised.value.details[0]["message"].key.endswith("identity_number")


def test_a_guide_with_a_code_like_an_identity_number_keeps_the_scan(guide: Guide) -> None:
    """Such a code passes the fast path, so the scan must still run (and refuse the body)."""
    code = f"team{IDENTITY_NUMBER}"
    services = {**guide.catalog.services, code: guide.catalog.services["school"]}
    odd = dataclasses.replace(guide, catalog=dataclasses.replace(guide.catalog, services=services))
    body = _with(("reporter", "service"), code)
    assert not scan_needed(guide) and scan_needed(odd)
    assert fast_case(odd, body) is not None
    with pytest.raises(ApiError) as raised:
        parse_case(odd, body)
    assert [d["field"] for d in raised.value.details] == ["reporter.service"]


# --- one schema source ---------------------------------------------------------------------------

def _keys(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: _keys(v) if v.get("type") in ("object", ["object", "null"]) else None
            for k, v in schema["properties"].items()}


def _fields(schema: Schema) -> dict[str, Any]:
    return {k: _fields(f.schema) if isinstance(f, fields.Nested) else None for k, f in schema.load_fields.items()}


def test_json_schema_has_the_marshmallow_schemas_fields() -> None:
    assert _keys(REQUEST_JSON_SCHEMA) == _fields(SCHEMA)


def test_json_schema_follows_a_change_of_the_marshmallow_schema() -> None:
    class NarrowerStatusSchema(StatusSchema):
        current_level = Int(1, 2, allow_none=True, load_default=None)
        urgent = Bool(required=True)

    class ChangedSchema(DecisionRequestSchema):
        signals = fields.List(SignalField(), required=True, validate=validate.Length(2, 7))
        status = fields.Nested(NarrowerStatusSchema, required=True)
        weeks = Int(0, 40, allow_none=True, data_key="weeks_pregnant")

    before, after = REQUEST_JSON_SCHEMA["properties"], derive(ChangedSchema)[0]["properties"]
    assert (before["signals"]["minItems"], before["signals"]["maxItems"]) == (1, MAX_SIGNALS)
    assert (after["signals"]["minItems"], after["signals"]["maxItems"]) == (2, 7)
    assert after["weeks_pregnant"] == {"type": ["integer", "null"], "minimum": 0, "maximum": 40}
    assert "status" not in REQUEST_JSON_SCHEMA["required"] and "status" in derive(ChangedSchema)[0]["required"]
    assert after["status"]["properties"]["current_level"]["maximum"] == 2
    with pytest.raises(UnsupportedSchemaError, match="Boolean"):  # marshmallow's Boolean takes "yes": not ours
        derive(type("S", (DecisionRequestSchema,), {"x": fields.Boolean()}))


class _Hooked(DecisionRequestSchema):
    @validates("subject")
    def _check(self, value: Any, **kwargs: Any) -> None: ...


class _Loading(DecisionRequestSchema):
    @post_load
    def _more(self, data: Any, **kwargs: Any) -> Any:
        return data


class _Dumping(DecisionRequestSchema):
    """Dump hooks do not take part in loading."""

    @post_dump
    def _out(self, data: Any, **kwargs: Any) -> Any:
        return data


UNSUPPORTED = {
    "a float field": (type("S", (DecisionRequestSchema,), {"x": fields.Float()}), "Float"),
    "a dict field": (type("S", (DecisionRequestSchema,), {"x": fields.Dict()}), "Dict"),
    "an unknown validator": (type("S", (DecisionRequestSchema,), {"x": Int(validate=validate.Equal(3))}), "Equal"),
    "unknown keys excluded": (type("S", (DecisionRequestSchema,), {"Meta": type("Meta", (), {"unknown": EXCLUDE})}),
                              "unknown=exclude"),
    "a field validator hook": (_Hooked, "_check"),
    "a second post_load hook": (_Loading, "_more"),
}


@pytest.mark.parametrize(("schema_class", "named"), UNSUPPORTED.values(), ids=UNSUPPORTED.keys())
def test_deriving_fails_loudly_on_what_it_cannot_express(schema_class: type[Schema], named: str) -> None:
    with pytest.raises(UnsupportedSchemaError, match=named):
        derive(schema_class)


def test_dump_hooks_do_not_matter() -> None:
    assert derive(_Dumping)[0] == REQUEST_JSON_SCHEMA
