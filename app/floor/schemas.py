"""Input schemas for the floor."""
from marshmallow import fields

from app.inputs import StrictSchema, device_time_field


class StartSchema(StrictSchema):
    """Start a submission with the browser's UUID."""

    id = fields.String(required=True)
    form_version_id = fields.Integer(required=True)
    station_id = fields.Integer(required=True)
    # When the operator tapped Start, sent by a start the tablet kept offline (its shift is that time's).
    device_time = device_time_field()


class StationSchema(StrictSchema):
    """Choose the station this tablet works at."""

    station_id = fields.Integer(required=True)


class ExplainSchema(StrictSchema):
    """Why an answer failed and what was done."""

    reason = fields.String(load_default="")
    action = fields.String(load_default="")
    cause_category = fields.String(load_default=None)
    device_time = device_time_field()  # checked like every change's; the answer keeps its own time
