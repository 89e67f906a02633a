"""Input schemas for review and signing."""
from marshmallow import fields, validate

from app.inputs import StrictSchema


class QueueFilterSchema(StrictSchema):
    """Filter the queue by line and form."""

    line = fields.Integer(load_default=None, allow_none=True)
    form = fields.String(load_default=None, allow_none=True)


class SignSchema(StrictSchema):
    """A signature request: re-entered credentials, the meaning, and the hash of the version seen."""

    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))
    meaning = fields.String(required=True, validate=validate.Length(min=1, max=80))
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$", error="Expected the record's sha256."))
    comment = fields.String(load_default=None, validate=validate.Length(max=2000))
    device_time = fields.String(load_default=None)
