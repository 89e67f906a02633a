"""Input schemas for sign-in."""
from marshmallow import fields, validate

from app.inputs import StrictSchema


class PasswordLoginSchema(StrictSchema):
    """Username + password."""

    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))
    next = fields.String(load_default=None)


class BadgeLoginSchema(StrictSchema):
    """Badge + PIN on a registered tablet."""

    badge = fields.String(required=True, validate=validate.Regexp(r"^\w{1,64}$", error="Scan or type your badge number."))
    pin = fields.String(required=True, validate=validate.Regexp(r"^\d{4,8}$", error="The PIN is 4 to 8 digits."))
    next = fields.String(load_default=None)


class PasswordChangeSchema(StrictSchema):
    """Current and new password."""

    current_password = fields.String(required=True)
    new_password = fields.String(required=True, validate=validate.Length(max=256))
