"""The operators' endpoints: /healthz, /readyz and /v1/status (docs/operations.md)."""

from __future__ import annotations

from marshmallow import Schema, fields


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok"]})


class GuideVersionSchema(Schema):
    version = fields.String(required=True)
    digest = fields.String(required=True, metadata={"example": "sha256:0c70…"})


class ReadinessSchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ready", "not_ready"]})
    guides = fields.Dict(keys=fields.String(), values=fields.Nested(GuideVersionSchema), required=True,
                         metadata={"description": "the guides served, by id"})
    failed = fields.List(fields.String(), required=True,
                         metadata={"description": "ids of guides with files but no version served (they do not "
                                                  "make the service not ready unless another worker serves them)"})


class ReloadErrorSchema(Schema):
    at = fields.String(required=True, metadata={"format": "date-time"})
    problems = fields.List(fields.String(), required=True,
                           metadata={"description": "file:line: what is wrong, one per problem"})


class GuideStatusSchema(Schema):
    version = fields.String(required=True, allow_none=True)
    digest = fields.String(required=True, allow_none=True)
    loaded_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    reloads = fields.Integer(required=True, metadata={"minimum": 0})
    serving = fields.Boolean(required=True)
    last_reload_error = fields.Nested(ReloadErrorSchema, required=True, allow_none=True,
                                      metadata={"description": "the last change that was refused, if the "
                                                               "version serving is older than the files"})


class RefusedFolderSchema(Schema):
    folder = fields.String(required=True)
    reason = fields.String(required=True)


class ServiceStatusSchema(Schema):
    ready = fields.Boolean(required=True)
    reload_interval = fields.Float(required=True, metadata={"description": "seconds; 0 = no reloading"})
    reload_errors = fields.Integer(required=True, metadata={"minimum": 0})
    guides = fields.Dict(keys=fields.String(), values=fields.Nested(GuideStatusSchema), required=True)
    refused_folders = fields.List(fields.Nested(RefusedFolderSchema), required=True,
                                  metadata={"description": "folders of the rule folder that are not guides "
                                                           "(a name that is no guide id, no guide.yaml): not loaded"})
