"""Offline on a shared tablet, end to end in headless Chromium with touch: nothing entered is lost."""
import re

from playwright.sync_api import expect
from sqlalchemy import func, select

from app.extensions import db
from app.models import Answer, AuditEvent, IdempotencyKey, RecordVersion, Submission
from tests.e2e.offline import open_line_check, outbox_count, publish_offline_form, wait_for_worker
from tests.e2e.signin import badge_sign_in
from tests.helpers.photos import jpeg_with_exif

READINGS = {f"reading_{i:02d}": ("25.0" if i == 7 else f"{10 + i / 2:.1f}") for i in range(1, 19)}


def test_chromium_reports_the_station_home_installable(app, plant, make_user, tablet, installed_tablet, request):
    """The DevTools protocol finds nothing that stops installing the app from the station home."""
    make_user("operator", username="operator1", badge="1001", pin="1234")
    live_server = request.getfixturevalue("live_server")
    page = badge_sign_in(installed_tablet, live_server, (app.config["DEVICE_COOKIE"], tablet[1]), "1001", "1234")
    expect(page.get_by_role("heading", name="Press 1")).to_be_visible()
    wait_for_worker(page)
    cdp = installed_tablet.new_cdp_session(page)
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [] and manifest["url"].endswith("/manifest.webmanifest")


def test_a_checklist_filled_offline_reaches_the_server_once(app, plant, make_user, tablet, tablet_context, tmp_path,
                                                            request):
    """20 answers (one out of spec, one photo) and the submit made offline survive a reload, then arrive once."""
    operator = make_user("operator", username="operator1", badge="1001", pin="1234")
    operator_id = operator.id
    publish_offline_form()
    live_server = request.getfixturevalue("live_server")
    page, submission_id = open_line_check(tablet_context, live_server, (app.config["DEVICE_COOKIE"], tablet[1]),
                                          "1001", "1234")

    tablet_context.set_offline(True)
    for name, value in READINGS.items():
        field = page.locator(f"#in-{name}")
        field.tap()
        field.fill(value)
        field.press("Tab")
        expect(page.locator(f"#item-{name} .save-state")).to_have_attribute("data-state", "local")
    why = page.locator("#item-reading_07").get_by_label("Why is reading 7 out of range?")
    why.fill("Gauge knocked during changeover")
    page.locator("#item-reading_07").get_by_role("button", name="Save reason").tap()
    page.locator("#in-remark").fill("Line ran smooth")
    page.locator("#in-remark").press("Tab")
    photo = tmp_path / "line.jpg"
    photo.write_bytes(jpeg_with_exif((320, 240)))
    page.locator("#in-line_photo").set_input_files(str(photo))
    expect(page.get_by_role("img", name="Photo saved on this tablet")).to_be_visible()
    page.get_by_role("button", name="Submit checklist").tap()
    expect(page.locator("#submit-result")).to_contain_text("Submitted on this tablet")
    expect(page.locator("[data-outbox-badge]")).to_contain_text("22 waiting to send")

    # Still offline (the worker's fetches too): the page comes from the worker's cache, the answers from the outbox.
    assert page.reload().from_service_worker
    expect(page.get_by_role("heading", name="Line readings check")).to_be_visible()
    for name, value in READINGS.items():
        expect(page.locator(f"#in-{name}")).to_have_value(value)
    expect(page.locator("#item-reading_07").get_by_label("Why is reading 7 out of range?")).to_have_value(
        "Gauge knocked during changeover")
    expect(page.locator("#in-remark")).to_have_value("Line ran smooth")
    assert outbox_count(page) == 22
    assert db.session.scalar(select(func.count()).select_from(Answer)) == 0
    db.session.rollback()

    tablet_context.set_offline(False)
    expect(page.locator("body")).to_have_attribute("data-outbox-count", "0", timeout=10_000)
    expect(page).to_have_url(re.compile(rf"/records/{submission_id}"), timeout=10_000)
    assert page.evaluate(f"() => fetch('/records/{submission_id}.pdf').then(r => r.status)") == 200
    cached = page.evaluate("""async () => {
        const urls = [];
        for (const name of await caches.keys()) {
            for (const request of await (await caches.open(name)).keys()) urls.push(new URL(request.url).pathname);
        }
        return urls;
    }""")
    assert f"/floor/submissions/{submission_id}" in cached and "/offline" in cached
    assert not [url for url in cached if re.search(r"^/(login|logout|board)|\.pdf$|/records/", url)], cached
    answers = db.session.scalars(select(Answer).where(Answer.submission_id == submission_id)).all()
    assert sorted(a.item_name for a in answers) == sorted([*READINGS, "remark", "line_photo"])
    by_name = {a.item_name: a for a in answers}
    assert all(by_name[n].value == float(v) for n, v in READINGS.items())
    assert by_name["reading_07"].state == "fail" and by_name["reading_07"].reason == "Gauge knocked during changeover"
    assert by_name["remark"].value == "Line ran smooth" and len(by_name["line_photo"].value) == 1
    assert {a.answered_by_id for a in answers} == {operator_id}
    # Every kind kept offline (numbers, text, photo) is dated by the tablet, a reason given later included.
    assert [a.item_name for a in answers if not a.device_time] == []
    assert db.session.scalar(select(func.count()).select_from(RecordVersion)) == 1
    assert db.session.get(Submission, submission_id).status == "submitted"
    saved = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "answer.saved")
    assert db.session.scalar(saved) == 20
    assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 22
