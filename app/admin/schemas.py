"""Input schemas for administration."""
from marshmallow import fields, validate

from app.inputs import Id, StrictSchema, Text


class DeviceSchema(StrictSchema):
    """Register the tablet this browser runs on."""

    name = Text(120, required=True, validate=validate.Length(min=1))
    home_station_id = Id(load_default=None, allow_none=True)


class ActiveSchema(StrictSchema):
    """Activate or deactivate a user."""

    active = fields.Boolean(required=True)
