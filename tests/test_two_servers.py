"""Two app servers over one database, as behind a load balancer: any server serves any file, and a change
made through one reaches a board streamed by the other.

Two gunicorn masters on two ports, each with its own instance folder, so nothing is shared but what a plant
shares: on PostgreSQL the database and the database blob store (FLOORBOOK_BLOB_STORE=database); on SQLite the
database file and one blob folder (FLOORBOOK_BLOB_DIR). The TV is read as a TV reads it: the board page from
one server, then the SSE stream its page names, with a plain HTTP client.
"""
import hashlib
import html
import http.cookiejar
import queue
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Attachment, Blob, DowntimeEvent, RenderedPdf
from app.services.board import boards
from app.services.core.audit import Actor
from app.services.core.blobs import init_blobs
from app.services.floor import reasons
from tests.helpers.builders import PASSWORD
from tests.helpers.gunicorn import Gunicorn
from tests.helpers.photos import jpeg_with_exif
from tests.helpers.sse import EventStream
from tests.test_pdf import sign

_TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


class Browser:
    """A signed-in person's cookies and CSRF token, against one server."""

    def __init__(self, base: str, username: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        token = _TOKEN.search(self.get("/login").read().decode()).group(1)
        form = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrf_token": token}).encode()
        try:
            self.opener.open(f"{base}/login", data=form, timeout=30)
        except urllib.error.HTTPError as error:  # signed in, then sent to the floor, which is not every role's
            assert error.code == 403, error
        self.csrf = _TOKEN.search(self.get("/account/password").read().decode()).group(1)  # the session's token

    def get(self, path: str, headers: dict | None = None):
        return self.opener.open(urllib.request.Request(f"{self.base}{path}", headers=headers or {}), timeout=60)

    def post(self, path: str, body: bytes, content_type: str):
        request = urllib.request.Request(f"{self.base}{path}", data=body, method="POST", headers={
            "Content-Type": content_type, "X-CSRFToken": self.csrf, "HX-Request": "true"})
        return self.opener.open(request, timeout=60)


def multipart(field: str, filename: str, data: bytes, kind: str) -> tuple[bytes, str]:
    """A multipart/form-data body with one file, as a browser sends a photo."""
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: {kind}\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def healthy(url: str) -> bool:
    try:
        return urllib.request.urlopen(f"{url}/healthz", timeout=2).status == 200
    except OSError:
        return False


@pytest.fixture
def shared_store(app, dialect, tmp_path) -> dict[str, str]:
    """The plant's blob store (database on PostgreSQL, one folder on SQLite), for the test's app and both servers."""
    store = {"FLOORBOOK_BLOB_STORE": "database"} if dialect == "postgresql" else \
        {"FLOORBOOK_BLOB_STORE": "folder", "FLOORBOOK_BLOB_DIR": str(tmp_path / "shared-blobs")}
    app.config.update(BLOB_STORE=store["FLOORBOOK_BLOB_STORE"], BLOB_DIR=store.get("FLOORBOOK_BLOB_DIR"))
    init_blobs(app)  # what the test makes through the services lands where the servers look
    return store


@pytest.fixture
def two_servers(app, database_url, shared_store, tmp_path):
    """Two gunicorns on this test's database and the shared blob store; yields (server A, server B)."""
    db.session.commit()
    db.session.remove()
    servers = []
    try:
        for name in ("a", "b"):
            folder = tmp_path / f"server-{name}"
            folder.mkdir()
            servers.append(Gunicorn(database_url, folder, GUNICORN_THREADS="8",
                                    FLOORBOOK_BOARD_HEARTBEAT_SECONDS="1", **shared_store).start())
        for server in servers:
            deadline = time.monotonic() + 30
            while not healthy(server.url):
                assert time.monotonic() < deadline, server.log.read_text(errors="replace")[-3000:]
                time.sleep(0.1)
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()


def test_any_server_serves_any_file_and_boards_hear_every_server(plant, users, start_draft, make_record, dialect,
                                                                  shared_store, request, tmp_path):
    """A photo uploaded through A and a PDF archived by A are served by B; a stop reported on A shows on B's TV."""
    draft = start_draft(users.operator)
    record = make_record(users.operator, form_id="press-start-of-shift", station="Press 2")
    sign(record.versions[-1], users.inspector)
    screen = boards.create_screen("Hall TV", None, Actor(users.admin.id))
    station_id = plant.stations["Press 3"].id
    leaf = reasons.downtime_tree()[0].children[0].code
    names = {role: getattr(users, role).username for role in ("operator", "auditor", "supervisor")}
    draft_id, record_id, token = draft.id, record.id, screen.token
    server_a, server_b = request.getfixturevalue("two_servers")  # started once the data is committed

    # A photo taken on a tablet served by A is shown by B: EXIF-free, with the same name and ETag.
    operator_a = Browser(server_a.url, names["operator"])
    photo = jpeg_with_exif((640, 480))
    body, kind = multipart("photo", "guard.jpg", photo, "image/jpeg")
    assert operator_a.post(f"/floor/submissions/{draft_id}/items/guard_photo/photo", body, kind).status == 200
    sha = hashlib.sha256(photo).hexdigest()
    lead_b = Browser(server_b.url, names["supervisor"])  # a draft's photo: its starter and supervisors see it
    served = lead_b.get(f"/floor/photos/{sha}.jpg")
    derivative = served.read()
    assert served.status == 200 and served.headers["Content-Type"] == "image/jpeg"
    assert b"SecretCam" in photo and b"SecretCam" not in derivative and derivative[:2] == b"\xff\xd8"
    etag = served.headers["ETag"]
    with pytest.raises(urllib.error.HTTPError) as not_modified:
        lead_b.get(f"/floor/photos/{sha}.jpg", headers={"If-None-Match": etag})
    assert not_modified.value.code == 304

    # A record PDF archived by A is served by B byte for byte (B finds A's blob; it renders nothing).
    auditor_a, auditor_b = Browser(server_a.url, names["auditor"]), Browser(server_b.url, names["auditor"])
    first = auditor_a.get(f"/records/{record_id}.pdf")
    pdf_a = first.read()
    second = auditor_b.get(f"/records/{record_id}.pdf")
    assert pdf_a.startswith(b"%PDF-") and second.read() == pdf_a and second.headers["ETag"] == first.headers["ETag"]

    # Nothing went to either server's own instance folder: the store is the shared one.
    for name in ("a", "b"):
        instance = tmp_path / f"server-{name}" / "instance"
        assert [p.name for p in instance.iterdir()] == [], name
    attachment = db.session.scalar(select(Attachment).where(Attachment.sha256 == sha))
    pdf_sha = db.session.scalar(select(RenderedPdf.pdf_sha256))
    if dialect == "postgresql":
        stored = set(db.session.scalars(select(Blob.sha256)))
        assert {sha, attachment.derivative_sha256, pdf_sha} <= stored
    else:
        shared = Path(shared_store["FLOORBOOK_BLOB_DIR"])
        assert (shared / sha[:2] / sha).read_bytes() == photo
        assert (shared / pdf_sha[:2] / pdf_sha).read_bytes() == pdf_a
        assert db.session.scalar(select(func.count()).select_from(Blob)) == 0
    db.session.remove()

    # A TV on B: the board page, then the stream it names; a stop reported through A shows on it.
    page = urllib.request.urlopen(f"{server_b.url}/board/{token}", timeout=30).read().decode()
    stream_path = html.unescape(re.search(r'data-events-url="([^"]+)"', page).group(1))
    tv = EventStream(f"{server_b.url}{stream_path}")
    try:
        assert tv.status == 200 and tv.headers["Content-Type"].startswith("text/event-stream")
        assert tv.messages.get(timeout=10) is not None  # the stream is live (a heartbeat or the board)
        supervisor_a = Browser(server_a.url, names["supervisor"])
        form = urllib.parse.urlencode({"station_id": station_id, "reason_code": leaf,
                                       "csrf_token": supervisor_a.csrf}).encode()
        supervisor_a.opener.open(f"{server_a.url}/floor/downtime", data=form, timeout=30)
        stopped = select(DowntimeEvent.reason_code).where(DowntimeEvent.station_id == station_id)
        assert db.session.scalar(stopped) == leaf
        db.session.remove()
        deadline = time.monotonic() + 10
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "no board event showed Press 3 down on the TV served by B"
            try:
                message = tv.next_event("board", timeout=remaining)
            except queue.Empty:
                pytest.fail("no board event showed Press 3 down on the TV served by B")
            assert message is not None, f"the stream ended: {Path(server_b.log).read_text(errors='replace')[-3000:]}"
            if f'id="tile-{station_id}"' in message.data and 'data-status="down"' in message.data:
                break
    finally:
        tv.close()
