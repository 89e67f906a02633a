"""The server of the board latency bench (bench/board_latency.py): a fresh database with the demo plant,
gunicorn serving it, and readings of its processes (CPU, connections per worker, log).
"""
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from common import ROOT  # noqa: F401  (puts the project on sys.path)
from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app import create_app  # noqa: E402
from app.config import DevelopmentConfig  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import User  # noqa: E402
from app.services.core.audit import Actor  # noqa: E402

THREADS = 16          # gunicorn threads per worker, as shipped: streams hold none (app/serving.py)
STREAMS_PER_SCREEN = 100  # the bench's TVs all open one screen's URL; a plant gives each TV its own
WORKERS = {"sqlite": 1, "postgresql": 2}


# ---- database and server ----------------------------------------------------------------------

def prepare(url: str, instance: Path) -> tuple[Flask, str]:
    """Migrate, seed the demo plant (no history) and create a whole-site screen: (the bench's app, token)."""
    from app.services.board.boards import create_screen
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(url: str, instance: Path, workers: int, log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """gunicorn (gthread, gunicorn.conf.py) on a free loopback port until /healthz answers; killed afterwards."""
    port = free_port()
    env = dict(os.environ, FLOORBOOK_ENV="development", DATABASE_URL=url, FLOORBOOK_INSTANCE=str(instance),
               HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY=str(workers), GUNICORN_THREADS=str(THREADS),
               FLOORBOOK_BOARD_STREAMS_PER_SCREEN=str(STREAMS_PER_SCREEN))
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


# ---- the server's processes -------------------------------------------------------------------

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
