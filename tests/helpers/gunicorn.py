"""A real gunicorn serving the test's database (`-c gunicorn.conf.py`), to start, kill and start again."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.config import ROOT


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
        """Start and wait until the port accepts connections."""
        self.process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                                        cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                        stderr=self.log.open("ab"), start_new_session=True)
        for _ in range(150):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.process.poll() is not None:
                    break
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
