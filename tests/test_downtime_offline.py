"""Downtime kept on a tablet offline: dated by the tablet's clock when its outbox sends it, stopped by
station (a downtime started offline has no id on the tablet)."""
import json
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from app.models import AuditEvent, DowntimeEvent
from app.models.types import frozen_clock
from tests.test_downtime import operator, press  # noqa: F401 (fixtures)
from tests.helpers.outbox import tablet_token
from tests.test_idempotency import outbox_post

NOW = datetime(2026, 11, 24, 21, 0, tzinfo=timezone.utc)


def _sent(app, users, tablet, url: str, data: dict):
    with frozen_clock(NOW):
        return outbox_post(app, url, tablet_token(users.operator, tablet), str(uuid.uuid4()), data)


def test_a_downtime_kept_offline_lasts_as_long_as_it_did(app, users, press, db, tablet):
    """Started 20 min ago and stopped 5 min ago on the tablet, both sent now: 15 minutes of downtime,
    both moments in the audit trail."""
    start = _sent(app, users, tablet, "/floor/downtime", {"station_id": press.id, "reason_code": "hydraulic_leak",
                                                   "device_time": (NOW - timedelta(minutes=20)).isoformat()})
    assert start.status_code == 204 and start.headers["HX-Redirect"] == "/floor"
    stop = _sent(app, users, tablet, "/floor/downtime/stop", {"station_id": press.id, "fix": "Replaced the hose",
                                                       "device_time": (NOW - timedelta(minutes=5)).isoformat()})
    assert stop.status_code == 200 and "running again" in stop.get_data(as_text=True)
    event = db.session.scalar(select(DowntimeEvent))
    assert (event.started_at, event.ended_at) == (NOW - timedelta(minutes=20), NOW - timedelta(minutes=5))
    assert event.fix == "Replaced the hose" and event.ended_by_id == users.operator.id
    stopped = json.loads(db.session.scalar(select(AuditEvent.after_json).where(AuditEvent.action == "downtime.stopped")))
    assert stopped["ended_at"] == (NOW - timedelta(minutes=5)).isoformat()


def test_a_stop_dated_before_its_start_takes_the_servers_time(app, users, press, db, tablet):
    """A tablet clock that puts the stop before the start is not believed."""
    _sent(app, users, tablet, "/floor/downtime", {"station_id": press.id, "reason_code": "hydraulic_leak",
                                           "device_time": (NOW - timedelta(minutes=20)).isoformat()})
    _sent(app, users, tablet, "/floor/downtime/stop", {"station_id": press.id, "fix": "Reset",
                                                "device_time": (NOW - timedelta(minutes=30)).isoformat()})
    assert db.session.scalar(select(DowntimeEvent.ended_at)) == NOW


def test_stopping_a_station_that_runs_is_refused_with_the_reason(app, users, press, db, tablet):
    """409 naming the station; nothing recorded."""
    response = _sent(app, users, tablet, "/floor/downtime/stop", {"station_id": press.id, "fix": "Reset"})
    assert response.status_code == 409 and "No downtime is running at Press 1" in response.get_data(as_text=True)
    assert db.session.scalar(select(DowntimeEvent)) is None


def test_a_downtime_reported_online_is_dated_by_the_server(operator, press, db):  # noqa: F811
    """device_time on a start sent with the session does not date it."""
    with frozen_clock(NOW):
        response = operator.post_form("/floor/downtime", {"station_id": press.id, "reason_code": "hydraulic_leak",
                                                          "device_time": (NOW - timedelta(hours=1)).isoformat()})
    assert response.status_code == 303 and db.session.scalar(select(DowntimeEvent.started_at)) == NOW
