"""Input schemas for administration."""
from marshmallow import fields, validate

from app.inputs import StrictSchema


class DeviceSchema(StrictSchema):
    """Register the tablet this browser runs on."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    home_station_id = fields.Integer(load_default=None, allow_none=True)


class ActiveSchema(StrictSchema):
    """Activate or deactivate a user."""

    active = fields.Boolean(required=True)
