"""The decision response (docs/api.md, Response), the batch response and the other read endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields

from rules.model import CONSENT_PARTIES, GUIDE_STATUSES, LANGUAGES, ROLES
from rules.pathway import DUE_FROM, FAMILY_ATTENDS, OUTCOME_GO, OUTCOME_WHEN, STEP_STATUSES, TOOL_KINDS, WHO_KINDS
from schemas.errors import ErrorBodySchema


class RulesetSchema(Schema):
    version = fields.String(required=True)
    digest = fields.String(required=True, metadata={"example": "sha256:0c70…"})
    status = fields.String(required=True, metadata={"enum": list(GUIDE_STATUSES),
                                                    "description": "adopted by the municipality, draft or example"})


class DecisionActorSchema(Schema):
    service = fields.String(required=True, metadata={"catalog": "services"})
    role = fields.String(required=True, metadata={"enum": list(ROLES)})
    label = fields.String(required=True)


class ContactOutSchema(Schema):
    label = fields.String(required=True)
    phone = fields.String(allow_none=True, required=True, metadata={"example": "02800"})
    url = fields.String(allow_none=True, required=True)


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
    contact = fields.Nested(ContactOutSchema, allow_none=True, required=True,
                            metadata={"description": "the guide's phone number or web address for this step"})


class ToolOutSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    url = fields.String(allow_none=True, required=True)


class PathwayOutcomeSchema(Schema):
    when = fields.String(required=True, metadata={"enum": list(OUTCOME_WHEN),
                                                  "description": "the evaluation's answer (measures_effective)"})
    go = fields.String(required=True, metadata={"enum": list(OUTCOME_GO)})
    step = fields.String(allow_none=True, required=True, metadata={"description": "with go: back, the step"})
    text = fields.String(required=True)


class PathwayStepSchema(Schema):
    id = fields.String(required=True, metadata={"example": "1.4"})
    number = fields.Integer(required=True, metadata={"minimum": 1})
    title = fields.String(required=True)
    text = fields.String(required=True)
    who = fields.List(fields.Nested(DecisionActorSchema), required=True)
    due_days = fields.Integer(allow_none=True, required=True)
    due_from = fields.String(allow_none=True, required=True, metadata={"enum": list(DUE_FROM)})
    tools = fields.List(fields.Nested(ToolOutSchema), required=True)
    outcomes = fields.List(fields.Nested(PathwayOutcomeSchema), required=True)
    status = fields.String(required=True, metadata={"enum": list(STEP_STATUSES)})


class TeamOutSchema(Schema):
    service = fields.String(required=True)
    label = fields.String(required=True)
    text = fields.String(allow_none=True, required=True)
    url = fields.String(allow_none=True, required=True)


class PathwayOutSchema(Schema):
    level = fields.Integer(required=True, metadata={"minimum": 0, "maximum": 3})
    title = fields.String(required=True)
    paused = fields.Boolean(required=True, metadata={
        "description": "the decision is urgent or the parents are suspected: the guide's steps wait (steps empty)"})
    steps = fields.List(fields.Nested(PathwayStepSchema), required=True)
    teams = fields.List(fields.Nested(TeamOutSchema), required=True)


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
    pathway = fields.Nested(PathwayOutSchema, required=True)


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
    status = fields.String(required=True, metadata={"enum": list(GUIDE_STATUSES)})


class MunicipalityListSchema(Schema):
    municipalities = fields.List(fields.Nested(MunicipalitySummarySchema), required=True)


class LabelledSchema(Schema):
    code = fields.String(required=True)
    label = fields.String(required=True)


class GuideWhoSchema(Schema):
    kind = fields.String(required=True, metadata={"enum": [*WHO_KINDS, "service"]})
    service = fields.String(allow_none=True, required=True)
    role = fields.String(allow_none=True, required=True, metadata={"enum": list(ROLES)})
    label = fields.String(allow_none=True, required=True,
                          metadata={"description": "null for the relay holder: the title depends on the reporter"})


class GuideDeadlineSchema(Schema):
    when = fields.String(required=True, metadata={"description": "the condition, in the rule language's words"})
    days = fields.Integer(required=True)


class GuideStepSchema(Schema):
    id = fields.String(required=True)
    number = fields.Integer(required=True)
    title = fields.String(required=True)
    text = fields.String(required=True)
    who = fields.List(fields.Nested(GuideWhoSchema), required=True)
    due_days = fields.Integer(allow_none=True, required=True)
    due_from = fields.String(allow_none=True, required=True, metadata={"enum": list(DUE_FROM)})
    due_if = fields.List(fields.Nested(GuideDeadlineSchema), required=True,
                         metadata={"description": "deadlines that replace due_days when their condition holds"})
    tools = fields.List(fields.String(), required=True, metadata={"description": "ids in tools"})
    outcomes = fields.List(fields.Nested(PathwayOutcomeSchema), required=True)
    applies_when = fields.String(allow_none=True, required=True,
                                 metadata={"description": "the step's condition in words; null: always"})
    reporters = fields.List(fields.String(), required=True,
                            metadata={"description": "the reporting services the step can apply to"})


class GuideLevelSchema(Schema):
    level = fields.Integer(required=True)
    label = fields.String(required=True, metadata={"description": "the guide's short name of the level"})
    title = fields.String(required=True)
    steps = fields.List(fields.Nested(GuideStepSchema), required=True)


class LevelNameSchema(Schema):
    level = fields.Integer(required=True)
    label = fields.String(required=True)
    name = fields.String(required=True)


class GuideToolSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": list(TOOL_KINDS)})
    url = fields.String(allow_none=True, required=True)


class GuideTeamSchema(Schema):
    service = fields.String(required=True)
    label = fields.String(required=True)
    text = fields.String(allow_none=True, required=True)
    members = fields.List(fields.String(), required=True)
    meets = fields.String(allow_none=True, required=True)
    how_to_refer = fields.String(allow_none=True, required=True)
    family_attends = fields.String(allow_none=True, required=True, metadata={"enum": list(FAMILY_ATTENDS)})
    levels = fields.List(fields.Integer(), required=True)
    url = fields.String(allow_none=True, required=True)


class GuideContactSchema(Schema):
    service = fields.String(allow_none=True, required=True,
                            metadata={"description": "the service it reaches; null for a fixed emergency number"})
    steps = fields.List(fields.String(), required=True, metadata={"description": "the steps that show it"})
    label = fields.String(required=True)
    phone = fields.String(allow_none=True, required=True)
    url = fields.String(allow_none=True, required=True)


class SourceSchema(Schema):
    title = fields.String(required=True)
    url = fields.String(required=True)
    read = fields.String(required=True, metadata={"description": "when the source was read (YYYY-MM-DD)"})


class MunicipalitySchema(MunicipalitySummarySchema):
    sources = fields.List(fields.Nested(SourceSchema), required=True,
                          metadata={"description": "what the guide was built from"})
    extends = fields.String(allow_none=True)
    date = fields.String(allow_none=True, metadata={"description": "when this version was adopted"})
    languages = fields.List(fields.String())
    settings = fields.Dict()
    levels = fields.List(fields.Nested(LabelledSchema))
    local_services = fields.List(fields.Nested(LabelledSchema))
    rules = fields.List(fields.Dict())
    level_names = fields.List(fields.Nested(LevelNameSchema))
    pathway = fields.List(fields.Nested(GuideLevelSchema))
    tools = fields.List(fields.Nested(GuideToolSchema))
    teams = fields.List(fields.Nested(GuideTeamSchema))
    contacts = fields.List(fields.Nested(GuideContactSchema))


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
