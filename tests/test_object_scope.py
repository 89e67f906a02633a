"""Issue 11 finding 3, SEC-AUTHZ-2: who may write which draft and read which record and photo
(app/services/access/scope.py). Outside one's scope an object answers 404, as if it did not exist."""
import pytest
from sqlalchemy import func, select

from app.extensions import db as _db
from app.models import Answer, AuditEvent, Deviation, DowntimeEvent
from app.services.access.devices import register_device
from app.services.access.scope import TAKE_OVER
from app.services.core.audit import Actor
from app.services.floor import attachments, submissions
from tests.helpers.photos import jpeg_with_exif


def answers(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Answer))


def item_url(draft, item: str = "hydraulic_pressure") -> str:
    return f"/floor/submissions/{draft.id}/items/{item}"


@pytest.fixture
def two(make_user):
    """Two operators."""
    return make_user("operator", username="op-one"), make_user("operator", username="op-two")


def at_tablet(app, client, station_id: int, admin):
    """client on a registered tablet whose home is station_id."""
    _, cookie = register_device("Tablet", station_id, Actor(admin.id))
    client.set_cookie(app.config["DEVICE_COOKIE"], cookie)
    return client


def test_an_operator_cannot_write_into_another_operators_draft(login, two, start_draft, db):
    """Finding 3: operator2 posting into operator1's draft at another station gets 404; nothing is stored,
    and neither the fill page nor submit opens for them."""
    one, other = two
    draft = start_draft(one, station="Press 2")
    client = login(other, tablet=True)
    assert client.post_form(item_url(draft), {"value": "150"}, htmx=True).status_code == 404
    explain = client.post_form(item_url(draft) + "/explain", {"reason": "x"}, htmx=True)
    assert explain.status_code == 404
    assert client.post_form(f"/floor/submissions/{draft.id}/submit", {}, htmx=True).status_code == 404
    assert client.get(f"/floor/submissions/{draft.id}").status_code == 404
    assert answers(db) == 0
    assert login(one, tablet=True).post_form(item_url(draft), {"value": "150"}, htmx=True).status_code == 200


def test_drafts_listed_at_a_station_are_those_the_viewer_may_open(login, two, plant, start_draft):
    """A station home lists only the drafts its viewer may open."""
    one, other = two
    start_draft(one, station="Press 1")
    client = login(other, tablet=True)
    client.post_form("/floor/station", {"station_id": plant.stations["Press 1"].id})
    assert "In progress" not in client.get("/floor").get_data(as_text=True)
    own = login(one, tablet=True)
    own.post_form("/floor/station", {"station_id": plant.stations["Press 1"].id})
    assert "In progress" in own.get("/floor").get_data(as_text=True)


def test_a_draft_is_taken_over_on_its_stations_tablet_and_audited(app, login, two, users, plant, start_draft, db):
    """Finding 3: on the registered tablet of the draft's station, operator2 sees whose draft it is, takes it
    over (an audit event naming both), and then saves answers as their own."""
    one, other = two
    draft = start_draft(one, station="Press 1")
    client = at_tablet(app, login(other, tablet=True), plant.stations["Press 1"].id, users.admin)
    page = client.get(f"/floor/submissions/{draft.id}").get_data(as_text=True)
    assert "Take over and continue" in page and one.printed_name in page
    assert client.post_form(item_url(draft), {"value": "150"}, htmx=True).status_code == 404
    assert client.post_form(f"/floor/submissions/{draft.id}/take-over").status_code == 303
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == TAKE_OVER))
    assert (event.actor_id, event.entity_id) == (other.id, draft.id) and one.printed_name in event.before_json
    assert client.post_form(item_url(draft), {"value": "150"}, htmx=True).status_code == 200
    assert db.session.scalar(select(Answer.answered_by_id)) == other.id


def test_a_draft_cannot_be_taken_over_from_another_stations_tablet(app, login, two, users, plant, start_draft, db):
    """Taking over needs the tablet of the draft's own station: elsewhere 404 and no audit event."""
    one, other = two
    draft = start_draft(one, station="Press 1")
    client = at_tablet(app, login(other, tablet=True), plant.stations["Press 2"].id, users.admin)
    assert client.post_form(f"/floor/submissions/{draft.id}/take-over").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == TAKE_OVER)) == 0


def test_a_supervisor_may_write_any_draft(login, two, users, start_draft, db):
    """A lead finishing a checklist someone left: a supervisor writes any draft."""
    draft = start_draft(two[0], station="Press 2")
    assert login(users.supervisor).post_form(item_url(draft), {"value": "150"}, htmx=True).status_code == 200


def test_an_operator_reads_only_their_own_records_and_their_tablets_station(app, login, two, users, plant,
                                                                            make_record):
    """Finding 3: another station's record (page and PDF) is 404 for an operator, and choosing that station
    from a browser that is not a registered tablet does not change it; their own, and those of the station
    their tablet works at, open. Inspectors and auditors read every station's (below)."""
    one, other = two
    record = make_record(one, station="Press 2")
    urls = (f"/records/{record.id}", f"/records/{record.id}.pdf", f"/records/{record.id}/v1.pdf")
    desk = login(other)
    desk.post_form("/floor/station", {"station_id": plant.stations["Press 2"].id})  # picks Press 2 from a desk
    assert [desk.get(url).status_code for url in urls] == [404] * 3
    press_1 = at_tablet(app, login(other, tablet=True), plant.stations["Press 1"].id, users.admin)
    assert [press_1.get(url).status_code for url in urls] == [404] * 3
    press_1.post_form("/floor/station", {"station_id": plant.stations["Press 2"].id})  # standing at a tablet
    assert [press_1.get(url).status_code for url in urls] == [200] * 3
    at_press_2 = at_tablet(app, login(other, tablet=True), plant.stations["Press 2"].id, users.admin)
    assert [at_press_2.get(url).status_code for url in urls] == [200] * 3
    assert login(one).get(urls[0]).status_code == 200  # their own, from any browser


@pytest.mark.parametrize("role", ["inspector", "supervisor", "auditor", "admin"])
def test_readers_read_every_stations_records(login, users, two, make_record, role):
    """SEC-AUTHZ-2: the roles that review and audit read every station's records."""
    record = make_record(two[0], station="Press 2")
    assert login(getattr(users, role)).get(f"/records/{record.id}").status_code == 200


def test_auditors_do_not_read_drafts(login, users, start_draft):
    """Finding 3: a draft is not a record: not through the fill page, not as a record."""
    draft = start_draft(users.operator)
    client = login(users.auditor)
    assert client.get(f"/floor/submissions/{draft.id}").status_code == 403
    assert client.get(f"/records/{draft.id}").status_code == 404


def test_a_photo_is_served_only_to_those_who_may_open_what_holds_it(login, two, users, start_draft, db):
    """Finding 3: a photo by its sha256: its uploader and a supervisor get it, another operator at another
    station gets 404, like a photo that does not exist."""
    one, other = two
    draft = start_draft(one, station="Press 2")
    photo = attachments.store_photo(jpeg_with_exif(), 10 * 1024 * 1024, one.id)
    submissions.add_photo(draft, "guard_photo", photo.sha256, Actor(one.id))
    _db.session.commit()
    url = f"/floor/photos/{photo.sha256}.jpg"
    assert login(one, tablet=True).get(url).status_code == 200
    assert login(users.supervisor).get(url).status_code == 200
    assert login(other, tablet=True).get(url).status_code == 404


def _deviation_of_a_draft(login, operator, start_draft) -> tuple:
    """operator's draft at Press 2 with an out-of-spec pressure: the deviation it raised, and the draft."""
    draft = start_draft(operator, station="Press 2")
    response = login(operator).post_form(item_url(draft), {"value": "171"}, htmx=True)
    assert response.status_code == 200
    return _db.session.scalar(select(Deviation).where(Deviation.submission_id == draft.id)), draft


def test_an_operator_reads_and_adds_causes_only_to_deviations_in_their_scope(app, login, two, users, plant,
                                                                             start_draft, db):
    """SEC-AUTHZ-2 for deviations: another operator, from a desk or another station's tablet, gets 404 for
    the page and for adding its cause (nothing stored); the one who raised it, and an operator at the
    tablet of its station, open it."""
    one, other = two
    deviation, _draft = _deviation_of_a_draft(login, one, start_draft)
    page, cause = f"/deviations/{deviation.id}", f"/deviations/{deviation.id}/cause"
    fields = {"cause_category": "", "cause": "someone else's words", "immediate_action": "none"}
    for client in (login(other), at_tablet(app, login(other, tablet=True), plant.stations["Press 1"].id, users.admin)):
        assert client.get(page).status_code == 404
        assert client.post_form(cause, fields).status_code == 404
    db.session.expire_all()
    assert db.session.get(Deviation, deviation.id).cause in (None, "")
    assert login(one).get(page).status_code == 200
    assert at_tablet(app, login(other, tablet=True), plant.stations["Press 2"].id, users.admin).get(page).status_code == 200


def test_an_auditor_reads_a_deviation_but_not_the_draft_it_came_from(login, users, two, start_draft):
    """A deviation is a record of its own once raised; the draft behind it is not, and its page does not
    offer the auditor a link into it."""
    deviation, draft = _deviation_of_a_draft(login, two[0], start_draft)
    auditor = login(users.auditor)
    html = auditor.get(f"/deviations/{deviation.id}").get_data(as_text=True)
    assert "Raised from a checklist that is still being filled." in html
    assert f"/floor/submissions/{draft.id}" not in html
    assert auditor.get(f"/floor/submissions/{draft.id}").status_code == 403


def test_downtime_is_reported_by_operators_at_a_tablet_and_by_leads_anywhere(app, login, two, users, plant, tablet,
                                                                            db):
    """M1: an operator at a desk cannot start or end a station's downtime (404, nothing stored); at a
    registered tablet they can; a supervisor can from anywhere, and an operator ends one they started."""
    one, _ = two
    press = plant.stations["Press 2"]
    start = {"station_id": press.id, "reason_code": "hydraulic_leak"}
    assert login(one).post_form("/floor/downtime", start).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(DowntimeEvent)) == 0
    at_line = login(one, tablet=True)
    at_line.set_cookie(app.config["DEVICE_COOKIE"], tablet[1])
    assert at_line.post_form("/floor/downtime", start).status_code == 303
    event = db.session.scalar(select(DowntimeEvent))
    assert login(users.supervisor).get(f"/floor/downtime/new?station_id={press.id}").status_code == 200
    assert login(two[1]).post_form(f"/floor/downtime/{event.id}/stop", {"fix": "x"}).status_code == 404
    assert login(one).post_form(f"/floor/downtime/{event.id}/stop", {"fix": "new hose"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(DowntimeEvent, event.id).fix == "new hose"
