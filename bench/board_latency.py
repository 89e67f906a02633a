"""Live board latency: commit-to-DOM-update p50/p95 on N real boards (headless Chromium on the kiosk URL),
beside the staleness of a board that polls every 10 s (the fallback), measured in the same run.

Each scenario serves a fresh demo plant with gunicorn (gthread): SQLite with one worker, PostgreSQL with two.
N kiosk pages (one browser context each, like N TVs) watch their tiles with a MutationObserver that stamps
every change of a tile's data-status with Date.now(). The bench flips stations down and up (downtime start /
stop) and stamps time.time() right after the commit; both clocks are this machine's wall clock. A change is
made either
- from the bench process through the app's services ("bench process"): a commit in another process, which
  the workers see through PostgreSQL NOTIFY, or on SQLite through their poll of max(board_event.id); or
- through the server over HTTP as a signed-in operator ("operator POST", SQLite only): the worker that
  commits wakes its own streams in process. Time zero is then the POST's response (the commit precedes it
  by the redirect's build, about a millisecond); the POST round trip is printed too.
The next change waits until every board has shown the previous one (or a timeout, counted as a miss), plus
0.3 s after the commit at least, then a random 0-0.5 s so changes are not phase-locked to the 0.5 s feed poll.
Beside it, the server's own cost of one stream wake (what each stream does for each change: read the feed,
build the board, render the changed tiles) is timed in the bench process on the same database.
The polling baseline is a kiosk page whose stream is blocked (the browser aborts /events), so board.js falls
back to fetching /board/<token>/fragment every 10 s; changes come at random 2-4 s gaps on rotating stations.
CPU per change is read from /proc for the server (gunicorn's processes), the browser (Chromium and the
Playwright driver) and the bench process: the boards share this machine's cores with the server.

Run: .venv/bin/python bench/board_latency.py [--changes 100] [--boards 1,50] [--engines sqlite,postgresql]
     [--quick]   (needs /usr/bin/chromium; PostgreSQL at 127.0.0.1:5432, trust auth, user postgres)
"""
import argparse
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Iterator

from common import ROOT  # noqa: F401  (puts the project on sys.path)
from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402

from app import create_app  # noqa: E402
from app.config import DevelopmentConfig  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import DowntimeEvent, Station, User  # noqa: E402
from app.services.audit import Actor  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
THREADS = 80          # gunicorn threads per worker: each open stream holds one
TIMEOUT = 5.0         # a change not shown on a board within this is a miss
GAP = 0.3             # seconds at least from one commit to the next, and after every board has it ...
JITTER = 0.5          # ... plus a random 0-0.5 s: change times fall at random phases of the 0.5 s feed poll
POLL_GAP = (2.0, 4.0)  # polling baseline: rotating over 6 stations, one station changes every >= 12 s
POLL_SECONDS = 10
WARM_UP = 1.5         # after the boards connect: a worker's feed poll takes its baseline on its first read
TOLERANCE = 0.05      # a DOM stamp this much before time zero still counts (the HTTP path's response clock)
PASSWORD = "operator1-demo"
STREAM_URL = re.compile(r".*/board/[^/]+/events(\?.*)?$")
ENGINE_LABEL = {"sqlite": "SQLite, 1 worker", "postgresql": "PostgreSQL, 2 workers"}
WORKERS = {"sqlite": 1, "postgresql": 2}

# Stamps every change of a tile's data-status (out-of-band tile swaps and whole-body swaps alike).
OBSERVER = """
(() => {
  window.__fbLog = []; window.__fbOpen = false;
  const last = {};
  function scan() {
    const now = Date.now();
    for (const el of document.querySelectorAll('article[id^="tile-"]')) {
      const status = el.getAttribute('data-status');
      if (last[el.id] !== status) {
        if (last[el.id] !== undefined) {
          window.__fbLog.push([el.id, status, now]);
          if (window.__fbSeen) { window.__fbSeen(el.id, status, now); }
        }
        last[el.id] = status;
      }
    }
  }
  window.__fbOpens = 0; window.__fbErrors = 0;
  document.addEventListener('htmx:sseOpen', () => { window.__fbOpen = true; window.__fbOpens += 1; });
  document.addEventListener('htmx:sseError', () => { window.__fbErrors += 1; });
  document.addEventListener('DOMContentLoaded', () => {
    scan();
    new MutationObserver(scan).observe(document.body,
      {subtree: true, childList: true, attributes: true, attributeFilter: ['data-status']});
  });
})();
"""


# ---- machine, database and server -------------------------------------------------------------

def machine() -> str:
    """One line of machine facts for the results table."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} cores ({cpu}), {platform.freedesktop_os_release().get('PRETTY_NAME', '')}, "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {chromium}")


@contextmanager
def database(engine: str, tmp: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file in tmp, or a new PostgreSQL database dropped afterwards."""
    if engine == "sqlite":
        yield f"sqlite:///{tmp / 'floorbook.sqlite3'}"
        return
    name = f"floorbook_bench_{os.getpid()}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(url: str, instance: Path) -> tuple[Flask, str]:
    """Migrate, seed the demo plant (no history) and create a whole-site screen: (the bench's app, token)."""
    from app.services.board import create_screen
    from app.services.demo import seed_demo

    # Cheap hashes for the seeded demo users: the server verifies whatever parameters a hash carries.
    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url, INSTANCE_PATH=str(instance),
                     PASSWORD_HASH_PARAMS={"time_cost": 1, "memory_cost": 1024, "parallelism": 1})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        seed_demo(Path(app.config["FORMS_DIR"]), Path(app.instance_path), 0)
        admin = db.session.scalar(select(User.id).where(User.username == "admin"))
        token = create_screen("Bench TV", None, Actor(admin)).token
        db.session.remove()
    return app, token


def wake_cost(app: Flask, changer: "Changer", station_id: int, rounds: int = 30) -> tuple[float, float]:
    """Median (wall, CPU) seconds of one stream wake after one change, done as app.board.stream does it:
    is the screen live, read the feed after the last position, build the board, render the changed tiles."""
    from app.board import stream
    from app.database import read_only
    from app.models import BoardScreen
    from app.services import board

    with app.test_request_context():
        screen_id = db.session.scalar(select(BoardScreen.id))
        last = board.latest_event_id()
        db.session.remove()
    changer.change(station_id)
    walls, cpus = [], []
    with app.test_request_context():
        for _ in range(rounds):
            wall, cpu = time.perf_counter(), time.process_time()
            read_only(db.session)
            board.is_live(screen_id)
            message, _ = stream._changes(db.session.get(BoardScreen, screen_id), last, full=False)
            db.session.remove()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            assert message, "the wake found no change to send"
    changer.change(station_id)  # and back
    return statistics.median(walls), statistics.median(cpus)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(url: str, instance: Path, workers: int, log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """gunicorn (gthread, gunicorn.conf.py) on a free loopback port until /healthz answers; killed afterwards."""
    port = free_port()
    env = dict(os.environ, FLOORBOOK_ENV="development", DATABASE_URL=url, FLOORBOOK_INSTANCE=str(instance),
               HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY=str(workers), GUNICORN_THREADS=str(THREADS))
    with open(log, "ab") as out:
        proc = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{tail(log)}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.time() > deadline:
                raise RuntimeError(f"gunicorn did not answer /healthz within 60 s:\n{tail(log)}")
            time.sleep(0.2)
        yield base, proc
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen) -> None:
    """TERM the process group we started, KILL it if it lingers (open streams would hold a graceful stop)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def descendants(root: int) -> set[int]:
    """Every live process below root."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def cpu_seconds(pids: set[int]) -> float:
    """User + system CPU seconds the live processes pids have used so far."""
    total = 0
    for pid in pids:
        if fields := _stat(pid):
            total += int(fields[11]) + int(fields[12])
    return total / TICK


class CpuMeter:
    """CPU used by the server (gunicorn's group), the browser (everything else below this process) and the
    bench process itself between start() and stop()."""

    def __init__(self, server: subprocess.Popen) -> None:
        self.server = server

    def _now(self) -> dict[str, float]:
        server = {self.server.pid} | descendants(self.server.pid)
        browser = descendants(os.getpid()) - server
        mine = os.times()
        return {"server": cpu_seconds(server), "browser": cpu_seconds(browser), "bench": mine.user + mine.system}

    def start(self) -> None:
        self.before = self._now()

    def per_change(self, changes: int) -> dict[str, float]:
        after = self._now()
        return {k: (after[k] - self.before[k]) / changes * 1000 for k in after}


def stream_split(port: int, pids: set[int]) -> str:
    """How many established connections each gunicorn worker holds (the streams' spread), from `ss`."""
    out = subprocess.run(["ss", "-Htnp", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True).stdout
    counts: dict[int, int] = {}
    for pid in map(int, re.findall(r"pid=(\d+)", out)):
        if pid in pids:
            counts[pid] = counts.get(pid, 0) + 1
    return "/".join(str(n) for n in sorted(counts.values(), reverse=True)) or "?"


def worker_pids(proc: subprocess.Popen) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


# ---- changes --------------------------------------------------------------------------------

class Changer:
    """Flips a station down (downtime start) or up (stop); change() returns (time zero, 'down' | 'up')."""

    label = ""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.reason = self._leaf_reason()
        self.round_trips: list[float] = []

    def _leaf_reason(self) -> str:
        from app.services.reasons import downtime_tree
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
    """Through app.services.downtime in the bench process's own app context."""

    label = "bench process"

    def __init__(self, app: Flask) -> None:
        super().__init__(app)
        with app.app_context():
            self.actor = Actor(db.session.scalar(select(User.id).where(User.username == "operator1")))
            db.session.remove()

    def change(self, station_id: int) -> tuple[float, str]:
        from app.services import downtime
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


# ---- boards ----------------------------------------------------------------------------------

class BoardPool:
    """Kiosk pages, one browser context each (each TV is its own browser, so no page shares another's
    6-connections-per-host cap). Pages are made once and re-pointed at each server: starting 50 Chromium
    renderers is the slow part on a small machine."""

    SMALL = {"width": 640, "height": 360}
    TV = {"width": 1920, "height": 1080}

    def __init__(self, browser) -> None:
        self.browser = browser
        self.contexts, self.pages, self.seen = [], [], []
        self.n = 0

    def _grow(self, n: int) -> None:
        while len(self.pages) < n:
            context = self.browser.new_context(viewport=self.SMALL)
            context.set_default_timeout(30_000)
            context.add_init_script(OBSERVER)
            seen: list[tuple[str, str, float]] = []
            context.expose_binding("__fbSeen", lambda _source, tile, status, at, seen=seen:
                                   seen.append((tile, status, at / 1000)))
            self.contexts.append(context)
            self.pages.append(context.new_page())
            self.seen.append(seen)

    def attach(self, url: str, n: int, block_stream: bool = False) -> None:
        """Point the first n pages at url and wait until every stream is open (with block_stream: the one
        page is refused its stream, so board.js polls the fragment instead)."""
        self.detach()
        self._grow(n)
        self.pages[0].set_viewport_size(self.TV if n == 1 else self.SMALL)
        if block_stream:
            self.pages[0].route(STREAM_URL, lambda route: route.abort())
        for page, seen in zip(self.pages[:n], self.seen):
            seen.clear()
            page.goto(url, wait_until="commit")  # it goes on loading while the next one is pointed
        self.n = n
        if block_stream:
            self.pages[0].wait_for_selector("body.board--polling", state="attached")
            return
        deadline = time.time() + 180
        for page in self.pages[:n]:  # (wait_for_function would evaluate a string: the board's CSP forbids it)
            while not self._ask(page, "window.__fbOpen === true"):
                if time.time() > deadline:
                    raise RuntimeError("a board's stream did not open within 180 s")
                page.wait_for_timeout(50)

    def detach(self) -> None:
        """Close the pages' streams (about:blank) and lift the stream block."""
        for page in self.pages[:self.n]:
            page.goto("about:blank")
        if self.pages:
            self.pages[0].unroute(STREAM_URL)
        self.n = 0

    @staticmethod
    def _ask(page, expression: str):
        try:
            return page.evaluate(expression)
        except Exception:  # still navigating: its execution context is not there yet
            return None

    @property
    def active_seen(self) -> list[list[tuple[str, str, float]]]:
        return self.seen[:self.n]

    def pump(self, ms: float) -> None:
        """Let Playwright deliver the pages' callbacks for ms milliseconds."""
        self.pages[0].wait_for_timeout(max(1, ms))

    def logs(self) -> list[list[tuple[str, str, float]]]:
        """Every page's own record of tile changes: [(tile id, status, seconds since the epoch)]."""
        return [[(tile, status, at / 1000) for tile, status, at in page.evaluate("window.__fbLog")]
                for page in self.pages[:self.n]]

    def stream_trouble(self) -> tuple[int, int]:
        """(reconnects, stream errors) the pages saw so far since they were attached."""
        opens = errors = 0
        for page in self.pages[:self.n]:
            opens += max(0, (page.evaluate("window.__fbOpens") or 1) - 1)
            errors += page.evaluate("window.__fbErrors") or 0
        return opens, errors

    def close(self) -> None:
        for context in self.contexts:
            try:
                context.close()
            except Exception:  # the browser may be gone already; nothing else to release
                pass


def shows(status: str, wanted: str) -> bool:
    return (status == "down") == (wanted == "down")


@dataclass
class Change:
    station_id: int
    status: str
    at: float


@dataclass
class Result:
    name: str
    boards: int
    changes: list[Change]
    latencies: list[float] = field(default_factory=list)   # every (board, change) delivered
    slowest: list[float] = field(default_factory=list)     # per change: the last board to show it
    missed: int = 0
    note: str = ""
    cpu: dict[str, float] = field(default_factory=dict)  # CPU milliseconds per change: server, browser, bench
    load: float = 0.0                                     # the machine's 1-minute load average at the end

    @property
    def expected(self) -> int:
        return self.boards * len(self.changes)


def match(changes: list[Change], logs: list[list[tuple[str, str, float]]], name: str, timeout: float) -> Result:
    """Pair each change with the first matching tile change on each page between its time zero and the
    station's next change (or timeout after the last one)."""
    result = Result(name, len(logs), changes)
    ends = []
    for k, change in enumerate(changes):
        later = [c.at for c in changes[k + 1:] if c.station_id == change.station_id]
        ends.append(later[0] if later else change.at + timeout)
    per_change: list[list[float]] = [[] for _ in changes]
    for log in logs:
        for k, change in enumerate(changes):
            tile = f"tile-{change.station_id}"
            hit = next((at for t, status, at in log if t == tile and shows(status, change.status)
                        and change.at - TOLERANCE <= at < ends[k]), None)
            if hit is None:
                result.missed += 1
            else:
                per_change[k].append(hit - change.at)
    result.latencies = [x for xs in per_change for x in xs]
    result.slowest = [max(xs) for xs in per_change if len(xs) == len(logs)]
    return result


def drive(boards: BoardPool, changer: Changer, stations: list[int], count: int, gap: tuple[float, float],
          rng: random.Random, wait_all: bool = True) -> list[Change]:
    """count changes rotating over the stations. With wait_all, each waits for every board to show the
    previous one (or TIMEOUT), then gap[0] after its commit, then a random 0..gap[1]; else gap is the range
    of the interval from one commit to the next."""
    changes: list[Change] = []
    for k in range(count):
        station = stations[k % len(stations)]
        at, status = changer.change(station)
        changes.append(Change(station, status, at))
        tile = f"tile-{station}"
        if wait_all:
            deadline = at + TIMEOUT
            while time.time() < deadline:
                if all(any(t == tile and shows(s, status) and a >= at - TOLERANCE for t, s, a in seen[-20:])
                       for seen in boards.active_seen):
                    break
                boards.pump(5)
        if wait_all:
            pause = max(at + gap[0], time.time()) + rng.uniform(0, gap[1]) - time.time()
        else:
            pause = at + rng.uniform(*gap) - time.time()
        if pause > 0:
            boards.pump(pause * 1000)
    return changes


def settle(boards: BoardPool, changes: list[Change], seconds: float) -> None:
    """Give the last change its full chance to arrive before the logs are read."""
    remaining = changes[-1].at + seconds - time.time()
    if remaining > 0:
        boards.pump(remaining * 1000)


# ---- report ----------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def report(results: list[Result], baseline: Result | None) -> None:
    print()
    print(f"{'scenario':52} {'boards':>6} {'delivered':>11} {'p50':>9} {'p95':>9} {'max':>9} {'last board':>10}"
          f" | CPU ms per change: {'server':>6} {'browser':>7} {'bench':>5} | load")
    for r in results:
        if not r.latencies:
            print(f"{r.name:52} {r.boards:6} {0:>5}/{r.expected:<5} (nothing delivered)")
            continue
        last = ms(statistics.median(r.slowest)) if r.slowest else "-"
        print(f"{r.name:52} {r.boards:6} {len(r.latencies):>5}/{r.expected:<5} {ms(pct(r.latencies, 50)):>9} "
              f"{ms(pct(r.latencies, 95)):>9} {ms(max(r.latencies)):>9} {last:>10} | {'':19}"
              f"{r.cpu.get('server', 0):6.0f} {r.cpu.get('browser', 0):7.0f} {r.cpu.get('bench', 0):5.0f} | {r.load:.1f}")
        if r.note:
            print(f"{'':54}{r.note}")
    print("(p50/p95/max over every board and change; 'last board': median over changes of the slowest board)")
    if baseline and baseline.latencies:
        mean = statistics.fmean(baseline.latencies)
        print(f"{baseline.name:52} {baseline.boards:6} {len(baseline.latencies):>5}/{baseline.expected:<5} "
              f"{ms(pct(baseline.latencies, 50)):>9} {ms(pct(baseline.latencies, 95)):>9} "
              f"{ms(max(baseline.latencies)):>9}   mean {ms(mean)}")
        print(f"\npolling every {POLL_SECONDS} s: mean staleness {ms(mean)} measured ({POLL_SECONDS / 2:.0f} s "
              f"expected for changes at random times)")
        for r in results:
            if r.latencies:
                print(f"  {mean / pct(r.latencies, 50):8,.0f}x the stream's p50: {r.name}, {r.boards} board(s)")


# ---- scenarios -------------------------------------------------------------------------------

def run_engine(engine: str, pool: BoardPool, options, rng: random.Random, results: list[Result],
               wakes: dict[str, tuple[float, float]]) -> Result | None:
    """Every board count (and change path) on one engine; on the first engine also the polling baseline."""
    tmp = Path(tempfile.mkdtemp(prefix=f"floorbook-board-{engine}-"))
    baseline = None
    try:
        with database(engine, tmp) as url:
            started = time.perf_counter()
            app, token = prepare(url, tmp / "instance")
            with app.app_context():
                stations = list(db.session.scalars(select(Station.id).order_by(Station.id)))
                db.session.remove()
            log = tmp / "gunicorn.log"
            try:
                with server(url, tmp / "instance", WORKERS[engine], log) as (base, proc):
                    print(f"[{engine}] migrated, seeded and serving in {time.perf_counter() - started:.1f} s "
                          f"({len(stations)} stations)", flush=True)
                    kiosk = f"{base}/board/{token}"
                    meter = CpuMeter(proc)
                    service = ServiceChanger(app)
                    operator = HttpChanger(app, base) if engine == "sqlite" else None
                    wall, cpu = wake_cost(app, service, stations[0])
                    wakes[engine] = (wall, cpu)
                    print(f"[{engine}] one stream wake (bench process): median {wall * 1000:.1f} ms wall, "
                          f"{cpu * 1000:.1f} ms CPU", flush=True)
                    for n in options.boards:
                        opened = time.perf_counter()
                        pool.attach(kiosk, n)
                        split = stream_split(int(base.rsplit(":", 1)[1]), worker_pids(proc))
                        print(f"[{engine}] {n} board(s) connected in {time.perf_counter() - opened:.1f} s "
                              f"(open connections per worker: {split})", flush=True)
                        pool.pump(WARM_UP * 1000)
                        changers: list[Changer] = [service]
                        if operator and n in options.operator_boards:
                            changers.append(operator)
                        trouble = (0, 0)
                        for changer in changers:
                            results.append(scenario(engine, pool, changer, stations, meter, options, rng))
                            now = pool.stream_trouble()
                            if now != trouble:
                                results[-1].note += (f"{'; ' if results[-1].note else ''}stream reconnects "
                                                     f"{now[0] - trouble[0]}, errors {now[1] - trouble[1]}")
                            trouble = now
                    pool.detach()
                    if engine == options.baseline_on:
                        baseline = polling_baseline(pool, kiosk, service, stations, options, rng)
                        pool.detach()
            finally:
                report_log(engine, log)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return baseline


def scenario(engine: str, pool: BoardPool, changer: Changer, stations: list[int], meter: CpuMeter, options,
             rng: random.Random) -> Result:
    """options.changes changes through changer, watched by the attached boards."""
    t0 = time.perf_counter()
    meter.start()
    changes = drive(pool, changer, stations, options.changes, (GAP, JITTER), rng)
    settle(pool, changes, 1.0)
    cpu = meter.per_change(len(changes))
    path = {"sqlite": "feed poll 0.5 s", "postgresql": "LISTEN/NOTIFY"}[engine]
    how = f"{changer.label} ({path})" if isinstance(changer, ServiceChanger) else f"{changer.label} (in-process wake)"
    result = match(changes, pool.logs(), f"{ENGINE_LABEL[engine]}: {how}", TIMEOUT)
    result.cpu, result.load = cpu, os.getloadavg()[0]
    if changer.round_trips:
        result.note = f"time zero = POST response; POST round trip p50 {ms(statistics.median(changer.round_trips))}"
        changer.round_trips.clear()
    print(f"[{engine}] {result.name}, {pool.n} board(s): {len(result.latencies)}/{result.expected} delivered, "
          f"p50 {ms(pct(result.latencies, 50)) if result.latencies else '-'} ({time.perf_counter() - t0:.0f} s)",
          flush=True)
    return result


def report_log(engine: str, log: Path) -> None:
    """Count the server's tracebacks and critical lines; show the first traceback and the distinct last lines."""
    lines = log.read_text(errors="replace").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
    critical = [line for line in lines if "CRITICAL" in line or "[ERROR]" in line]
    if not starts and not critical:
        return
    print(f"[{engine}] gunicorn log: {len(starts)} traceback(s), {len(critical)} critical/error line(s)")
    kinds: dict[str, int] = {}
    for i in starts:
        end = next((j for j in range(i + 1, len(lines)) if lines[j] and not lines[j].startswith(" ")), i)
        kinds[lines[end]] = kinds.get(lines[end], 0) + 1
    for kind, count in sorted(kinds.items(), key=lambda kv: -kv[1])[:5]:
        print(f"    {count} x {kind[:200]}")
    if starts:
        print("    first: " + "\n    ".join(lines[starts[0]:starts[0] + 40]))
    for line in critical[:3]:
        print(f"    {line[:200]}")


def polling_baseline(pool: BoardPool, kiosk: str, changer: Changer, stations: list[int], options,
                     rng: random.Random) -> Result:
    """One kiosk page on the 10 s polling fallback (stream blocked); changes at random 2-4 s gaps."""
    pool.attach(kiosk, 1, block_stream=True)
    t0 = time.perf_counter()
    changes = drive(pool, changer, stations, options.poll_changes, POLL_GAP, rng, wait_all=False)
    settle(pool, changes, POLL_SECONDS + 1.5)
    result = match(changes, pool.logs(), f"polling fallback every {POLL_SECONDS} s (stream blocked)",
                   POLL_SECONDS + 1.5)
    print(f"[polling] {len(result.latencies)}/{result.expected} seen, mean staleness "
          f"{ms(statistics.fmean(result.latencies)) if result.latencies else '-'} "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, help="changes per scenario (default 100; --quick 10)")
    parser.add_argument("--boards", help="board counts, comma-separated (default 1,50; --quick 1,5)")
    parser.add_argument("--engines", default="sqlite,postgresql", help="sqlite and/or postgresql")
    parser.add_argument("--poll-changes", type=int, help="changes for the polling baseline (default 20; --quick 3)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 10 changes, 1 and 5 boards, 3 polled")
    parser.add_argument("--operator-boards", default="1",
                        help="board counts at which SQLite also runs the operator-POST path (default 1)")
    parser.add_argument("--seed", type=int, default=42)
    options = parser.parse_args()
    for name, full, quick in (("changes", 100, 10), ("boards", "1,50", "1,5"), ("poll_changes", 20, 3)):
        if getattr(options, name) is None:
            setattr(options, name, quick if options.quick else full)
    options.boards = [int(n) for n in options.boards.split(",") if n.strip()]
    options.operator_boards = {int(n) for n in options.operator_boards.split(",") if n.strip()}
    engines = [e.strip() for e in options.engines.split(",") if e.strip()]
    unknown = set(engines) - set(WORKERS)
    if unknown:
        parser.error(f"unknown engine(s): {', '.join(sorted(unknown))}")
    options.baseline_on = "sqlite" if "sqlite" in engines else engines[0]
    if THREADS < max(options.boards) + 10:
        parser.error(f"at most {THREADS - 10} boards per run (gunicorn threads per worker: {THREADS})")

    from playwright.sync_api import sync_playwright

    print(f"machine: {machine()}")
    print(f"{options.changes} changes per scenario, boards {options.boards}, engines {engines}; "
          f"gunicorn gthread, {THREADS} threads per worker")
    rng = random.Random(options.seed)
    results: list[Result] = []
    wakes: dict[str, tuple[float, float]] = {}
    baseline = None
    started = time.perf_counter()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        pool = BoardPool(browser)
        try:
            for engine in engines:
                found = run_engine(engine, pool, options, rng, results, wakes)
                baseline = baseline or found
        finally:
            pool.close()
            browser.close()
    report(results, baseline)
    for engine, (wall, cpu) in wakes.items():
        print(f"one stream wake on {ENGINE_LABEL[engine]} (bench process, median of 30): {wall * 1000:.1f} ms wall, "
              f"{cpu * 1000:.1f} ms CPU; a worker does one per open stream per change, one at a time (GIL)")
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
