"""The OpenAPI document, generated from the marshmallow schemas."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from schemas.decision import (
    BatchResponseSchema,
    CatalogSchema,
    DecisionSchema,
    MunicipalityListSchema,
    MunicipalitySchema,
)
from schemas.errors import ErrorSchema
from schemas.request import BatchRequestSchema, DecisionRequestSchema

ERRORS = {
    "400": "malformed_json: not JSON, duplicate keys, NaN, invalid UTF-8",
    "404": "unknown_municipality / not_found",
    "405": "method_not_allowed (with an Allow header)",
    "413": "payload_too_large: over 1 MiB",
    "415": "unsupported_media_type: not application/json in UTF-8",
    "422": "invalid_request: every problem in details",
}
LANG_PARAMS: list[dict[str, Any]] = [
    {"name": "lang", "in": "query", "required": False, "schema": {"type": "string", "enum": ["nb", "nn", "en"]},
     "description": "Language of texts, labels and messages; else Accept-Language, else nb."},
    {"name": "Accept-Language", "in": "header", "required": False, "schema": {"type": "string"}},
]
MUNICIPALITY = {"name": "municipality", "in": "path", "required": True, "schema": {"type": "string"},
                "description": "A guide id from GET /v1/municipalities (national is one)."}
EXAMPLE = {
    "subject": {"kind": "child", "age": 9},
    "reporter": {"service": "school"},
    "signals": [{"code": "school_absence", "strength": "concern"}, "withdrawn"],
    "family": {"parental_responsibility": "shared"},
    "consent": {"parents": "given", "subject": "not_asked"},
    "status": {"current_level": 1, "measures_effective": "no", "services_involved": ["ppt"],
               "complex_long_term_needs": False},
}


def _errors(*codes: str) -> dict[str, Any]:
    return {c: {"description": ERRORS[c], "content": {"application/json": {"schema": "Error"}}} for c in codes}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def build_spec() -> dict[str, Any]:
    spec = APISpec(
        title="BTI decision service", version="1", openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={"description": "Decisions under Norwegian municipalities' BTI action guides: level, actors, "
                             "steps with legal basis, forbidden actions, consent and why."},
    )
    for name, schema in [("DecisionRequest", DecisionRequestSchema), ("Decision", DecisionSchema),
                         ("BatchRequest", BatchRequestSchema), ("BatchResponse", BatchResponseSchema),
                         ("Error", ErrorSchema), ("MunicipalityList", MunicipalityListSchema),
                         ("Municipality", MunicipalitySchema), ("Catalog", CatalogSchema)]:
        spec.components.schema(name, schema=schema)
    body = {"required": True, "content": {"application/json": {"schema": "DecisionRequest", "example": EXAMPLE}}}
    spec.path("/v1/municipalities/{municipality}/decisions", operations={"post": {
        "summary": "Decide one case", "operationId": "decide",
        "parameters": [MUNICIPALITY, *LANG_PARAMS], "requestBody": body,
        "responses": {"200": _json("Decision", "The decision"), **_errors("400", "404", "405", "413", "415", "422")},
    }})
    spec.path("/v1/municipalities/{municipality}/decisions/batch", operations={"post": {
        "summary": "Decide 1 to 100 cases; a bad case does not fail the others", "operationId": "decideBatch",
        "parameters": [MUNICIPALITY, *LANG_PARAMS],
        "requestBody": {"required": True, "content": {"application/json": {"schema": "BatchRequest",
                                                                           "example": {"cases": [EXAMPLE]}}}},
        "responses": {"200": _json("BatchResponse", "One decision or error per case, by index"),
                      **_errors("400", "404", "405", "413", "415", "422")},
    }})
    spec.path("/v1/municipalities", operations={"get": {
        "summary": "The guides served", "operationId": "listMunicipalities", "parameters": LANG_PARAMS,
        "responses": {"200": _json("MunicipalityList", "Guides with version and digest"), **_errors("422")},
    }})
    spec.path("/v1/municipalities/{municipality}", operations={"get": {
        "summary": "One guide: settings, levels, rules", "operationId": "getMunicipality",
        "parameters": [MUNICIPALITY, *LANG_PARAMS],
        "responses": {"200": _json("Municipality", "The guide"), **_errors("404", "422")},
    }})
    spec.path("/v1/catalog", operations={"get": {
        "summary": "Every code with its label, steps with text and legal basis", "operationId": "getCatalog",
        "parameters": LANG_PARAMS, "responses": {"200": _json("Catalog", "The national catalog"), **_errors("422")},
    }})
    spec.path("/healthz", operations={"get": {"summary": "The process is up", "operationId": "healthz",
                                              "responses": {"200": {"description": "up"}}}})
    spec.path("/readyz", operations={"get": {"summary": "Every guide is compiled", "operationId": "readyz",
                                             "responses": {"200": {"description": "ready"},
                                                           "503": {"description": "not every guide loaded"}}}})
    document = spec.to_dict()
    # A batch's cases are validated one by one, so that one bad case does not fail the others
    # (docs/api.md, Batch decisions): at the batch level any value is accepted as a case, and the document says so.
    batch = document["components"]["schemas"]["BatchRequest"]["properties"]["cases"]
    batch["items"] = {"description": "a DecisionRequest (#/components/schemas/DecisionRequest); each case is "
                                     "validated on its own and an invalid one is answered with an error at its "
                                     "index instead of failing the batch"}
    return document
