"""Input schemas for downtime."""
from marshmallow import EXCLUDE, ValidationError, validate

from app.services.core.errors import DomainError
from app.inputs import Id, StrictSchema, Text, device_time_field
from app.services.floor.downtime import FIX_MISSING

REASON_MISSING = "Pick the reason the station stopped."


class StationSchema(StrictSchema):
    """The station the downtime is at (the reason page's query string, and the first field of a start)."""

    station_id = Id(required=True, error_messages={
        "required": "Choose the station that stopped.", "invalid": "Choose the station that stopped."})


class StartSchema(StationSchema):
    """Report downtime: station, a reason code from the tree, optional notes."""

    reason_code = Text(120, REASON_MISSING, required=True, validate=validate.Length(min=1, error=REASON_MISSING),
                       error_messages={"required": REASON_MISSING})
    notes = Text(2000, load_default=None)
    device_time = device_time_field()


class StopSchema(StrictSchema):
    """End downtime: what fixed it (required)."""

    fix = Text(2000, required=True, error_messages={"required": FIX_MISSING})
    device_time = device_time_field()


class StationStopSchema(StopSchema, StationSchema):
    """End whatever downtime runs at a station (a downtime reported offline has no id on the tablet)."""


def station_of(data: dict) -> int:
    """The station id of a posted form, read alone so a refusal of the rest can be shown on that station's page."""
    return _load(StationSchema(unknown=EXCLUDE), data)["station_id"]


def load_query(data: dict) -> dict:
    """Load the reason page's query string, or raise a 422 DomainError naming the field."""
    return _load(StationSchema(), data)


def _load(schema: StrictSchema, data: dict) -> dict:
    try:
        return schema.load(data)
    except ValidationError as error:
        raise DomainError("Some fields need attention.", error.messages_dict) from error
