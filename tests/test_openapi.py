"""The OpenAPI document is generated from the routes and schemas: valid OpenAPI 3.1, every route
in it, codes as enums taken from the guides served, and the access it documents is the access the
service enforces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from marshmallow import Schema, fields
from openapi_spec_validator import validate

from rules.model import CONSENT_PARTIES, LANGUAGES, ROLES, SUBJECT_KINDS
from schemas.decision import DecisionSchema
from schemas.errors import ErrorCode
from schemas.request import DecisionRequestSchema
from service.access import key_hash
from service.app import create_app

MUNICIPALITIES = Path(__file__).resolve().parent.parent / "municipalities"
DECISION_KEY, ADMIN_KEY = "decision-key-for-tests", "admin-key-for-tests"


@pytest.fixture(scope="module")
def document(client: FlaskClient) -> dict[str, Any]:
    resp = client.get("/openapi.json")
    assert resp.status_code == 200
    return resp.get_json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def client(app: Flask) -> Iterator[FlaskClient]:  # module scope: the document is built once
    with app.test_client() as c:
        yield c


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _component(document: dict[str, Any], name: str) -> dict[str, Any]:
    return document["components"]["schemas"][name]  # type: ignore[no-any-return]


def _enum_of(document: dict[str, Any], schema: str, prop: str) -> list[Any]:
    node = _component(document, schema)["properties"][prop]
    node = node.get("items", node)
    return node["enum"]  # type: ignore[no-any-return]


# --- valid ------------------------------------------------------------------------------------

def test_document_validates_as_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)  # openapi-spec-validator: raises on the first problem


def test_every_schema_is_valid_json_schema(document: dict[str, Any]) -> None:
    """Regression: nullable enums said ``"type": ["string", "null", "null"]`` (apispec added a second null)."""
    for name, schema in document["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
        for node in _walk(schema):
            types = node.get("type")
            if isinstance(types, list):
                assert len(types) == len(set(types)), (name, node)


# --- every route ------------------------------------------------------------------------------

def test_every_route_of_the_app_is_in_the_document(app: Flask, document: dict[str, Any]) -> None:
    """Regression: /v1/status and /metrics were missing from the hand-written paths."""
    listed = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    routes = set()
    for rule in app.url_map.iter_rules():
        path = rule.rule.replace("<path:", "<").replace("<", "{").replace(">", "}")
        routes |= {(path, method) for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    assert routes, "no routes?"
    assert routes == listed
    assert {"/v1/status", "/metrics", "/openapi.json", "/docs"} <= set(document["paths"])


def test_every_operation_states_its_contract(document: dict[str, Any]) -> None:
    """A route added without ``@documented`` is still listed, but marked; none may be."""
    for path, item in document["paths"].items():
        for method, op in item.items():
            assert "x-undocumented" not in op, f"{method.upper()} {path}: add @documented(...) to its view"
            assert op["operationId"] and op["summary"] and op["tags"], (path, method)
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("schema, component", [(DecisionRequestSchema, "DecisionRequest"),
                                               (DecisionSchema, "Decision")])
def test_the_document_follows_the_schemas(document: dict[str, Any], schema: type[Schema], component: str) -> None:
    """Every field of the wire schemas, nested ones too, is a property of the document: a field
    added to a schema appears without anyone editing the document."""
    def check(schema_cls: type[Schema] | Schema, name: str) -> None:
        instance = schema_cls() if isinstance(schema_cls, type) else schema_cls
        properties = _component(document, name)["properties"]
        assert set(properties) == set(instance.fields), name
        for field_name, field in instance.fields.items():
            inner = field.inner if isinstance(field, fields.List) else field
            if isinstance(inner, fields.Nested) and isinstance(inner.nested, type):
                prop = properties[field_name]
                ref = next(node["$ref"] for node in _walk(prop) if "$ref" in node)
                check(inner.nested, ref.rsplit("/", 1)[-1])

    check(schema, component)


# --- codes as enums -----------------------------------------------------------------------------

def test_error_codes_are_one_enumeration(document: dict[str, Any]) -> None:
    """Regression: the documented codes lacked unauthorized and forbidden."""
    assert _enum_of(document, "ErrorBody", "code") == [code.value for code in ErrorCode]
    described = {code for item in document["paths"].values() for op in item.values()
                 for status, response in op["responses"].items() if status >= "400"
                 for node in _walk(response) if "enum" in node and "code" not in node for code in node["enum"]}
    assert {"unauthorized", "forbidden", "guide_unavailable"} <= described


def test_codes_are_enums_from_the_catalog(client: FlaskClient, document: dict[str, Any]) -> None:
    catalog = client.get("/v1/catalog").get_json()
    codes = {section: [item["code"] for item in catalog[section]] for section in
             ("signals", "services", "steps", "forbidden", "roles", "consent_parties")}
    guides = sorted(m["id"] for m in client.get("/v1/municipalities").get_json()["municipalities"])
    local = list(dict.fromkeys(item["code"] for guide in guides if guide != "national"
                               for item in client.get(f"/v1/municipalities/{guide}").get_json()["local_services"]))
    assert local, "some bundled guides have local teams"
    signal = _component(document, "DecisionRequest")["properties"]["signals"]["items"]["oneOf"]
    assert signal[0]["enum"] == codes["signals"]
    assert signal[1]["properties"]["code"]["enum"] == codes["signals"]
    assert _enum_of(document, "Reporter", "service") == codes["services"] + local
    assert _enum_of(document, "Status", "services_involved") == codes["services"] + local
    assert _enum_of(document, "Subject", "kind") == list(SUBJECT_KINDS)
    assert _enum_of(document, "DecisionStep", "code") == codes["steps"]
    assert set(_enum_of(document, "DecisionStep", "kind")) == {s["kind"] for s in catalog["steps"]}
    assert _enum_of(document, "DecisionForbidden", "code") == codes["forbidden"]
    assert _enum_of(document, "DecisionActor", "service") == codes["services"] + local
    assert _enum_of(document, "DecisionActor", "role") == list(ROLES) == codes["roles"]
    assert _enum_of(document, "Explanation", "signals") == codes["signals"]
    assert _enum_of(document, "ConsentOutcome", "required_from") == [*CONSENT_PARTIES, None]
    assert _enum_of(document, "Decision", "lang") == list(LANGUAGES)


# --- access: documented = enforced --------------------------------------------------------------

@pytest.fixture(scope="module")
def keyed_app() -> Flask:
    return create_app({"TESTING": True, "BTI_MUNICIPALITIES": str(MUNICIPALITIES),
                       "BTI_API_KEYS": key_hash(DECISION_KEY), "BTI_ADMIN_KEY": key_hash(ADMIN_KEY)})


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, op in item.items():
            yield path.replace("{municipality}", "national").replace("{filename}", "pages.css"), method, op


def test_the_documented_access_is_the_enforced_access(keyed_app: Flask, document: dict[str, Any]) -> None:
    """With keys configured, exactly the operations documented with security answer 401 without a
    key, and the document lists 401 and 403 for them."""
    client = keyed_app.test_client()
    secured = []
    for path, method, op in _operations(document):
        with client.open(path, method=method.upper(), json={} if method == "post" else None) as resp:
            if "security" in op:
                secured.append(path)
                assert resp.status_code == 401, path
                assert resp.get_json()["error"]["code"] == "unauthorized"
                assert {"401", "403"} <= set(op["responses"]), path
            else:
                assert resp.status_code != 401, path
    assert sorted(secured) == sorted(["/v1/municipalities/national/decisions",
                                      "/v1/municipalities/national/decisions/batch", "/v1/status", "/metrics"])
    admin_only = client.get("/v1/status", headers={"Authorization": f"Bearer {DECISION_KEY}"})
    assert admin_only.status_code == 403
    assert client.get("/v1/status", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).status_code == 200


def test_documented_media_types_are_answered(client: FlaskClient, document: dict[str, Any]) -> None:
    for path, method, op in _operations(document):
        if method != "get":
            continue
        with client.get(path) as resp:
            content = op["responses"][str(resp.status_code)].get("content", {})
            assert resp.mimetype in content or "*/*" in content, (path, resp.mimetype, list(content))
