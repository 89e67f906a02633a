"""Input schemas for sign-in."""
from marshmallow import fields, validate

from app.inputs import StrictSchema, Text


class PasswordLoginSchema(StrictSchema):
    """Username + password."""

    username = Text(64, required=True, validate=validate.Length(min=1))
    password = Text(256, required=True, validate=validate.Length(min=1))
    next = Text(2000, load_default=None)


class BadgeLoginSchema(StrictSchema):
    """Badge + PIN on a registered tablet."""

    badge = fields.String(required=True, validate=validate.Regexp(r"^\w{1,64}$", error="Scan or type your badge number."))
    pin = fields.String(required=True, validate=validate.Regexp(r"^\d{4,8}$", error="The PIN is 4 to 8 digits."))
    next = Text(2000, load_default=None)


class PasswordChangeSchema(StrictSchema):
    """Current and new password."""

    current_password = Text(256, required=True)
    new_password = Text(256, required=True)


class LogoutSchema(StrictSchema):
    """Sign out: on a tablet, the outbox's changes its person leaves waiting, and whether the idle timer did it."""

    waiting = Text(400_000, load_default=None)  # JSON [[Idempotency-Key, path], …]: outbox_tokens.waiting_from
    reason = fields.String(load_default=None, validate=validate.OneOf(["idle"]))
