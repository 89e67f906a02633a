"""Input schemas for board screens."""
from marshmallow import fields, validate

from app.inputs import StrictSchema


class ScreenSchema(StrictSchema):
    """A new board screen: a name and an area (none = the whole site)."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    area_id = fields.Integer(load_default=None, allow_none=True)

