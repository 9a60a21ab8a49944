"""The error envelope: every ``error.code`` the API can answer with, and its schema.

``ErrorCode`` is the one list of codes: ``service.http.ApiError`` takes one, ``ErrorBodySchema``
documents them as an enum, and the OpenAPI document says which status carries which codes.
"""

from __future__ import annotations

from enum import StrEnum

from marshmallow import Schema, fields

from schemas.i18n import api_key


class ErrorCode(StrEnum):
    """A stable machine code of an error response (docs/api.md lists them for people); each code
    is also the key of the envelope's message in the ``api`` catalogues."""

    MALFORMED_JSON = api_key("malformed_json")
    BAD_REQUEST = api_key("bad_request")
    UNAUTHORIZED = api_key("unauthorized")
    FORBIDDEN = api_key("forbidden")
    NOT_FOUND = api_key("not_found")
    UNKNOWN_MUNICIPALITY = api_key("unknown_municipality")
    METHOD_NOT_ALLOWED = api_key("method_not_allowed")
    PAYLOAD_TOO_LARGE = api_key("payload_too_large")
    UNSUPPORTED_MEDIA_TYPE = api_key("unsupported_media_type")
    RANGE_NOT_SATISFIABLE = api_key("range_not_satisfiable")
    INVALID_REQUEST = api_key("invalid_request")
    INTERNAL_ERROR = api_key("internal_error")
    GUIDE_UNAVAILABLE = api_key("guide_unavailable")

    @property
    def status(self) -> int:
        """The HTTP status the code is answered with."""
        return _STATUS[self]

    @property
    def meaning(self) -> str:
        """One line for the OpenAPI document."""
        return _MEANING[self]


_STATUS = {
    ErrorCode.MALFORMED_JSON: 400,
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.UNKNOWN_MUNICIPALITY: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.RANGE_NOT_SATISFIABLE: 416,
    ErrorCode.INVALID_REQUEST: 422,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.GUIDE_UNAVAILABLE: 503,
}
_MEANING = {
    ErrorCode.MALFORMED_JSON: "the body is not JSON (also duplicate keys, NaN, invalid UTF-8, an empty body)",
    ErrorCode.BAD_REQUEST: "the request could not be read as HTTP (e.g. a chunked body with a bad chunk size); "
                           "also any other client error of the HTTP layer, with its own status",
    ErrorCode.UNAUTHORIZED: "no valid API key (only when keys are configured); WWW-Authenticate says how",
    ErrorCode.FORBIDDEN: "the key is valid, but not for this endpoint (a decision key on an admin endpoint "
                         "or the other way round)",
    ErrorCode.NOT_FOUND: "no such path",
    ErrorCode.UNKNOWN_MUNICIPALITY: "no guide with this id; details suggest the closest ids",
    ErrorCode.METHOD_NOT_ALLOWED: "the path does not take this method; Allow lists those it takes",
    ErrorCode.PAYLOAD_TOO_LARGE: "the body is over 1 MiB",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "the body is not application/json in UTF-8",
    ErrorCode.RANGE_NOT_SATISFIABLE: "a Range header outside a static file",
    ErrorCode.INVALID_REQUEST: "the JSON does not describe a case this guide can decide (or ?lang= is not "
                               "supported); details list every problem",
    ErrorCode.INTERNAL_ERROR: "a bug: no decision was given",
    ErrorCode.GUIDE_UNAVAILABLE: "the guide's files did not load and no earlier version is served; the message "
                                 "names the guide, /v1/status says why",
}


def codes_for(status: int) -> list[ErrorCode]:
    """The codes answered with ``status``."""
    return [code for code in ErrorCode if code.status == status]


class ErrorDetailSchema(Schema):
    field = fields.String(required=True, metadata={
        "example": "signals[1].code", "description": "where: a path with dots and indices, \"\" for the body"})
    message = fields.String(required=True, metadata={"description": "what is wrong, in the response language"})
    suggestions = fields.List(fields.String(), required=True, metadata={
        "maxItems": 3, "description": "the closest valid values, best first (possibly none)"})


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"enum": [code.value for code in ErrorCode]})
    message = fields.String(required=True, metadata={"description": "for people, in the response language"})
    details = fields.List(fields.Nested(ErrorDetailSchema), required=True)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)
