"""Downtime with no network: reported and ended on the tablet, shown at once on the station home, and
recorded by the server with the tablet's times once the connection is back."""
import time

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import DowntimeEvent
from app.models.types import utcnow
from tests.e2e.offline import at_station


def test_downtime_reported_and_ended_offline_reaches_the_server(app, plant, make_user, tablet, tablet_context, request):
    """Offline: Report downtime (the kept reason page), DOWN shown from the outbox, Running again with
    the fix; online: one downtime event by operator1 dated by the tablet, and the station home shows
    the server's panel again."""
    operator_id = make_user("operator", username="operator1", badge="1001", pin="1234").id
    station_id = plant.stations["Press 1"].id
    base = request.getfixturevalue("live_server")
    page = at_station(tablet_context, base, (app.config["DEVICE_COOKIE"], tablet[1]), "1001", "1234")
    kept = """() => caches.open("floorbook-pages").then((c) => c.keys())
                 .then((keys) => keys.map((r) => new URL(r.url).pathname + new URL(r.url).search))"""
    deadline = time.monotonic() + 10
    wanted = {"/floor", f"/floor/downtime/new?station_id={station_id}"}
    while not wanted <= set(page.evaluate(kept)):
        assert time.monotonic() < deadline, page.evaluate(kept)  # the station home and its reason page are kept
        page.wait_for_timeout(100)
    tablet_context.set_offline(True)
    offline_since = utcnow()

    page.get_by_role("link", name="Report downtime").tap()
    expect(page.get_by_role("heading", name="Report downtime")).to_be_visible()
    page.get_by_text("Hydraulic leak").tap()
    page.get_by_role("button", name="Start downtime").tap()
    panel = page.locator("#downtime-panel")
    expect(panel).to_contain_text("DOWN · Hydraulic leak")
    expect(panel).to_contain_text("Saved on this tablet")
    page.get_by_label("What fixed it?").fill("Replaced the hose")
    page.get_by_role("button", name="Running again").tap()
    expect(panel).to_contain_text("Running again. Fixed: Replaced the hose")
    expect(page.locator("body")).to_have_attribute("data-outbox-count", "2")
    assert db.session.scalar(select(DowntimeEvent)) is None
    db.session.rollback()

    time.sleep(1)
    online_at = utcnow()
    tablet_context.set_offline(False)
    expect(page.locator("body")).to_have_attribute("data-outbox-count", "0", timeout=10_000)
    expect(page.get_by_role("link", name="Report downtime")).to_be_visible()  # the server's own panel again
    events = db.session.scalars(select(DowntimeEvent)).all()
    found = [(e.reason_code, e.started_by_id, e.ended_by_id, e.fix, e.started_at, e.ended_at) for e in events]
    db.session.rollback()
    assert len(found) == 1
    reason, started_by, ended_by, fix, started_at, ended_at = found[0]
    assert (reason, started_by, ended_by, fix) == ("hydraulic_leak", operator_id, operator_id, "Replaced the hose")
    assert offline_since <= started_at <= ended_at < online_at  # the tablet's times, not the replay's
