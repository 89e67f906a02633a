"""The server process killed in the middle of an outbox replay: nothing lost, nothing twice."""
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.extensions import db
from app.models import Answer, AuditEvent, IdempotencyKey, RecordVersion
from tests.e2e.offline import enter, open_line_check, outbox_length, publish_offline_form
from tests.helpers.gunicorn import Gunicorn

VALUES = {f"reading_{i:02d}": f"{10 + i / 2:.1f}" for i in range(1, 19) if i != 7} | {"reading_07": "15.0"}


@pytest.fixture
def server(app, plant, make_user, tablet, database_url, tmp_path):
    """operator1, the Line readings check and a registered tablet in the test's database, served by gunicorn."""
    make_user("operator", username="operator1", badge="1001", pin="1234")
    publish_offline_form()
    db.session.commit()
    db.session.remove()
    served = Gunicorn(database_url, tmp_path).start()
    yield served
    served.stop()


def test_killing_the_server_mid_replay_loses_and_duplicates_nothing(app, server, tablet, tablet_context):
    """19 changes wait offline; gunicorn is SIGKILLed as the 6th goes out; a new process takes the rest once."""
    page, submission_id = open_line_check(tablet_context, server.url, (app.config["DEVICE_COOKIE"], tablet[1]),
                                          "1001", "1234")
    tablet_context.set_offline(True)
    for name, value in VALUES.items():
        enter(page, name, value)
    page.locator("#in-remark").fill("Killed mid-replay")
    page.locator("#in-remark").press("Tab")
    expect(page.locator("body")).to_have_attribute("data-outbox-count", "19")

    seen = []

    def cut_power(route):
        seen.append(route.request.url)
        route.continue_()
        if len(seen) == 6:
            server.kill()  # while the 6th change is in flight

    tablet_context.route("**/floor/submissions/*/items/*", cut_power)
    tablet_context.set_offline(False)
    deadline = time.monotonic() + 15
    while server.process.poll() is None and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert server.process.poll() is not None, "the replay never reached the sixth change"
    page.wait_for_timeout(500)
    waiting = outbox_length(page)
    assert 0 < waiting < 19  # stopped at the network error, the rest kept
    tablet_context.unroute("**/floor/submissions/*/items/*", cut_power)

    server.start()  # the same port, a new process
    deadline = time.monotonic() + 30
    while outbox_length(page) and time.monotonic() < deadline:
        page.evaluate("() => window.FloorbookOutboxPage.flush()")
        page.wait_for_timeout(300)
    assert outbox_length(page) == 0
    answers = db.session.scalars(select(Answer).where(Answer.submission_id == submission_id)).all()
    assert sorted((a.item_name, a.value) for a in answers) == sorted(
        [(n, float(v)) for n, v in VALUES.items()] + [("remark", "Killed mid-replay")])
    saved = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "answer.saved")
    assert db.session.scalar(saved) == 19
    assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 19
    assert db.session.scalar(select(func.count()).select_from(RecordVersion)) == 0
