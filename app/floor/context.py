"""What the floor views need from the request: the current station and a submission by id."""
from dataclasses import dataclass
from datetime import date

from flask import g, session
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app.services.core.errors import DomainError
from app.extensions import db
from app.models import Area, FormVersion, Site, Station, Submission, User
from app.models.types import utcnow
from app.security import current_viewer
from app.services.access import scope
from app.services.floor import catalogue, downtime, submissions
from app.services.quality import deviations
from app.services.records import item_views, versions
from app.services.floor.shifts import shift_at

# The id a blank fill page carries until the tablet gives it the UUID of the submission it starts offline.
BLANK_ID = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class FillHeader:
    """What the fill page's header and forms name: the submission id, station, shift, form version, who started it."""

    id: str
    station: Station
    shift_code: str
    shift_date: date
    form_version: FormVersion
    started_by: str
    blank: bool = False

    @classmethod
    def of(cls, submission: Submission) -> "FillHeader":
        """The header of a draft."""
        return cls(submission.id, submission.station, submission.shift_code, submission.shift_date,
                   submission.form_version, submission.started_by.printed_name)


def blank_context(form_version_id: int, station_id: int | None, user: User) -> dict:
    """The fill page of a form not started yet, at a station where it applies (404 otherwise)."""
    version = db.session.get(FormVersion, form_version_id)
    station = db.session.get(Station, station_id) if station_id else None
    if version is None or station is None or not catalogue.applies_to(version, station):
        raise DomainError("That form does not apply at that station.", status=404)
    site = db.session.scalar(select(Site))
    shift = shift_at(site.shift_pattern, site.timezone, utcnow())
    header = FillHeader(BLANK_ID, station, shift.code, shift.date, version, user.printed_name, blank=True)
    snapshot = item_views.from_blank(version.definition)
    required = sum(1 for view in snapshot.items if view.required and view.visible)
    return {"header": header, "definition": version.definition, "snapshot": snapshot,
            "causes": deviations.cause_categories(), "progress": versions.Progress(0, required),
            "downtime": downtime.running_at(station)}


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


def get_submission(submission_id: str, write: bool = True) -> Submission:
    """The submission, or a 404 when there is none or it is outside the signed-in user's scope: to change
    (write) or to open (app/services/access/scope.py)."""
    # What every fill-page request reads, in one statement: the form, the station, then its answers.
    submission = db.session.get(Submission, submissions.normalise_id(submission_id), options=[
        joinedload(Submission.form_version), joinedload(Submission.station), selectinload(Submission.answers)])
    if submission is None:
        raise scope.not_found()
    (scope.require_write if write else scope.require_open)(current_viewer(), submission)
    return submission


def item_context(submission: Submission) -> dict:
    """What an item fragment and the progress bar render from: one snapshot of the items for the request."""
    snapshot = item_views.from_draft(submission)
    return {
        "header": FillHeader.of(submission),
        "definition": submission.form_version.definition,
        "snapshot": snapshot,
        "causes": deviations.cause_categories(),
        "progress": versions.progress(submission, snapshot),
    }


def fill_context(submission: Submission) -> dict:
    """Everything the fill page renders from: the item context and the station's running downtime."""
    return item_context(submission) | {"downtime": downtime.running_at(submission.station)}
