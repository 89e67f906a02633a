"""The worker loop: take a due job, run its handler, record the outcome; wait for the next; stop on SIGTERM.

How it wakes: on PostgreSQL a LISTEN connection hears the NOTIFY that enqueue sends in the job's own
transaction, so a job is taken within milliseconds of its commit; the loop also looks every poll interval
(jobs whose run_at comes due, retries, a notification lost while reconnecting). On SQLite there is nothing
to listen to: it looks every poll interval (0.5 s by default; one indexed read-only query).
"""
import logging
import signal
import threading
import time
import traceback
from typing import Callable

from flask import Flask

from app.extensions import db
from app.services.jobs import queue, registry

log = logging.getLogger(__name__)


def run_job(job_id: int, kind: str, arguments: dict) -> bool:
    """Run one claimed job's handler; True when it succeeded, else its error is kept and it is retried later."""
    started = time.monotonic()
    try:
        registry.kind(kind).handler(arguments)
        db.session.commit()
    except Exception:  # a handler's failure of any kind is the job's, never the worker's
        db.session.rollback()
        job = queue.fail(job_id, traceback.format_exc())
        log.warning("job %s (%s) failed, attempt %s of %s: %s", job_id, kind, job.attempts, job.max_attempts,
                    (job.last_error or "").strip().splitlines()[-1:])
        return False
    queue.complete(job_id)
    log.info("job %s (%s) done in %.2f s", job_id, kind, time.monotonic() - started)
    return True


def run_due(worker: str | None = None, stop: Callable[[], bool] = lambda: False) -> int:
    """Run due jobs one after another until none is due (or stop() says so); how many ran."""
    registry.load_kinds()
    name = worker or queue.worker_name()
    ran = 0
    while not stop():
        job = queue.claim(name)
        if job is None:
            break
        job_id, kind, arguments = job.id, job.kind, queue.payload(job)
        db.session.expunge(job)  # the handler's commits must not reload it
        run_job(job_id, kind, arguments)
        ran += 1
    return ran


class Waker:
    """Waits until a job may be due: a NOTIFY on PostgreSQL, the poll interval, or stop."""

    def __init__(self, app: Flask, poll_seconds: float, stopped: threading.Event):
        self.poll, self.stopped = poll_seconds, stopped
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        self.url = url.replace("postgresql+psycopg://", "postgresql://") if url.startswith("postgresql") else None
        self._conn = None

    def _listen(self):
        import psycopg

        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.url, autocommit=True)
            self._conn.execute(f"LISTEN {queue.CHANNEL}")
        return self._conn

    def wait(self) -> None:
        """Return when a job may be due, or at stop."""
        if self.url is None or self.stopped.is_set():
            self.stopped.wait(self.poll)
            return
        try:
            for _ in self._listen().notifies(timeout=self.poll, stop_after=1):
                pass
        except Exception:
            log.warning("job LISTEN connection lost; polling until it is back", exc_info=True)
            self.close()
            self.stopped.wait(self.poll)

    def close(self) -> None:
        """Drop the LISTEN connection."""
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None


def run_forever(app: Flask, poll_seconds: float) -> None:
    """The `worker` command: run jobs until SIGTERM or SIGINT; the job in hand is finished first."""
    stopped = threading.Event()

    def stop(signum, _frame) -> None:
        log.info("worker: %s received, stopping after the current job", signal.Signals(signum).name)
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    name = queue.worker_name()
    with app.app_context():
        kinds = registry.load_kinds()
        waker = Waker(app, poll_seconds, stopped)
        log.info("worker %s started: kinds %s, %s", name, ", ".join(kinds),
                 "LISTEN/NOTIFY and a poll every %.1f s" % poll_seconds if waker.url else
                 "a poll every %.1f s" % poll_seconds)
        try:
            while not stopped.is_set():
                try:
                    run_due(name, stopped.is_set)
                except Exception:  # the database went away: keep the process, try again after a pause
                    log.exception("worker: taking jobs failed; trying again")
                db.session.remove()  # nothing loaded is kept between rounds
                waker.wait()
        finally:
            waker.close()
            db.session.remove()
    log.info("worker %s stopped", name)
