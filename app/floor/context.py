"""What the floor views need from the request: the current station and a submission by id."""
from flask import g, session
from sqlalchemy import select

from app.errors import DomainError
from app.extensions import db
from app.models import Area, Site, Station, Submission
from app.services import downtime, records, submissions


def current_station() -> Station | None:
    """The station chosen in this session, else the tablet's home station."""
    station_id = session.get("station_id")
    if station_id:
        station = db.session.get(Station, station_id)
        if station:
            return station
    device = g.get("device")
    return device.home_station if device else None


def all_areas() -> list[Area]:
    """Areas with their lines and stations, for the station picker."""
    site = db.session.scalar(select(Site))
    return site.areas if site else []


def get_submission(submission_id: str) -> Submission:
    """The submission or a 404."""
    submission = db.session.get(Submission, submissions.normalise_id(submission_id))
    if submission is None:
        raise DomainError("No such record.", status=404)
    return submission


def fill_context(submission: Submission) -> dict:
    """Everything the fill page and its fragments render from."""
    return {
        "submission": submission,
        "definition": submission.form_version.definition,
        "answers": submissions.answers_by_item(submission),
        "values": submissions.answer_values(submission),
        "progress": records.progress(submission),
        "editable": submission.status == "draft",
        "downtime": downtime.running_at(submission.station),
    }
