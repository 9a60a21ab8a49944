"""The decision response (docs/api.md, Response), the batch response and the other read endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields

from rules.model import CONSENT_PARTIES, LANGUAGES, ROLES
from schemas.errors import ErrorBodySchema


class RulesetSchema(Schema):
    version = fields.String(required=True)
    digest = fields.String(required=True, metadata={"example": "sha256:0c70…"})


class DecisionActorSchema(Schema):
    service = fields.String(required=True, metadata={"catalog": "services"})
    role = fields.String(required=True, metadata={"enum": list(ROLES)})
    label = fields.String(required=True)


class DecisionStepSchema(Schema):
    code = fields.String(required=True, metadata={"catalog": "steps"})
    kind = fields.String(required=True, metadata={"catalog": "step_kinds"})
    text = fields.String(required=True)
    legal_basis = fields.List(fields.String(), required=True,
                              metadata={"description": "statutes, regulations and conventions in force, with the "
                                                       "section; empty when no law requires or permits the step"})
    guidance = fields.List(fields.String(), required=True,
                           metadata={"description": "professional sources that recommend the step (not law)"})
    due_days = fields.Integer(allow_none=True, required=True,
                              metadata={"description": "days within which to do it; 0 = today; null = no deadline"})


class DecisionForbiddenSchema(Schema):
    code = fields.String(required=True, metadata={"catalog": "forbidden"})
    text = fields.String(required=True)
    legal_basis = fields.List(fields.String(), required=True)
    guidance = fields.List(fields.String(), required=True)


class ConsentOutcomeSchema(Schema):
    required_from = fields.String(allow_none=True, required=True, metadata={"enum": list(CONSENT_PARTIES)})
    satisfied = fields.Boolean(required=True)
    blocks_level = fields.Integer(allow_none=True, required=True)


class ExplanationSchema(Schema):
    rule = fields.String(required=True, metadata={"example": "national.levels.escalate_one_level"})
    title = fields.String(required=True)
    because = fields.String(required=True)
    signals = fields.List(fields.String(metadata={"catalog": "signals"}), required=True)


class DecisionSchema(Schema):
    decision_id = fields.String(required=True)
    municipality = fields.String(required=True)
    ruleset = fields.Nested(RulesetSchema, required=True)
    lang = fields.String(required=True, metadata={"enum": list(LANGUAGES)})
    level = fields.Integer(required=True, metadata={"minimum": 0, "maximum": 3})
    level_name = fields.String(required=True)
    urgent = fields.Boolean(required=True)
    actors = fields.List(fields.Nested(DecisionActorSchema), required=True)
    steps = fields.List(fields.Nested(DecisionStepSchema), required=True)
    forbidden = fields.List(fields.Nested(DecisionForbiddenSchema), required=True)
    consent = fields.Nested(ConsentOutcomeSchema, required=True)
    explanation = fields.List(fields.Nested(ExplanationSchema), required=True)


class BatchItemSchema(Schema):
    index = fields.Integer(required=True)
    decision = fields.Nested(DecisionSchema)
    error = fields.Nested(ErrorBodySchema)


class BatchResponseSchema(Schema):
    decisions = fields.List(fields.Nested(BatchItemSchema), required=True)


class MunicipalitySummarySchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    version = fields.String(required=True)
    digest = fields.String(required=True)


class MunicipalityListSchema(Schema):
    municipalities = fields.List(fields.Nested(MunicipalitySummarySchema), required=True)


class LabelledSchema(Schema):
    code = fields.String(required=True)
    label = fields.String(required=True)


class MunicipalitySchema(MunicipalitySummarySchema):
    extends = fields.String(allow_none=True)
    date = fields.String(allow_none=True, metadata={"description": "when this version was adopted"})
    languages = fields.List(fields.String())
    settings = fields.Dict()
    levels = fields.List(fields.Nested(LabelledSchema))
    local_services = fields.List(fields.Nested(LabelledSchema))
    rules = fields.List(fields.Dict())


class CatalogSchema(Schema):
    lang = fields.String(required=True)
    levels = fields.List(fields.Dict(), required=True)
    services = fields.List(fields.Dict(), required=True)
    signals = fields.List(fields.Dict(), required=True)
    strengths = fields.List(fields.Dict(), required=True)
    steps = fields.List(fields.Dict(), required=True)
    forbidden = fields.List(fields.Dict(), required=True)
    roles = fields.List(fields.Dict(), required=True)
    consent_parties = fields.List(fields.Dict(), required=True)
