"""Board screens: administration, the kiosk page, the polling fragment, and the SSE stream."""
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, BoardEvent, BoardScreen, Station
from app.services.board import boards
from app.services.floor import downtime
from app.services.core.audit import Actor
from tests.helpers.sse import EventStream


@pytest.fixture
def screen(plant, users):
    """A whole-site board screen and its kiosk token (boards.NewScreen)."""
    return boards.create_screen("Hall TV", None, Actor(users.admin.id))


def test_admin_creates_a_screen_with_a_secret_url(client, plant, users, login):
    admin = login(users.admin)
    response = admin.post_form("/admin/boards", {"name": "Assembly TV", "area_id": str(plant.stations["Press 1"].line.area_id)})
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    created = db.session.scalar(select(BoardScreen))
    assert created.name == "Assembly TV"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "board_screen.created")) is not None
    token = re.search(r"/board/([A-Za-z0-9_-]{32,})", response.get_data(as_text=True)).group(1)
    assert client.get(f"/board/{token}").status_code == 200
    assert token not in admin.get("/admin/boards").get_data(as_text=True)  # shown once, when made


def test_screen_needs_a_name(plant, users, login):
    response = login(users.admin).post_form("/admin/boards", {"name": "", "area_id": ""})
    assert response.status_code == 422
    assert "name" in response.get_data(as_text=True).lower()
    assert db.session.scalar(select(func.count(BoardScreen.id))) == 0


def test_kiosk_page_needs_no_login_and_shows_every_station(client, screen, plant):
    response = client.get(f"/board/{screen.token}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert '<meta name="csrf-token"' in html
    for name in plant.stations:
        assert f">{name}</h2>" in html
    assert html.count('class="tile ') == len(plant.stations) and 'data-status="down"' not in html
    assert f'data-events-url="/board/{screen.token}/events?since=' in html


def test_area_screen_shows_only_its_area(client, plant, users, make_user):
    from app.models import Area, Line, Station
    other = Area(site_id=plant.stations["Press 1"].line.area.site_id, name="Paint")
    db.session.add(Station(name="Booth 1", line=Line(name="Paint line", area=other)))
    db.session.commit()
    area_screen = boards.create_screen("Paint TV", other.id, Actor(users.admin.id))
    html = client.get(f"/board/{area_screen.token}").get_data(as_text=True)
    assert ">Booth 1</h2>" in html and ">Press 1</h2>" not in html


def test_unknown_and_revoked_tokens_get_404(client, screen, users, login):
    assert client.get("/board/not-a-token").status_code == 404
    login(users.admin).post_form(f"/admin/boards/{screen.screen.id}/revoke")
    assert db.session.get(BoardScreen, screen.screen.id).revoked_at is not None
    for path in ("", "/events", "/fragment"):
        assert client.get(f"/board/{screen.token}{path}").status_code == 404
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "board_screen.revoked")) is not None


def test_down_station_shows_down_with_reason_and_age(client, screen, plant, users):
    press = plant.stations["Press 1"]
    downtime.start_downtime(press, downtime_code(), "Oil under the press", Actor(users.operator.id))
    html = client.get(f"/board/{screen.token}").get_data(as_text=True)
    tile = html[html.index(f'id="tile-{press.id}"'):]
    tile = tile[:tile.index("</article>")]
    assert 'data-status="down"' in tile and "DOWN" in tile and "data-since=" in tile
    assert db.session.scalar(select(BoardEvent.kind).where(BoardEvent.station_id == press.id)) == "downtime"


def test_fragment_answers_304_when_nothing_changed(client, screen):
    first = client.get(f"/board/{screen.token}/fragment")
    assert first.status_code == 200 and first.headers["ETag"]
    again = client.get(f"/board/{screen.token}/fragment", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def downtime_code() -> str:
    """The first leaf code of the configured downtime reason tree."""
    from app.services.floor import reasons
    return reasons.downtime_tree()[0].children[0].code


# ---- the stream, over a real HTTP server --------------------------------------------------

@pytest.fixture
def stream_app(app):
    app.config.update(BOARD_HEARTBEAT_SECONDS=1, BOARD_POLL_SECONDS=0.2)
    return app


def test_stream_sends_a_changed_tile_at_commit(stream_app, screen, plant, users, request):
    press_id, token, operator_id, since = plant.stations["Press 2"].id, screen.token, users.operator.id, boards.latest_event_id()
    live = request.getfixturevalue("live_server")
    stream = EventStream(f"{live}/board/{token}/events?since={since}")
    assert stream.status == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
    assert stream.headers["Cache-Control"] == "no-cache" and stream.headers["X-Accel-Buffering"] == "no"
    stream.next_event("heartbeat")  # connected
    downtime.start_downtime(db.session.get(Station, press_id), downtime_code(), None, Actor(operator_id))
    message = stream.next_event("board", timeout=3)
    assert int(message.id) > since
    assert f'id="tile-{press_id}"' in message.data and 'data-status="down"' in message.data
    assert 'id="board-header-slot"' in message.data  # the header's totals come with it
    stream.close()


def test_stream_replays_after_last_event_id(stream_app, screen, plant, users, request):
    before = boards.latest_event_id()
    weld_id, token = plant.stations["Weld 1"].id, screen.token
    downtime.start_downtime(plant.stations["Weld 1"], downtime_code(), None, Actor(users.operator.id))
    live = request.getfixturevalue("live_server")
    stream = EventStream(f"{live}/board/{token}/events", headers={"Last-Event-ID": str(before)})
    message = stream.next_event("board", timeout=3)
    assert f'id="tile-{weld_id}"' in message.data and "DOWN" in message.data
    stream.close()


@pytest.mark.parametrize("position", [{"headers": {"Last-Event-ID": "9" * 30}}, {"query": "?since=-1"},
                                      {"query": "?since=%D9%A3", "headers": {"Last-Event-ID": "x"}}],
                         ids=["huge-last-event-id", "negative-since", "not-digits"])
def test_a_stream_given_no_usable_position_sends_the_whole_board(stream_app, screen, plant, request, position):
    """A position that is not 0 to 2³¹-1 in ASCII digits (30 nines overflowed the database integer) is taken as
    none: the TV gets the whole board at once, never an error that would stop its EventSource reconnecting."""
    token, press_id = screen.token, plant.stations["Press 1"].id
    live = request.getfixturevalue("live_server")
    stream = EventStream(f"{live}/board/{token}/events{position.get('query', '')}", headers=position.get("headers"))
    assert stream.status == 200
    message = stream.next_event("board", timeout=3)
    assert f'id="tile-{press_id}"' in message.data, (press_id, message.data.count("tile-"), message.id)
    assert int(message.id) == boards.latest_event_id()
    stream.close()


def test_heartbeat_carries_the_header(stream_app, screen, request):
    token = screen.token
    live = request.getfixturevalue("live_server")
    stream = EventStream(f"{live}/board/{token}/events?since=0")
    beat = stream.next_event("heartbeat", timeout=3)
    assert "data-site-clock" in beat.data and "Shift" in beat.data
    stream.close()


def test_revoking_ends_the_open_stream(stream_app, screen, users, request):
    screen_id, token, admin_id, since = screen.screen.id, screen.token, users.admin.id, boards.latest_event_id()
    live = request.getfixturevalue("live_server")
    stream = EventStream(f"{live}/board/{token}/events?since={since}")
    stream.next_event("heartbeat", timeout=3)
    boards.revoke_screen(db.session.get(BoardScreen, screen_id), Actor(admin_id))
    assert stream.next_event("revoked", timeout=3) is not None
    assert stream.messages.get(timeout=3) is None  # the server ended the stream
    assert EventStream(f"{live}/board/{token}/events").status == 404


def test_a_commit_from_another_process_reaches_the_stream(stream_app, screen, plant, users, request, database_url, tmp_path):
    """The feed poll (SQLite) or LISTEN/NOTIFY (PostgreSQL) wakes streams for changes other processes commit."""
    import subprocess
    import sys
    station_id, token, operator_id, since = plant.stations["Pack 1"].id, screen.token, users.operator.id, boards.latest_event_id()
    code = downtime_code()
    live = request.getfixturevalue("live_server")
    stream = EventStream(f"{live}/board/{token}/events?since={since}")
    stream.next_event("heartbeat", timeout=3)
    script = (
        "from app import create_app\nfrom app.config import TestingConfig\nfrom app.extensions import db\n"
        "from app.models import Station\nfrom app.services.floor import downtime\nfrom app.services.core.audit import Actor\n"
        f"app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI={database_url!r}, INSTANCE_PATH={str(tmp_path / 'other')!r})\n"
        "with app.app_context():\n"
        f"    downtime.start_downtime(db.session.get(Station, {station_id}), {code!r}, None, Actor({operator_id}))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    message = stream.next_event("board", timeout=5)
    assert f'id="tile-{station_id}"' in message.data and "DOWN" in message.data
    stream.close()


def test_an_overdue_check_shows_on_the_board(client, screen, plant):
    from datetime import datetime, timezone
    from app.models.types import frozen_clock
    press = plant.stations["Press 1"]
    # 08:00 CST on a weekday: the 06:00 shift's start-of-shift check (grace 30 min) is overdue.
    with frozen_clock(datetime(2026, 11, 24, 14, 0, tzinfo=timezone.utc)):
        html = client.get(f"/board/{screen.token}").get_data(as_text=True)
    tile = html[html.index(f'id="tile-{press.id}"'):]
    tile = tile[:tile.index("</article>")]
    assert 'data-status="attention"' in tile and "ATTENTION" in tile
    assert "Overdue: " in tile and "Press start-of-shift check" in tile
    assert "overdue</li>" in tile and "tile-overdue" in tile


def test_answers_and_submits_move_the_feed(plant, users, start_draft, make_record):
    before = boards.latest_event_id()
    record = make_record(users.operator)
    kinds = set(db.session.scalars(select(BoardEvent.kind).where(BoardEvent.id > before,
                                                                  BoardEvent.station_id == record.station_id)))
    assert {"started", "answer", "submitted"} <= kinds
