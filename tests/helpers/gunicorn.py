"""A real gunicorn serving the test's database (`-c gunicorn.conf.py`), to start, kill and start again."""
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.config import ROOT


# gunicorn binds its port itself, after free_port has let go of it, and binds it again after a kill.
# So the port comes from below the kernel's ephemeral range (32768 and up on Linux), where no port-0
# listener and no outgoing connection of another xdist worker (Chromium, urllib) can be handed it in
# between, and from this worker's own slice of that range, so two workers never pick the same one.
_PORTS_FROM, _SLICE = 20_000, 1_500
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0) % 8


def free_port() -> int:
    """A loopback port nothing listens on, in this xdist worker's slice below the ephemeral range."""
    first = _PORTS_FROM + _WORKER * _SLICE
    for port in random.sample(range(first, first + _SLICE), 50):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken (by another run on this machine)
            return port
    raise RuntimeError(f"no free port in {first}-{first + _SLICE - 1}")


class Gunicorn:
    """gunicorn on 127.0.0.1:port; env holds FLOORBOOK_* and gunicorn settings on top of the test's own."""

    def __init__(self, database_url: str, folder: Path, port: int | None = None, **env: str):
        self.port = port or free_port()
        self.log = folder / "gunicorn.log"
        self.env = {**os.environ, "FLOORBOOK_ENV": "production", "SECRET_KEY": "gunicorn-test",
                    "DATABASE_URL": database_url, "FLOORBOOK_INSTANCE": str(folder / "instance"),
                    "HOST": "127.0.0.1", "PORT": str(self.port), "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "8",
                    **env}
        self.process: subprocess.Popen | None = None

    def start(self) -> "Gunicorn":
        """Start and wait until this gunicorn (not another process on the port) listens."""
        logged = self.log.stat().st_size if self.log.exists() else 0
        self.process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                                        cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                        stderr=self.log.open("ab"), start_new_session=True)
        deadline = time.monotonic() + 30  # a loaded machine (xdist workers, Chromium) slows the start
        while time.monotonic() < deadline and self.process.poll() is None:
            with self.log.open("rb") as log:
                log.seek(logged)
                bound = b"Listening at: " in log.read()
            if bound:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return self
                except OSError:
                    pass
            time.sleep(0.1)
        pytest.fail(f"gunicorn did not listen: {self.log.read_text(errors='replace')[-3000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the master and its workers at once (SIGKILL: no graceful end, like a power cut)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """A graceful stop."""
        self.kill(signal.SIGTERM)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
