"""Input schemas for the floor."""
from app.inputs import Id, StrictSchema, Text, device_time_field


class StartSchema(StrictSchema):
    """Start a submission with the browser's UUID."""

    id = Text(100, required=True)  # a UUID, checked by the service
    form_version_id = Id(required=True)
    station_id = Id(required=True)
    # When the operator tapped Start, sent by a start the tablet kept offline (its shift is that time's).
    device_time = device_time_field()


class StationSchema(StrictSchema):
    """Choose the station this tablet works at."""

    station_id = Id(required=True)


class ExplainSchema(StrictSchema):
    """Why an answer failed and what was done."""

    reason = Text(2000, load_default="")
    action = Text(2000, load_default="")
    cause_category = Text(80, load_default=None)
    device_time = device_time_field()  # checked like every change's; the answer keeps its own time
