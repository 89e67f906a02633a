"""Input schemas for the floor."""
from marshmallow import fields

from app.inputs import StrictSchema


class StartSchema(StrictSchema):
    """Start a submission with the browser's UUID."""

    id = fields.String(required=True)
    form_version_id = fields.Integer(required=True)
    station_id = fields.Integer(required=True)
    # When the operator tapped Start, sent by a start the tablet kept offline (its shift is that time's).
    device_time = fields.AwareDateTime(load_default=None, error_messages={
        "invalid": "Expected an ISO 8601 time, such as 2026-11-30T06:15:00Z.",
        "invalid_awareness": "Expected a time with its time zone (Z or +01:00)."})


class StationSchema(StrictSchema):
    """Choose the station this tablet works at."""

    station_id = fields.Integer(required=True)


class ExplainSchema(StrictSchema):
    """Why an answer failed and what was done."""

    reason = fields.String(load_default="")
    action = fields.String(load_default="")
    cause_category = fields.String(load_default=None)
    device_time = fields.String(load_default=None)
