"""Schema of ``pathway.yaml``: a guide's steps per level, tools, teams and contacts
(docs/rule-language.md, "The pathway"). Loading gives the objects of :mod:`rules.pathway`;
references between them (tool ids, step ids, team codes) are checked by the pathway loader,
which sees the whole guide.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from rules.grammar import NAME, NAME_HINT, ChoiceField, CodeField, ConditionField, StrictSchema, TextField
from rules.messages import unknown_code
from rules.model import ROLES, Text
from rules.pathway import (
    DUE_FROM,
    FAMILY_ATTENDS,
    OUTCOME_GO,
    OUTCOME_WHEN,
    TOOL_KINDS,
    WHO_KINDS,
    Contact,
    StepOutcome,
    Team,
    Tool,
    Who,
)

STEP_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
STEP_ID_HINT = "lower-case letters, digits, _ . and -, e.g. level1_plan or 1.2"
URL = re.compile(r"^https?://[^\s]+$")
PHONE = re.compile(r"^\+?[0-9][0-9 ]{1,18}[0-9]$")


class UrlField(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not URL.match(text):
            raise ValidationError("an absolute web address, starting with https:// or http://")
        return text


class UrlTextField(fields.Field):
    """An address, or one per language ``{nb: …, en: …}`` (nb required)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Text:
        text = TextField()._deserialize(value, attr, data)
        bad = {lang: ["an absolute web address, starting with https:// or http://"]
               for lang, url in text.items() if not URL.match(url)}
        if bad:
            raise ValidationError(bad if isinstance(value, dict) else bad["nb"])
        return text


class ToolSchema(StrictSchema):
    title = TextField(required=True)
    kind = ChoiceField("tool kind", TOOL_KINDS, required=True)
    url = UrlTextField()


def make_tool(tool_id: str, data: dict[str, Any]) -> Tool:
    return Tool(tool_id, data["title"], data["kind"], data.get("url"))


class TeamSchema(StrictSchema):
    text = TextField(metadata={"description": "what the team does"})
    members = fields.List(CodeField("service"))
    meets = TextField(metadata={"description": "when and where it meets"})
    how_to_refer = TextField(metadata={"description": "how a case is brought to the team"})
    family_attends = ChoiceField("family attendance", FAMILY_ATTENDS)
    levels = fields.List(fields.Integer(strict=True, validate=validate.Range(0, 3)))
    url = UrlField()


def make_team(code: str, data: dict[str, Any]) -> Team:
    return Team(code, data.get("text"), tuple(data.get("members", ())), data.get("meets"),
                data.get("how_to_refer"), data.get("family_attends"), tuple(sorted(set(data.get("levels", ())))),
                data.get("url"))


class ContactSchema(StrictSchema):
    label = TextField(required=True)
    phone = fields.String(validate=validate.Regexp(PHONE, error="a phone number of digits and spaces, e.g. 02800"))
    url = UrlField()

    @validates_schema
    def _something(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "phone" not in data and "url" not in data:
            raise ValidationError("a contact gives a phone number, a web address (url) or both")

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Contact:
        return Contact(data["label"], data.get("phone"), data.get("url"))


class WhoField(fields.Field):
    """``relay_holder`` | ``wondering_owner`` | ``leader`` | ``{service: code, role: …, label: …}``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Who:
        if isinstance(value, str):
            if value not in WHO_KINDS:
                raise ValidationError(unknown_code("person", value, WHO_KINDS))
            return Who(value)
        if isinstance(value, dict):
            return WhoServiceSchema().load(value)
        raise ValidationError(f"who: one of {', '.join(WHO_KINDS)}, or {{service: code, role: role}}")


class WhoServiceSchema(StrictSchema):
    service = CodeField("service", required=True)
    role = ChoiceField("role", ROLES, load_default="involve")
    label = TextField()

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Who:
        return Who("service", data["service"], data["role"], data.get("label"))


class StepIdField(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValidationError(f'write the step id in quotes (id: "{value}"): YAML reads {value} as a number')
        return super()._deserialize(value, attr, data, **kwargs)


class DeadlineSchema(StrictSchema):
    when = ConditionField(required=True)
    days = fields.Integer(strict=True, required=True, validate=validate.Range(0, 365))


class OutcomeSchema(StrictSchema):
    when = ChoiceField("measures_effective answer", OUTCOME_WHEN, required=True)
    go = ChoiceField("way forward", OUTCOME_GO, required=True)
    step = StepIdField(validate=validate.Regexp(STEP_ID, error=STEP_ID_HINT))
    text = TextField(required=True)

    @validates_schema
    def _target(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("go") == "back" and "step" not in data:
            raise ValidationError({"step": ["go: back needs the step to go back to (step: <id>)"]})
        if data.get("go") not in (None, "back") and "step" in data:
            raise ValidationError({"step": ["step: goes only with go: back"]})

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> StepOutcome:
        return StepOutcome(data["when"], data["go"], data["text"], data.get("step"))


class StepSchema(StrictSchema):
    id = StepIdField(required=True, validate=validate.Regexp(STEP_ID, error=STEP_ID_HINT))
    title = TextField(required=True)
    text = TextField(required=True)
    who = fields.List(WhoField(), load_default=list)
    due_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(0, 365))
    due_from = ChoiceField("deadline start", DUE_FROM)
    due_if = fields.List(fields.Nested(DeadlineSchema), load_default=list)
    tools = fields.List(fields.String(), load_default=list)
    when = ConditionField()
    outcomes = fields.List(fields.Nested(OutcomeSchema), load_default=list)

    @validates_schema
    def _deadline(self, data: dict[str, Any], **kwargs: Any) -> None:
        has_days = data.get("due_days") is not None or bool(data.get("due_if"))
        if has_days and "due_from" not in data:
            raise ValidationError({"due_from": ["a deadline counts from concern (when the concern arose) or "
                                                "level_start: write due_from"]})


class LevelSchema(StrictSchema):
    label = fields.String(validate=validate.Length(1, 12))
    steps = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1))


class PathwayFileSchema(StrictSchema):
    """``pathway.yaml``; every key optional. Steps and contacts are validated on their own by
    the loader (so one bad step hides no other problem)."""

    titles = fields.Dict(keys=ChoiceField("person", WHO_KINDS), values=TextField())
    tools = fields.Dict(keys=fields.String(validate=validate.Regexp(NAME, error=NAME_HINT)),
                        values=fields.Nested(ToolSchema))
    teams = fields.Dict(keys=CodeField("service"), values=fields.Nested(TeamSchema))
    contacts = fields.Dict(keys=CodeField("service"), values=fields.Nested(ContactSchema))
    emergency_numbers = fields.Dict(keys=CodeField("step"), values=fields.Nested(ContactSchema))
    levels = fields.Dict(keys=fields.Integer(strict=True, validate=validate.Range(0, 3)),
                         values=fields.Nested(LevelSchema))
