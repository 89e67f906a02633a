"""Input schemas for deviations: search filters, raising by hand, causes and the supervisor's steps."""
from typing import Mapping

from marshmallow import ValidationError, fields, post_load, pre_load, validate

from app.services.core.errors import DomainError
from app.inputs import FilterSchema, Id, StrictSchema, Text, Whole
from app.models.deviation import DECISIONS, STATUSES
from app.services.quality.deviation_search import DeviationQuery

_DATE = {"invalid": "Enter a date as YYYY-MM-DD.", "format": "Enter a date as YYYY-MM-DD."}
_CHOICE = {"invalid": "Choose one from the list."}
_TEXT_MAX = 2000


def _text(required: bool = False, message: str = "") -> Text:
    if required:
        return Text(_TEXT_MAX, required=True, error_messages={"required": message})
    return Text(_TEXT_MAX, load_default=None)


class _BlankIsMissing(StrictSchema):
    @pre_load
    def _drop_blank(self, data: Mapping, **_kwargs) -> dict:
        """Forms send every field; a blank one is a value not given."""
        return {key: value for key, value in data.items() if not (isinstance(value, str) and not value.strip())}


class DeviationFilterSchema(FilterSchema):
    """Filters of GET /deviations (the query string); loads {"query": DeviationQuery, "page": int}."""

    status = fields.String(load_default=None, validate=validate.OneOf(
        STATUSES, error="Status is one of: open, acknowledged, resolved, closed."))
    station = Id(load_default=None, error_messages=_CHOICE)
    line = Id(load_default=None, error_messages=_CHOICE)
    decision = fields.String(load_default=None, validate=validate.OneOf(
        DECISIONS, error="Decision is one of: " + ", ".join(DECISIONS) + "."))
    date_from = fields.Date(load_default=None, error_messages=_DATE)
    date_to = fields.Date(load_default=None, error_messages=_DATE)
    q = Text(200, load_default=None, error="Search text is at most 200 characters.")
    page = Whole(1, 1_000_000, load_default=1, error_messages={"invalid": "The page is a number from 1."})

    @post_load
    def _to_query(self, data: dict, **_kwargs) -> dict:
        page = data.pop("page")
        return {"query": DeviationQuery(**data), "page": page}


def load_filters(args: Mapping) -> dict:
    """The query string's filters, or a 422 DomainError naming each field."""
    try:
        return DeviationFilterSchema().load(args)
    except ValidationError as error:
        raise DomainError("Some filters need attention.", error.messages_dict) from error


class RaiseSchema(_BlankIsMissing):
    """Raise a deviation by hand at a station."""

    station_id = Id(required=True, error_messages={"required": "Open this from a station.", **_CHOICE})
    what_happened = _text(True, "Say what happened.")
    cause_category = Text(80, load_default=None)
    cause = _text()
    immediate_action = _text()


class CauseSchema(_BlankIsMissing):
    """The cause (category + words) and the immediate action of a deviation."""

    cause_category = Text(80, load_default=None)
    cause = _text()
    immediate_action = _text()


class StepSchema(StrictSchema):
    """Acknowledge or close: nothing but the CSRF token."""


class DecideSchema(_BlankIsMissing):
    """The supervisor's decision: options, constraints, the decision, who decided, notes."""

    options_considered = _text(True, "List the options considered.")
    constraints = _text()
    decision = fields.String(required=True, error_messages={"required": "Choose the decision."},
                             validate=validate.OneOf(DECISIONS, error="Choose one of the decisions in the list."))
    decided_by = Id(load_default=None, error_messages=_CHOICE)
    decision_notes = _text()


class ResolveSchema(_BlankIsMissing):
    """How the deviation was resolved."""

    resolution = _text(True, "Say how it was resolved.")
