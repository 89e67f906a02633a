"""The load bench's server and clients: gunicorn as shipped, and N threads each on its own keep-alive connection."""
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent.parent


class Server:
    """gunicorn -c gunicorn.conf.py serving target (wsgi:app or the bare app) with the shipped settings."""

    def __init__(self, target: str, database_url: str, folder: Path, port: int):
        self.port, self.log = port, folder / f"gunicorn-{port}.log"
        self.env = {**os.environ, "FLOORBOOK_ENV": "production", "SECRET_KEY": "bench-autosave-load",
                    "DATABASE_URL": database_url, "FLOORBOOK_INSTANCE": str(folder / "instance"),
                    "HOST": "127.0.0.1", "PORT": str(port)}
        for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS"):  # as shipped, whatever the caller's shell says
            self.env.pop(name, None)
        self.command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--pythonpath", "bench", target]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Server":
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                            stderr=log, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"gunicorn did not start: {self.log.read_text(errors='replace')[-2000:]}")

    def __exit__(self, *_exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def errors(self) -> list[str]:
        """Tracebacks and error lines gunicorn logged."""
        return [line for line in self.log.read_text(errors="replace").splitlines()
                if "Error" in line or "Traceback" in line or "locked" in line]


@dataclass
class Figures:
    """What one run measured."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    reconnects: int = 0

    @property
    def per_second(self) -> float:
        """Successful requests per second."""
        return len(self.latencies) / self.seconds

    def percentile(self, p: int) -> float:
        """The p-th percentile latency in milliseconds."""
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1] * 1000


Request = Callable[[int], tuple[str, dict[str, str], dict[str, str]]]  # n → (path, fields, headers)


def drive(port: int, requests: list[Request], seconds: float, warmup: int = 3) -> Figures:
    """Each request maker on its own thread and keep-alive connection, as fast as answers come, for seconds."""
    figures, lock = Figures(seconds), threading.Lock()
    stop_at = [0.0]
    # The clock starts once every connection is warm; the barrier's action sets it before anyone goes on.
    start_at = threading.Barrier(len(requests) + 1,
                                 action=lambda: stop_at.__setitem__(0, time.monotonic() + seconds))

    def run(make: Request) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for n in range(warmup):
            _post(connection, *make(n))
        start_at.wait()
        n = warmup
        while time.monotonic() < stop_at[0]:
            began, request = time.perf_counter(), make(n)
            try:
                try:
                    status, body = _post(connection, *request)
                except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                    # gunicorn closed the idle keep-alive connection before reading this request: a browser
                    # sends it again on a new connection, and so does the bench (the server saw nothing).
                    connection.close()
                    with lock:
                        figures.reconnects += 1
                    status, body = _post(connection, *request)  # the same Idempotency-Key: exactly once
                error = None if status == 200 else f"{status}: {body[:200]!r}"
            except (OSError, http.client.HTTPException) as failure:
                error = f"{type(failure).__name__}: {failure}"
                connection.close()
            took = time.perf_counter() - began
            with lock:
                (figures.errors.append(error) if error else figures.latencies.append(took))
            n += 1
        connection.close()

    threads = [threading.Thread(target=run, args=(make,), daemon=True) for make in requests]
    for thread in threads:
        thread.start()
    start_at.wait()
    for thread in threads:
        thread.join()
    return figures


def _post(connection: http.client.HTTPConnection, path: str, fields: dict[str, str],
          headers: dict[str, str]) -> tuple[int, bytes]:
    connection.request("POST", path, body=urlencode(fields),
                       headers={"Content-Type": "application/x-www-form-urlencoded", **headers})
    response = connection.getresponse()
    return response.status, response.read()


def new_key() -> str:
    """An Idempotency-Key, as the tablet's outbox makes one per change."""
    return str(uuid.uuid4())
