"""Downtime: start and stop through the service and over HTTP, the banner and its age everywhere on the tablet."""
import json
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.config import ROOT
from app.services.core.errors import DomainError
from app.models import AuditEvent, BoardEvent, DowntimeEvent
from app.models.types import frozen_clock, utcnow
from app.services.floor import downtime
from app.services.core.audit import Actor, loads
from app.templating import age, site_time

LEAK = "Mechanical › Hydraulic leak"


@pytest.fixture
def press(plant):
    """Press 1."""
    return plant.stations["Press 1"]


@pytest.fixture
def operator(app, login, users, press, tablet):
    """The operator signed in on Press 1's registered tablet, working at Press 1."""
    client = login(users.operator, tablet=True)
    client.set_cookie(app.config["DEVICE_COOKIE"], tablet[1])
    assert client.post_form("/floor/station", {"station_id": press.id}).status_code == 302
    return client


def started(press, user, minutes_ago: float = 0, reason: str = "hydraulic_leak", notes: str | None = "oil under the ram"):
    """A downtime at press that began minutes_ago (real clock), through the service."""
    with frozen_clock(utcnow() - timedelta(minutes=minutes_ago)):
        return downtime.start_downtime(press, reason, notes, Actor(user.id))


def audit_events(db, action: str) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all()


def board_kinds(db, station) -> list[str]:
    return db.session.scalars(select(BoardEvent.kind).where(BoardEvent.station_id == station.id)).all()


def count_events(db) -> int:
    return db.session.scalar(select(func.count()).select_from(DowntimeEvent))


# ---- the service ---------------------------------------------------------------------------------

def test_start_freezes_the_label_audits_and_touches_the_board(db, press, users):
    """A start stores code and label path, writes downtime.started with the after state and a board event."""
    event = started(press, users.operator)
    db.session.expire_all()
    row = db.session.get(DowntimeEvent, event.id)
    assert (row.reason_code, row.reason_label, row.notes, row.ended_at) == ("hydraulic_leak", LEAK, "oil under the ram", None)
    assert row.started_by_id == users.operator.id
    [audit] = audit_events(db, "downtime.started")
    assert audit.entity_type == "downtime_event" and audit.entity_id == str(event.id) and audit.before_json is None
    after = loads(audit.after_json)
    assert after["reason_code"] == "hydraulic_leak" and after["reason_label"] == LEAK and after["ended_at"] is None
    assert board_kinds(db, press) == ["downtime"]
    assert downtime.running_at(press).id == event.id
    assert downtime.running_by_station() == {press.id: row}


def test_second_start_is_refused_naming_since_when_and_why(db, press, users):
    """While a downtime runs, another start is a 409 that says since when and for what; nothing is written."""
    first = started(press, users.operator)
    since = site_time(first.started_at, "%H:%M %Z")
    with pytest.raises(DomainError) as caught:
        downtime.start_downtime(press, "jam", None, Actor(users.operator.id))
    assert caught.value.status == 409
    assert f"already down since {since} ({LEAK})" in caught.value.message
    assert count_events(db) == 1 and len(audit_events(db, "downtime.started")) == 1


def test_race_lost_at_the_unique_index_answers_the_same_409(db, press, users, monkeypatch):
    """If another tablet inserts between check and insert, the index refuses it and the caller gets the 409."""
    first = started(press, users.operator)
    real = downtime.running_at
    calls = []

    def blind_then_real(station):
        calls.append(station.id)
        return None if len(calls) == 1 else real(station)
    monkeypatch.setattr(downtime, "running_at", blind_then_real)
    with pytest.raises(DomainError) as caught:
        downtime.start_downtime(press, "jam", None, Actor(users.operator.id))
    assert caught.value.status == 409 and "already down since" in caught.value.message and LEAK in caught.value.message
    db.session.expire_all()
    assert count_events(db) == 1 and real(press).id == first.id


def test_stop_records_the_fix_with_before_and_after(db, press, users):
    """Stopping ends the event, keeps what fixed it, audits before/after and touches the board."""
    event = started(press, users.operator, minutes_ago=30)
    downtime.stop_downtime(event, "  replaced hose, topped up oil  ", Actor(users.supervisor.id))
    db.session.expire_all()
    row = db.session.get(DowntimeEvent, event.id)
    assert row.fix == "replaced hose, topped up oil" and row.ended_by_id == users.supervisor.id
    assert row.ended_at is not None and row.ended_at > row.started_at
    [audit] = audit_events(db, "downtime.stopped")
    before, after = loads(audit.before_json), loads(audit.after_json)
    assert before["ended_at"] is None and before["fix"] is None
    assert after["fix"] == "replaced hose, topped up oil" and after["ended_by_id"] == users.supervisor.id
    assert board_kinds(db, press) == ["downtime", "downtime"]
    assert downtime.running_at(press) is None and downtime.running_by_station() == {}


@pytest.mark.parametrize("fix", ["", "   \n "])
def test_stop_without_a_fix_is_refused(db, press, users, fix):
    """A blank fix is a 422 on the fix field; the downtime keeps running."""
    event = started(press, users.operator)
    with pytest.raises(DomainError) as caught:
        downtime.stop_downtime(event, fix, Actor(users.operator.id))
    assert caught.value.status == 422 and "What fixed it?" in caught.value.errors["fix"][0]
    db.session.expire_all()
    assert downtime.running_at(press).id == event.id and audit_events(db, "downtime.stopped") == []


def test_stopping_an_ended_downtime_is_a_conflict(db, press, users):
    """The second stop is a 409 and changes nothing."""
    event = started(press, users.operator)
    downtime.stop_downtime(event, "reset breaker", Actor(users.operator.id))
    with pytest.raises(DomainError) as caught:
        downtime.stop_downtime(event, "again", Actor(users.operator.id))
    assert caught.value.status == 409 and "already ended" in caught.value.message
    db.session.expire_all()
    assert db.session.get(DowntimeEvent, event.id).fix == "reset breaker"


def test_recent_at_lists_newest_first_and_a_new_start_after_a_stop_is_allowed(db, press, users):
    """After a stop the station can go down again; recent_at shows both, newest first, within the limit."""
    first = started(press, users.operator, minutes_ago=60)
    downtime.stop_downtime(first, "cleared jam", Actor(users.operator.id))
    second = started(press, users.operator, reason="changeover", notes=None)
    assert [e.id for e in downtime.recent_at(press)] == [second.id, first.id]
    assert [e.id for e in downtime.recent_at(press, limit=1)] == [second.id]
    assert second.reason_label == "Planned › Changeover"


# ---- the reason page and start over HTTP ---------------------------------------------------------

def test_reason_page_groups_reasons_under_category_headings(operator, press):
    """Every category is a legend and every reason a labelled radio, with notes and a big Start."""
    response = operator.get(f"/floor/downtime/new?station_id={press.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Why did Press 1 stop?" in html
    assert '<legend class="reason-heading">Mechanical</legend>' in html
    assert '<legend class="reason-heading">Planned</legend>' in html
    assert 'id="reason-hydraulic_leak" name="reason_code" value="hydraulic_leak"' in html
    assert '<label class="segment" for="reason-hydraulic_leak">Hydraulic leak</label>' in html
    assert '<label for="downtime-notes">Notes (optional)</label>' in html
    assert ">Start downtime</button>" in html


@pytest.mark.parametrize("query,words", [("", "Choose the station that stopped."),
                                         ("?station_id=999999", "No station has id 999999")])
def test_reason_page_needs_a_known_station(operator, query, words):
    """A missing or unknown station is a 422 that names the station field."""
    response = operator.get(f"/floor/downtime/new{query}")
    assert response.status_code == 422 and words in response.get_data(as_text=True)


def test_start_by_form_post_goes_home_to_the_banner(db, operator, press, users):
    """A plain post starts the downtime and lands on the station home showing the red banner."""
    response = operator.post_form("/floor/downtime", {"station_id": press.id, "reason_code": "hydraulic_leak",
                                                      "notes": "oil under the ram"})
    assert response.status_code == 303 and response.headers["Location"] == "/floor"
    event = downtime.running_at(press)
    assert event.reason_label == LEAK and event.started_by_id == users.operator.id
    assert len(audit_events(db, "downtime.started")) == 1 and board_kinds(db, press) == ["downtime"]
    html = operator.get("/floor").get_data(as_text=True)
    assert "Downtime reported at Press 1: Mechanical › Hydraulic leak." in html
    assert 'class="downtime-banner"' in html and f"<strong>DOWN</strong> · {LEAK} · for" in html
    assert "Notes: oil under the ram" in html and "reported by T-Operator" in html


def test_start_with_htmx_redirects_the_whole_page(operator, press):
    """htmx is told to navigate to the station home."""
    response = operator.post_form("/floor/downtime", {"station_id": press.id, "reason_code": "jam"}, htmx=True)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/floor"
    assert downtime.running_at(press).reason_code == "jam"


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize("reason,words", [
    (None, "Pick the reason the station stopped."),
    ("", "Pick the reason the station stopped."),
    ("mechanical", "&#39;mechanical&#39; is the category Mechanical, not a reason"),
    ("made_up", "&#39;made_up&#39; is not a downtime reason"),
])
def test_start_without_a_valid_reason_re_renders_the_form(db, operator, press, htmx, reason, words):
    """A missing, category or unknown reason is a 422 whose message sits on the reason field; nothing starts."""
    data = {"station_id": press.id, "notes": "kept"} | ({} if reason is None else {"reason_code": reason})
    response = operator.post_form("/floor/downtime", data, htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'<p class="field-error" id="reason_code-error">{words}' in html
    assert 'aria-describedby="reason_code-error"' in html and ">kept</textarea>" in html
    assert ('<h1 class="page-title">' in html) is not htmx and '<div id="downtime-form"' in html
    assert count_events(db) == 0


def test_double_start_over_http_is_a_409_showing_the_running_downtime(db, operator, press, users):
    """The reason form answers 409 with the running downtime's banner and its Running again control."""
    started(press, users.operator, minutes_ago=5)
    response = operator.post_form("/floor/downtime", {"station_id": press.id, "reason_code": "jam"}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Press 1 is already down since" in html and f"({LEAK})" in html
    assert ">Running again</button>" in html and count_events(db) == 1


def test_start_with_an_unknown_station_is_a_422(operator):
    """A station id that is not a station is refused on the station field."""
    response = operator.post_form("/floor/downtime", {"station_id": 999999, "reason_code": "jam"})
    assert response.status_code == 422 and "No station has id 999999" in response.get_data(as_text=True)


def test_server_owned_fields_cannot_be_posted(db, operator, press):
    """started_by_id and friends are not inputs."""
    response = operator.post_form("/floor/downtime", {"station_id": press.id, "reason_code": "jam", "started_by_id": 1})
    assert response.status_code == 422 and count_events(db) == 0


# ---- stop over HTTP ------------------------------------------------------------------------------

def test_stop_with_htmx_swaps_the_panel_back_to_report(db, operator, press, users):
    """Running again with a fix ends the downtime and the panel offers Report downtime again."""
    event = started(press, users.operator, minutes_ago=12)
    response = operator.post_form(f"/floor/downtime/{event.id}/stop", {"fix": "replaced hose"}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="downtime-panel"')
    assert "✓ Press 1 is running again. Fixed: replaced hose" in html
    assert f'href="/floor/downtime/new?station_id={press.id}" data-offline-keep>Report downtime</a>' in html
    db.session.expire_all()
    assert db.session.get(DowntimeEvent, event.id).fix == "replaced hose"
    assert len(audit_events(db, "downtime.stopped")) == 1 and board_kinds(db, press) == ["downtime", "downtime"]


def test_stop_by_form_post_goes_home(db, operator, press, users):
    """A plain post ends the downtime and the home shows the Report downtime button and the notice."""
    event = started(press, users.operator)
    response = operator.post_form(f"/floor/downtime/{event.id}/stop", {"fix": "reset the breaker"})
    assert response.status_code == 303 and response.headers["Location"] == "/floor"
    html = operator.get("/floor").get_data(as_text=True)
    assert "Fixed: reset the breaker" in html and ">Report downtime</a>" in html and "downtime-banner" not in html


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize("data", [{}, {"fix": "  "}])
def test_stop_without_a_fix_asks_what_fixed_it(db, operator, press, users, htmx, data):
    """No fix: 422 with the message on the fix field, the downtime still running."""
    event = started(press, users.operator)
    response = operator.post_form(f"/floor/downtime/{event.id}/stop", data, htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<p class="field-error" id="fix-error">What fixed it?' in html and 'aria-describedby="fix-error"' in html
    assert ('<h1 class="page-title">Downtime · Press 1</h1>' in html) is not htmx
    db.session.expire_all()
    assert downtime.running_at(press).id == event.id


def test_stop_twice_is_a_409_and_unknown_event_a_404(db, operator, press, users):
    """An ended downtime cannot be stopped again; a missing one is not found."""
    event = started(press, users.operator)
    downtime.stop_downtime(event, "done", Actor(users.operator.id))
    response = operator.post_form(f"/floor/downtime/{event.id}/stop", {"fix": "again"}, htmx=True)
    assert response.status_code == 409 and "already ended" in response.get_data(as_text=True)
    assert operator.post_form("/floor/downtime/999999/stop", {"fix": "x"}).status_code == 404


# ---- the banner and its age everywhere -----------------------------------------------------------

def test_home_without_downtime_offers_report_downtime(operator, press):
    """No running downtime: a big Report downtime button for this station."""
    html = operator.get("/floor").get_data(as_text=True)
    assert f'<a class="btn btn-danger btn-large btn-block" href="/floor/downtime/new?station_id={press.id}" data-offline-keep>Report downtime</a>' in html
    assert "downtime-banner" not in html


def test_home_banner_shows_age_since_and_the_stop_form(operator, press, users):
    """The banner says DOWN, the reason, the age rendered by the server, the site time and asks what fixed it."""
    event = started(press, users.operator, minutes_ago=23.2)
    html = operator.get("/floor").get_data(as_text=True)
    since_iso = event.started_at.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    assert f'<span class="age downtime-age" data-since="{since_iso}"' in html
    assert f'{LEAK} · for <span class="age downtime-age"' in html and '">23 min</span>' in html
    assert f"(since {site_time(event.started_at, '%H:%M')})" in html
    assert '<label for="downtime-fix">What fixed it?</label>' in html and ">Running again</button>" in html
    assert f'action="/floor/downtime/{event.id}/stop"' in html and 'hx-target="#downtime-panel"' in html


def test_fill_page_shows_the_running_downtime_of_its_station(operator, press, users, start_draft):
    """A draft at a station that is down shows the banner with its age; a draft elsewhere does not."""
    here, elsewhere = start_draft(users.operator), start_draft(users.operator, station="Press 2")
    started(press, users.operator, minutes_ago=65.5)
    html = operator.get(f"/floor/submissions/{here.id}").get_data(as_text=True)
    assert "downtime-banner" in html and '">1 h 05 min</span>' in html and LEAK in html
    assert "downtime-banner" not in operator.get(f"/floor/submissions/{elsewhere.id}").get_data(as_text=True)


def test_auditors_see_no_draft_and_so_no_stop_control(login, users, press, start_draft):
    """Auditors read records, not drafts (issue 11, finding 3): the fill page of a draft at a station that is
    down is refused them, stop control and all."""
    draft = start_draft(users.operator)
    started(press, users.operator)
    response = login(users.auditor).get(f"/floor/submissions/{draft.id}")
    assert response.status_code == 403 and "Running again" not in response.get_data(as_text=True)


def test_base_page_loads_the_ages_script(operator):
    """Every page loads static/js/ages.js from our own origin, and it is served."""
    html = operator.get("/floor").get_data(as_text=True)
    assert '<script src="/static/js/ages.js" defer></script>' in html
    assert operator.get("/static/js/ages.js").status_code == 200


NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
AGES = [(0, "<1 min"), (59, "<1 min"), (60, "1 min"), (12 * 60 + 30, "12 min"), (59 * 60 + 59, "59 min"),
        (65 * 60, "1 h 05 min"), (23 * 3600 + 59 * 60, "23 h 59 min"), (51 * 3600 + 10 * 60, "2 d 3 h"),
        (-30, "<1 min")]


@pytest.mark.parametrize("seconds,text", AGES)
def test_age_filter_words(seconds, text):
    """Minutes under an hour, hours and zero-padded minutes under a day, then days and hours."""
    assert age(NOW - timedelta(seconds=seconds), NOW) == text


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_ages_script_says_what_the_filter_says():
    """ages.js renders the same words as the age filter, on the server's clock when data-now is given."""
    device_now = NOW + timedelta(hours=3)  # a tablet whose clock is three hours fast
    elements = [{"since": (NOW - timedelta(seconds=s)).isoformat(), "now": NOW.isoformat()} for s, _ in AGES]
    elements.append({"since": (device_now - timedelta(minutes=7)).isoformat(), "now": ""})  # no data-now: device clock
    harness = """
const els = %s.map((d) => ({dataset: d, textContent: "?"}));
globalThis.Date.now = () => %d;
globalThis.window = {setInterval() {}};
globalThis.document = {readyState: "complete", addEventListener() {}, querySelectorAll: () => els};
require(%s);
console.log(JSON.stringify(els.map((e) => e.textContent)));
""" % (json.dumps(elements), int(device_now.timestamp() * 1000), json.dumps(str(ROOT / "static" / "js" / "ages.js")))
    out = subprocess.run(["node", "-e", harness], capture_output=True, text=True, timeout=30, check=True).stdout
    assert json.loads(out) == [text for _, text in AGES] + ["7 min"]
