"""Parsing request input through marshmallow schemas (unknown fields are refused)."""
import re
from collections.abc import Mapping
from datetime import datetime

from flask import request
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from app.services.core.errors import DomainError

_TRANSPORT_FIELDS = ("csrf_token",)
MAX_ID = 2**31 - 1  # every id column is an Integer: 32 bits on PostgreSQL, whose driver refuses a larger one
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # not text: PostgreSQL refuses a NUL in a value


class Whole(fields.Integer):
    """A whole number from `low` to `high` in ASCII digits; anything else is refused with that range named."""

    def __init__(self, low: int = 1, high: int = MAX_ID, **kwargs):
        message = f"Expected a whole number from {low:,} to {high:,}."
        messages = {"invalid": message, "too_large": message, **kwargs.pop("error_messages", {})}
        validators = [validate.Range(min=low, max=high, error=messages["invalid"]), *_listed(kwargs.pop("validate", None))]
        super().__init__(strict=False, validate=validators, error_messages=messages, **kwargs)

    def _validated(self, value):
        if isinstance(value, str) and not re.fullmatch(r"\s*[+-]?[0-9]{1,19}\s*", value):
            raise self.make_error("invalid")  # no "٣", no 5,000 digits, no "1e309": int() would take the first two
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid")  # int(inf) raises OverflowError, which marshmallow lets through
        return super()._validated(value)


def Id(**kwargs) -> Whole:  # noqa: N802 - a field constructor, named like the fields it stands beside
    """A row id: a whole number from 1 to MAX_ID."""
    return Whole(1, MAX_ID, **kwargs)


class Text(fields.String):
    """Text of at most `max_length` characters (the column's length) without control characters."""

    def __init__(self, max_length: int, error: str | None = None, **kwargs):
        length = validate.Length(max=max_length, error=error or f"Use at most {max_length:,} characters.")
        super().__init__(validate=[length, *_listed(kwargs.pop("validate", None))], **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if _CONTROL.search(text):
            raise ValidationError("Expected text without control characters.")
        return text


def _listed(validators) -> list:
    return [] if validators is None else list(validators) if isinstance(validators, (list, tuple)) else [validators]


def query_id(name: str, source: Mapping[str, str] | None = None) -> int | None:
    """The query argument `name` (or the field of `source`, such as request.form) as a row id, None when not
    given, or a 422 DomainError naming it."""
    schema = Schema.from_dict({name: Id(load_default=None, allow_none=True)})(unknown=EXCLUDE)
    raw = (request.args if source is None else source).get(name)
    try:
        return schema.load({} if raw is None or not raw.strip() else {name: raw})[name]
    except ValidationError as error:
        raise DomainError("Some fields need attention.", error.messages_dict) from error


def feed_position(*candidates: str | None) -> int | None:
    """The first of `candidates` (Last-Event-ID, then ?since=) that is a feed position, 0 to MAX_ID in ASCII
    digits; None when none is. A stream given no usable position starts from a fresh snapshot: a TV that sends
    garbage is brought up to date, never refused (an EventSource stops reconnecting on an error)."""
    position = Whole(0, MAX_ID)
    for raw in candidates:
        try:
            if raw is not None:
                return position.deserialize(raw)
        except ValidationError:
            continue
    return None


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
    """Load request.form (less the CSRF token) or raise a 422 DomainError naming each field; a field of the
    schema sent more than once is refused unless it takes a list (only the first would be read)."""
    repeated = {name: [f"Sent {len(values)} times; send it once."] for name, values in request.form.lists()
                if len(values) > 1 and name in schema.fields and not isinstance(schema.fields[name], fields.List)}
    if repeated:
        raise DomainError("Some fields need attention.", repeated)
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
