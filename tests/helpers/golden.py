"""Golden records: the same varied drafts every time (fixed ids, people, place and clock), for the frozen-JSON test.

The fixtures under tests/fixtures/records/ were written from these drafts by the code of the day, before the
record document became typed; tests/test_record_document.py rebuilds the drafts and compares bytes.
"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import select

from app.extensions import db
from app.models import Site, Submission
from app.models.submission import SUBMITTED
from app.services.floor import attachments, submissions
from app.services.core.audit import Actor
from app.services.floor.catalogue import sync_definitions
from tests.helpers.photos import png

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "records"
FORMS = FIXTURES / "forms"
START = datetime(2026, 11, 23, 12, 5, tzinfo=timezone.utc)
CORRECTED_AT = datetime(2026, 11, 23, 15, 30, 7, tzinfo=timezone.utc)
CORRECTION = {"item": "pressure", "form": {"value": ["161.5"]}, "reason": "Gauge misread; re-read at 161.5 bar"}
IDS = {
    "check-pass": "00000000-0000-4000-8000-000000000001",
    "series-fail": "00000000-0000-4000-8000-000000000002",
    "hidden-photo": "00000000-0000-4000-8000-000000000003",
}


@dataclass(frozen=True)
class Step:
    """One thing the operator does on a golden draft: save an answer, explain it, or add a photo."""

    item: str
    form: dict | None = None
    reason: str | None = None
    action: str | None = None
    photo: bool = False


def _answer(item: str, *values: str) -> Step:
    return Step(item, {"value": list(values)})


STEPS = {
    "check-pass": [_answer("guard", "pass"), _answer("light", "na"), _answer("estop", "pass")],
    "series-fail": [
        _answer("pressure", "158"), Step("torque", {"sample_0": ["50"], "sample_1": ["46.2"], "sample_2": ["55.4"]}),
        Step("torque", reason="Bolt 3 loose after rework", action="Re-torqued and rechecked"),
        _answer("count", "12"), _answer("defects", "scratch", "crack"),
        Step("defects", reason="Crack at the weld toe"), _answer("marking", "some_missing"),
        Step("marking", action="Marked and re-checked"), _answer("leaks", "fail"),
        _answer("leak_where", "Hose at valve block V2, dripping"), _answer("leak_fixed", "fail"),
        Step("leak_fixed", reason="Still dripping; hose ordered"), Step("leaks", reason="Hose worn"),
        Step("part_photo", photo=True), _answer("batch", "B-2211"), _answer("notes", "Line 1\nLine 2 — ok"),
        _answer("made_on", "2026-11-23"), _answer("made_at", "6:07"), _answer("confirmed", "on"),
    ],
    "hidden-photo": [
        _answer("pressure", "150"), Step("torque", {"sample_0": ["50"], "sample_1": ["49.5"], "sample_2": ["50.5"]}),
        _answer("count", "3"), _answer("defects", "clean"), _answer("marking", "all_marked"),
        _answer("leaks", "fail"), _answer("leak_where", "Fitting F1"), _answer("leak_fixed", "pass"),
        Step("leaks", reason="Misread"), _answer("leaks", "pass"),
        Step("part_photo", photo=True), _answer("batch", "Ölcharge 7 “A”"), _answer("made_on", "2026-11-22"),
        _answer("made_at", "23:59"), _answer("confirmed", "yes"),
    ],
}
FORM_OF = {"check-pass": "golden-check", "series-fail": "golden-mixed", "hidden-photo": "golden-mixed"}


def golden_setup(plant, users, tablet) -> SimpleNamespace:
    """Publish the golden forms and pin the site's name and zone (the documents carry both)."""
    report = sync_definitions(FORMS, Actor(None))
    assert not report.problems, report.problems
    site = db.session.scalar(select(Site))
    site.name, site.timezone = "Demo Plant", "America/Chicago"
    db.session.commit()
    forms = {f.form_id: f for f in plant.forms.values()} | _published()
    return SimpleNamespace(site=site, forms=forms, stations=plant.stations, users=users, device=tablet[0])


def _published() -> dict:
    from app.models import FormVersion
    return {f.form_id: f for f in db.session.scalars(select(FormVersion).where(FormVersion.form_id.like("golden-%")))}


def build_draft(golden: SimpleNamespace, name: str) -> Submission:
    """The named golden draft with every step done, its clock pinned, marked submitted but not yet frozen."""
    users = golden.users
    device_id = golden.device.id if name == "series-fail" else None
    actor = Actor(users.operator.id, device_id)
    draft = submissions.start_submission(IDS[name], golden.forms[FORM_OF[name]].id, golden.stations["Press 1"].id,
                                         actor)
    for step in STEPS[name]:
        if step.photo:
            photo = attachments.store_photo(png(), 10 << 20, users.operator.id)
            submissions.add_photo(draft, step.item, photo.sha256, actor)
        elif step.form is not None:
            submissions.save_answer(draft, step.item, step.form, actor)
        else:
            submissions.explain(draft, step.item, step.reason, step.action, actor)
    _pin_clock(draft, users.inspector.id if name == "series-fail" else users.operator.id)
    return draft


def _pin_clock(draft: Submission, submitter_id: int) -> None:
    """Overwrite the server's times with fixed ones, as if the draft had been filled at START."""
    draft.started_at, draft.shift_date, draft.shift_code = START, date(2026, 11, 23), "A"
    for index, answer in enumerate(sorted(draft.answers, key=lambda a: a.item_name)):
        answer.answered_at = START + timedelta(minutes=index + 1, seconds=index, microseconds=1000 * index)
    draft.status, draft.submitted_by_id = SUBMITTED, submitter_id
    draft.submitted_at = START + timedelta(hours=1, seconds=42)
    db.session.commit()
    db.session.expire_all()  # read back what the database keeps, as a real submit would


def fixture_text(name: str) -> str:
    """The golden canonical JSON of a record version, exactly as committed."""
    return (FIXTURES / f"{name}.json").read_text(encoding="utf-8")


def fixture_sha256(name: str) -> str:
    """The golden sha256 of a record version, exactly as committed."""
    return (FIXTURES / f"{name}.sha256").read_text(encoding="utf-8").strip()
