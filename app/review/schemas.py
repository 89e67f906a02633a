"""Input schemas for review and signing."""
from marshmallow import fields, validate

from app.inputs import Id, StrictSchema, Text


class QueueFilterSchema(StrictSchema):
    """Filter the queue by line and form."""

    line = Id(load_default=None, allow_none=True)
    form = Text(80, load_default=None, allow_none=True)


class SignSchema(StrictSchema):
    """A signature request: re-entered credentials, the meaning, and the hash of the version seen."""

    username = Text(64, required=True, validate=validate.Length(min=1))
    password = Text(256, required=True, validate=validate.Length(min=1))
    meaning = Text(80, required=True, validate=validate.Length(min=1))
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$", error="Expected the record's sha256."))
    comment = Text(2000, load_default=None)
    device_time = Text(40, load_default=None)
