"""Inspector sign-off end to end in headless Chromium."""
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import LoginThrottle, Signature
from tests.e2e.signin import password_sign_in


def test_inspector_reviews_and_signs_with_password(app, make_user, make_record, tablet_context, request):
    """inspector1 opens the queue, reviews operator1's record, a wrong password is refused and counted,
    the right one signs "Reviewed", and the record leaves the queue."""
    operator = make_user("operator", username="operator1", password="operator1-demo", badge="1001", pin="1234",
                         demo=True)
    make_user("inspector", username="inspector1", password="inspector1-demo", demo=True)
    record_id = make_record(operator).id
    live_server = request.getfixturevalue("live_server")

    page = password_sign_in(tablet_context, live_server, "inspector1", "inspector1-demo")
    page.get_by_role("link", name="Review 1 waiting").tap()
    expect(page.get_by_role("heading", name="Waiting for your signature")).to_be_visible()
    page.get_by_role("link", name="Review Press start-of-shift check · Press 1").tap()
    expect(page.get_by_text("LSL 140.0 · USL 160.0 bar")).to_be_visible()

    page.get_by_label("Username").fill("inspector1")
    page.get_by_label("Password").fill("not-my-password")
    page.get_by_role("button", name="Sign “Reviewed”").tap()
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password.")
    assert db.session.get(LoginThrottle, "user:inspector1").failures == 1
    assert db.session.scalar(select(Signature)) is None
    db.session.remove()

    page.get_by_label("Username").fill("inspector1")
    page.get_by_label("Password").fill("inspector1-demo")
    page.get_by_role("button", name="Sign “Reviewed”").tap()
    expect(page.get_by_text("Nothing is waiting for your signature.")).to_be_visible()
    expect(page.get_by_role("status").first).to_contain_text("Signed “Reviewed”")

    signature = db.session.scalar(select(Signature))
    assert signature.printed_name == "Inspector1" and signature.meaning == "Reviewed"
    assert signature.record_version.submission_id == record_id
