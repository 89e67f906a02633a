"""What the floor views need from the request: the current station and a submission by id."""
from dataclasses import dataclass, field
from datetime import date

from flask import g, session
from sqlalchemy import select

from app.errors import DomainError
from app.extensions import db
from app.models import Answer, Area, FormVersion, Site, Station, Submission, User
from app.models.types import utcnow
from app.services import catalogue, downtime, records, submissions
from app.services.shifts import shift_at

# The id a blank fill page carries until the tablet gives it the UUID of the submission it starts offline.
BLANK_ID = "00000000-0000-4000-8000-000000000000"


@dataclass
class BlankSubmission:
    """A submission not started yet, shaped like one: what the fill page for an offline start renders."""

    form_version: FormVersion
    station: Station
    started_by: User
    shift_date: date
    shift_code: str
    id: str = BLANK_ID
    status: str = "draft"
    answers: list[Answer] = field(default_factory=list)


def blank_submission(form_version_id: int, station_id: int | None, user: User) -> BlankSubmission:
    """The blank fill page's submission, for a form that applies at the station (404 otherwise)."""
    version = db.session.get(FormVersion, form_version_id)
    station = db.session.get(Station, station_id) if station_id else None
    if version is None or station is None or not catalogue.applies_to(version, station):
        raise DomainError("That form does not apply at that station.", status=404)
    site = db.session.scalar(select(Site))
    shift = shift_at(site.shift_pattern, site.timezone, utcnow())
    return BlankSubmission(version, station, user, shift.date, shift.code)


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
