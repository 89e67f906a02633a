"""Input schemas for board screens."""
from marshmallow import validate

from app.inputs import Id, StrictSchema, Text


class ScreenSchema(StrictSchema):
    """A new board screen: a name and an area (none = the whole site)."""

    name = Text(120, required=True, validate=validate.Length(min=1))
    area_id = Id(load_default=None, allow_none=True)

