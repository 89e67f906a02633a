"""Parsing request input through marshmallow schemas (unknown fields are refused)."""
from collections.abc import Mapping
from datetime import datetime

from flask import request
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, pre_load, validates_schema

from app.services.core.errors import DomainError

_TRANSPORT_FIELDS = ("csrf_token",)


class StrictSchema(Schema):
    """A schema that refuses fields it does not declare, so server-owned fields cannot be posted."""

    class Meta:
        unknown = RAISE


def device_time_field() -> fields.AwareDateTime:
    """When the person did it by the tablet's clock (sent with a change the tablet kept offline)."""
    return fields.AwareDateTime(load_default=None, error_messages={
        "invalid": "Expected an ISO 8601 time, such as 2026-11-30T06:15:00Z.",
        "invalid_awareness": "Expected a time with its time zone (Z or +01:00)."})


_DeviceTimeSchema = Schema.from_dict({"device_time": device_time_field()}, name="DeviceTimeSchema")


def posted_device_time() -> datetime | None:
    """The request's device_time through the one checked field (None when not sent); a malformed one is
    refused with a 422 naming the field, as on every other route that takes it."""
    return load_form(_DeviceTimeSchema(unknown=EXCLUDE))["device_time"]


def load_form(schema: Schema) -> dict:
    """Load request.form (less the CSRF token) or raise a 422 DomainError naming each field."""
    data = {k: v for k, v in request.form.items() if k not in _TRANSPORT_FIELDS}
    try:
        return schema.load(data)
    except ValidationError as error:
        raise DomainError("Some fields need attention.", error.messages_dict) from error


def given_args(args: Mapping[str, str]) -> dict[str, str]:
    """The query arguments that carry a value, as typed (the address of a search whose filters are invalid)."""
    return {key: value for key, value in args.items() if value.strip()}


class FilterSchema(StrictSchema):
    """Search filters from a query string: a blank field is a filter not set, and date_to may not come
    before date_from (schemas without those fields are unaffected)."""

    @pre_load
    def _drop_blank(self, data: Mapping, **_kwargs) -> dict:
        return {key: value.strip() if isinstance(value, str) else value
                for key, value in data.items() if not (isinstance(value, str) and not value.strip())}

    @validates_schema(skip_on_field_errors=False)
    def _dates_in_order(self, data: dict, **_kwargs) -> None:
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("The end date is before the start date: choose a “to” date on or after "
                                  f"{data['date_from'].isoformat()}.", "date_to")
