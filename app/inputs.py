"""Parsing request input through marshmallow schemas (unknown fields are refused)."""
from flask import request
from marshmallow import RAISE, Schema, ValidationError

from app.errors import DomainError

_TRANSPORT_FIELDS = ("csrf_token",)


class StrictSchema(Schema):
    """A schema that refuses fields it does not declare, so server-owned fields cannot be posted."""

    class Meta:
        unknown = RAISE


def load_form(schema: Schema) -> dict:
    """Load request.form (less the CSRF token) or raise a 422 DomainError naming each field."""
    data = {k: v for k, v in request.form.items() if k not in _TRANSPORT_FIELDS}
    try:
        return schema.load(data)
    except ValidationError as error:
        raise DomainError("Some fields need attention.", error.messages_dict) from error
