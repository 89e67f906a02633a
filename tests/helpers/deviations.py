"""Builders and readers for deviation tests: a failing press record, the one deviation, its audit trail."""
import uuid
from datetime import datetime, timezone

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Deviation
from app.models.types import frozen_clock
from app.services.floor import attachments, submissions
from app.services.quality import deviations
from app.services.records import versions
from app.services.core.audit import Actor
from tests.helpers.photos import png

AT = datetime(2026, 11, 20, 12, 42, tzinfo=timezone.utc)  # 06:42 CST in the demo plant's zone
PRESS = "press-start-of-shift"
PASSING = {"guards_in_place": "pass", "light_curtain": "pass", "two_hand_control": "pass",
           "emergency_stop": "pass", "oil_leaks": "pass", "lubrication_level": "pass"}
PRESSURE_171 = "Hydraulic pressure 171.0 bar, spec 140–160 bar, Press 1, T-Operator, 06:42 CST"


def save(draft, user, item, value):
    """Save one parsed answer through the service the fill page uses."""
    return submissions.save_answer(draft, item, {}, Actor(user.id), value=value, parsed=True)


def only_deviation() -> Deviation:
    """The one deviation in the database."""
    found = db.session.scalars(select(Deviation)).all()
    assert len(found) == 1, found
    return found[0]


def events(deviation: Deviation) -> list[AuditEvent]:
    """The deviation's audit events, oldest first."""
    return deviations.timeline(deviation)


def failing_press_record(app, plant, operator, value=171.0):
    """A submitted press check whose hydraulic pressure failed and was explained on the spot: its RecordVersion 1."""
    actor = Actor(operator.id)
    with frozen_clock(AT):
        draft = submissions.start_submission(str(uuid.uuid4()), plant.forms[PRESS].id, plant.stations["Press 1"].id, actor)
        for item, answer in PASSING.items():
            save(draft, operator, item, answer)
        save(draft, operator, "hydraulic_pressure", value)
        submissions.explain(draft, "hydraulic_pressure", "Relief valve drifted after warm-up",
                            "Maintenance re-set the relief valve", actor, "Machine / equipment")
        photo = attachments.store_photo(png(), 10 << 20, operator.id)
        submissions.add_photo(draft, "guard_photo", photo.sha256, actor)
        return versions.submit(draft, actor)
