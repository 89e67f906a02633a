"""The changes the board latency bench (bench/board_latency.py) makes, and what one costs a stream: stations
flipped down and up through the app's services in the bench process, or as operator1 over HTTP like a tablet.
"""
import re
import statistics
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

from common import ROOT  # noqa: F401  (puts the project on sys.path)
from flask import Flask  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import DowntimeEvent, Station, User  # noqa: E402
from app.services.core.audit import Actor  # noqa: E402

PASSWORD = "operator1-demo"


# ---- changes --------------------------------------------------------------------------------

class Changer:
    """Flips a station down (downtime start) or up (stop); change() returns (time zero, 'down' | 'up')."""

    label = ""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.reason = self._leaf_reason()
        self.round_trips: list[float] = []

    def _leaf_reason(self) -> str:
        from app.services.floor.reasons import downtime_tree
        with self.app.app_context():
            return next(node.children[0].code for node in downtime_tree() if node.children)

    def running_id(self, station_id: int) -> int | None:
        """The station's running downtime (read, then the transaction ends: SQLite begins every one IMMEDIATE)."""
        with self.app.app_context():
            found = db.session.scalar(select(DowntimeEvent.id).where(DowntimeEvent.station_id == station_id,
                                                                     DowntimeEvent.ended_at.is_(None)))
            db.session.remove()
            return found

    def change(self, station_id: int) -> tuple[float, str]:
        raise NotImplementedError


class ServiceChanger(Changer):
    """Through app.services.floor.downtime in the bench process's own app context."""

    label = "bench process"

    def __init__(self, app: Flask) -> None:
        super().__init__(app)
        with app.app_context():
            self.actor = Actor(db.session.scalar(select(User.id).where(User.username == "operator1")))
            db.session.remove()

    def change(self, station_id: int) -> tuple[float, str]:
        from app.services.floor import downtime
        running = self.running_id(station_id)
        with self.app.app_context():
            if running is None:
                station = db.session.get(Station, station_id)
                downtime.start_downtime(station, self.reason, "board latency bench", self.actor)
                done, status = time.time(), "down"
            else:
                downtime.stop_downtime(db.session.get(DowntimeEvent, running), "bench: reset", self.actor)
                done, status = time.time(), "up"
            db.session.remove()
        return done, status


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class HttpChanger(Changer):
    """As operator1 over HTTP, the way a tablet does it: POST /floor/downtime, POST /floor/downtime/<id>/stop."""

    label = "operator POST"

    def __init__(self, app: Flask, base: str) -> None:
        super().__init__(app)
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect())
        page = self._get("/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        status = self._post("/login", {"username": "operator1", "password": PASSWORD, "csrf_token": token})
        if status not in (302, 303):
            raise RuntimeError(f"operator1 could not sign in (HTTP {status})")
        page = self._get("/floor/downtime/new?station_id=1")
        self.csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)

    def _get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.read().decode()

    def _post(self, path: str, form: dict) -> int:
        data = urllib.parse.urlencode(form).encode()
        try:
            with self.opener.open(self.base + path, data=data, timeout=30) as response:
                response.read()
                return response.status
        except urllib.error.HTTPError as error:  # 303 (no redirect followed), or a refusal
            error.read()
            return error.code

    def change(self, station_id: int) -> tuple[float, str]:
        running = self.running_id(station_id)
        if running is None:
            path, form, status = "/floor/downtime", {"station_id": station_id, "reason_code": self.reason,
                                                     "notes": "board latency bench"}, "down"
        else:
            path, form, status = f"/floor/downtime/{running}/stop", {"fix": "bench: reset"}, "up"
        sent = time.time()
        code = self._post(path, form | {"csrf_token": self.csrf})
        done = time.time()
        if code != 303:
            raise RuntimeError(f"POST {path} answered {code}, not 303")
        self.round_trips.append(done - sent)
        return done, status


# ---- the cost of one stream wake ----------------------------------------------------------------

def wake_cost(app: Flask, changer: Changer, station_id: int, rounds: int = 30) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of one stream wake after one change, done as app.board.stream does it: the
    first stream of a process to wake brings the area's board up to date (re-reads and re-renders the changed
    tile and the header: "first"); every other stream takes the shared message for its marks ("shared")."""
    from app.board.snapshot import AreaBoard
    from app.services.board import boards

    changer.change(station_id)
    with app.test_request_context():
        row = boards.latest_event_id()
        board = AreaBoard(None)
        board.catch_up(lambda applied: (0, {}, row - 1))  # the board as it stood before the change

        def first() -> str:
            fresh = AreaBoard(None)
            fresh.tiles, fresh.header, fresh.stamp = dict(board.tiles), board.header, board.stamp
            fresh.applied, fresh.position, fresh.minute, fresh._frame = 0, row - 1, board.minute, board._frame
            fresh.catch_up(lambda applied: (1, {station_id: row}, row))
            text, _, _ = fresh.message(board.stamp, row - 1)
            assert f'id="tile-{station_id}"' in text, "the wake found no change to send"
            return text

        costs = {}
        first()
        shared = AreaBoard(None)
        shared.__dict__.update(board.__dict__)
        shared.catch_up(lambda applied: (1, {station_id: row}, row))
        for kind, wake in (("first", first), ("shared", lambda: shared.message(board.stamp, row - 1)[0])):
            walls, cpus = [], []
            for _ in range(rounds):
                wall, cpu = time.perf_counter(), time.process_time()
                wake()
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
            costs[kind] = (statistics.median(walls), statistics.median(cpus))
    changer.change(station_id)  # and back
    return costs
