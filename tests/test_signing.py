"""Signing rules (21 CFR 11.50, 11.70, 11.200): each rule has a test that fails when the rule is broken."""
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from app.models import AuditEvent, LoginThrottle, Signature
from app.services.records import signing
from tests.helpers.builders import PASSWORD

FAI = "first-article-inspection"


def sign(client, record, meaning="Reviewed", username=None, password=PASSWORD, sha=None, **extra):
    """Post the signing form as the review page does."""
    data = {"username": username or client.username, "password": password, "meaning": meaning,
            "sha256": sha or record.versions[-1].sha256, **extra}
    return client.post_form(f"/review/{record.id}/sign", {k: v for k, v in data.items() if v is not None})


@pytest.fixture
def as_user(login):
    """as_user(user) → a signed-in client that knows its username."""
    def make(user):
        client = login(user)
        client.username = user.username
        return client
    return make


def signature_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Signature))


def test_inspector_signs_and_the_record_leaves_the_queue(as_user, users, make_record, db):
    """A correct signature binds printed name, meaning and the version's hash; the record is signed."""
    record = make_record(users.operator)
    assert signing.review_queue(users.inspector) == [record]
    response = sign(as_user(users.inspector), record)
    assert response.status_code == 303
    signature = db.session.scalar(select(Signature))
    version = record.versions[-1]
    assert (signature.printed_name, signature.meaning, signature.role) == (users.inspector.printed_name, "Reviewed", "inspector")
    assert signature.content_sha256 == version.sha256 and signature.record_version_id == version.id
    assert signature.auth_method == "password" and version.sha256 in signature.statement
    assert record.status == "signed" and signing.review_queue(users.inspector) == []
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "record.signed")) is not None


def test_wrong_password_is_refused_and_counted(as_user, users, make_record, db):
    """A wrong password signs nothing and counts towards the lockout."""
    record = make_record(users.operator)
    response = sign(as_user(users.inspector), record, password="wrong-password")
    assert response.status_code == 401 and "Wrong username or password." in response.get_data(as_text=True)
    assert signature_count(db) == 0
    assert db.session.get(LoginThrottle, "user:t-inspector").failures == 1


def test_five_wrong_signing_passwords_lock_the_signer(as_user, users, make_record, db):
    """Signing attempts share the sign-in lockout."""
    record, client = make_record(users.operator), as_user(users.inspector)
    for _ in range(5):
        sign(client, record, password="wrong-password")
    assert sign(client, record).status_code == 429
    assert signature_count(db) == 0


def test_signer_cannot_be_the_performer(as_user, users, make_record, db):
    """Whoever entered data in the record cannot sign it."""
    record = make_record(users.inspector)
    response = sign(as_user(users.inspector), record)
    assert response.status_code == 403 and "someone else must sign" in response.get_data(as_text=True)
    assert signature_count(db) == 0


def test_no_meaning_twice(as_user, users, make_record, db):
    """The same meaning cannot be signed twice on one version."""
    record, client = make_record(users.operator), as_user(users.inspector)
    assert sign(client, record).status_code == 303
    response = sign(as_user(users.supervisor), record)
    assert response.status_code == 409 and "already signed" in response.get_data(as_text=True)
    assert signature_count(db) == 1


def test_sign_off_order_holds(as_user, users, make_record, db):
    """'Approved' cannot come before 'Reviewed' on the first-article inspection."""
    record = make_record(users.operator, FAI)
    response = sign(as_user(users.supervisor), record, meaning="Approved")
    assert response.status_code == 409 and "comes first" in response.get_data(as_text=True)
    assert sign(as_user(users.inspector), record, meaning="Reviewed").status_code == 303
    assert record.status == "submitted" and record.awaiting_meaning == "Approved"
    assert sign(as_user(users.supervisor), record, meaning="Approved").status_code == 303
    assert record.status == "signed" and signature_count(db) == 2


def test_role_must_match_the_step(as_user, users, make_record, db):
    """An inspector cannot give the supervisor's 'Approved'."""
    record = make_record(users.operator, FAI)
    sign(as_user(users.inspector), record, meaning="Reviewed")
    other = as_user(users.inspector)
    assert sign(other, record, meaning="Approved").status_code in (403, 409)
    assert signature_count(db) == 1


def test_stale_hash_gets_409(as_user, users, make_record, db):
    """The request carries the hash of the version seen; a different one is refused with 409."""
    record = make_record(users.operator)
    response = sign(as_user(users.inspector), record, sha="0" * 64)
    assert response.status_code == 409 and "changed since you opened it" in response.get_data(as_text=True)
    assert signature_count(db) == 0


def test_pin_never_signs(as_user, users, make_record, db):
    """A PIN instead of a password is refused (unknown field) and signs nothing."""
    record = make_record(users.operator)
    response = sign(as_user(users.inspector), record, password=None, pin="1357")
    assert response.status_code == 422 and signature_count(db) == 0


def test_session_alone_never_signs(as_user, users, make_record, db):
    """A signed-in session without the password in the request signs nothing."""
    record = make_record(users.operator)
    response = sign(as_user(users.inspector), record, password=None)
    assert response.status_code == 422 and signature_count(db) == 0


def test_someone_elses_password_does_not_sign(as_user, users, make_user, make_record, db):
    """The re-entered credentials must be the signed-in user's own."""
    record = make_record(users.operator)
    make_user("inspector", username="other-inspector")
    response = sign(as_user(users.inspector), record, username="other-inspector")
    assert response.status_code == 403 and signature_count(db) == 0


@pytest.mark.parametrize("who", ["anonymous", "operator", "auditor"])
def test_kiosk_device_or_wrong_role_never_signs(client, as_user, users, make_record, tablet, app, db, who):
    """No session (a kiosk or device token only) or a role that does not sign: nothing is signed."""
    record = make_record(users.operator)
    caller = client if who == "anonymous" else as_user(getattr(users, who))
    caller.set_cookie(app.config["DEVICE_COOKIE"], tablet[1])
    data = {"username": "t-inspector", "password": PASSWORD, "meaning": "Reviewed", "sha256": record.versions[-1].sha256}
    response = caller.post_form(f"/review/{record.id}/sign?kiosk=board-token", data)
    assert response.status_code == (302 if who == "anonymous" else 403)
    assert signature_count(db) == 0


@pytest.mark.parametrize("statement", ["UPDATE signature SET meaning = 'Approved'", "DELETE FROM signature"])
def test_database_refuses_changing_a_signature(as_user, users, make_record, db, statement):
    """Raw SQL cannot change or remove a signature."""
    record = make_record(users.operator)
    sign(as_user(users.inspector), record)
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text(statement))
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(Signature.meaning)) == "Reviewed"


def test_review_page_shows_record_and_signing_form(as_user, users, make_record):
    """The review page shows answers, limits, versions, the trail and the signing form with the hash."""
    record = make_record(users.operator)
    html = as_user(users.inspector).get(f"/review/{record.id}").get_data(as_text=True)
    assert "Hydraulic pressure" in html and "LSL 140.0 · USL 160.0 bar" in html
    assert f'name="sha256" value="{record.versions[-1].sha256}"' in html
    assert "submission.submitted" in html and "Sign “Reviewed”" in html


def test_queue_filters_and_nav_count(as_user, users, make_record, plant):
    """The queue filters by line and form, and the navigation counts what waits."""
    make_record(users.operator)
    make_record(users.operator, FAI, "Press 2")
    client = as_user(users.inspector)
    page = client.get("/review").get_data(as_text=True)
    assert 'aria-label="2 waiting"' in page
    line2 = plant.stations["Press 3"].line.id
    assert "Nothing is waiting" in client.get(f"/review?line={line2}").get_data(as_text=True)
    only_fai = client.get(f"/review?form={FAI}").get_data(as_text=True)
    assert "Review First-article inspection" in only_fai and "Review Press start-of-shift" not in only_fai


def test_a_deviation_that_needs_a_supervisor_decision_blocks_signing(app, as_user, users, plant, db):
    """guards_in_place's on_fail requires supervisor_decision: no signature until a supervisor decides."""
    import uuid
    from app.services.floor import attachments, submissions
    from app.services.quality import deviations
    from app.services.records import versions
    from app.services.core.audit import Actor
    from tests.helpers.deviations import PASSING, PRESS, only_deviation, save
    from tests.helpers.photos import png
    actor = Actor(users.operator.id)
    draft = submissions.start_submission(str(uuid.uuid4()), plant.forms[PRESS].id, plant.stations["Press 1"].id, actor)
    for item, answer in {**PASSING, "guards_in_place": "fail", "hydraulic_pressure": 150.0}.items():
        save(draft, users.operator, item, answer)
    submissions.explain(draft, "guards_in_place", "Rear guard bent", "Press locked out", actor)
    photo = attachments.store_photo(png(), 10 << 20, users.operator.id)
    submissions.add_photo(draft, "guard_photo", photo.sha256, actor)
    versions.submit(draft, actor)
    inspector = as_user(users.inspector)
    page = inspector.get(f"/review/{draft.id}").get_data(as_text=True)
    deviation = only_deviation()
    assert "cannot be signed yet" in page and f"/deviations/{deviation.id}" in page
    assert 'name="password"' not in page
    response = sign(inspector, draft)
    assert response.status_code == 409 and f"#{deviation.id}" in response.get_data(as_text=True)
    assert signature_count(db) == 0

    supervisor = Actor(users.supervisor.id)
    deviations.acknowledge(deviation, supervisor)
    deviations.decide(deviation, "Fix the guard; run without it", None, "stop_line", users.supervisor, None, supervisor)
    assert sign(inspector, draft).status_code == 303
    assert signature_count(db) == 1
