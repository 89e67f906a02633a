"""Crash soak: tablets autosave against gunicorn as shipped (two workers) while its workers are killed
(kill -9) and then the master with them, and it is started again, a few times over. Each tablet sends one
change at a time and repeats an unacknowledged one with the same Idempotency-Key, as its outbox does.
What must hold in the end: every acknowledged answer is stored as acknowledged, each save is audited once
(the audit events of an item are exactly its acknowledged saves, in order), and `flask audit verify` passes.
"""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from app.config import ROOT
from app.extensions import db
from app.models import Answer, AuditEvent, IdempotencyKey
from tests.helpers.gunicorn import Gunicorn
from tests.test_board_workers import signed_in_opener, workers
from tests.test_stream_host import gone

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds gunicorn's workers in /proc (Linux)")

TABLETS = 4
CYCLES = 3  # each: a worker killed, then the other, then the master with its workers, and a restart
ITEMS = ("hydraulic_pressure", "two_hand_control", "lubrication_level")
PROGRESS = 8  # acknowledged saves awaited between two kills: the server answers again before the next one
MIN_SAVES = 2 * len(ITEMS)  # per tablet, however the server shared its time between them
PACE = 0.1  # seconds a tablet takes between two answers (a quick hand), so worker boots get the CPU too
DEADLINE = 30.0  # seconds any one wait may take on a loaded machine before the soak fails
ACCESS_LINE = re.compile(r"^<(\d+)> (\d{3})$", re.M)  # the access log below: "<pid> status"


def value_for(item: str, n: int) -> str:
    """The n-th value a tablet saves for item: always a change from the one before, always within spec."""
    if item == "hydraulic_pressure":
        return f"{145 + n % 100 / 10:.1f}"
    return ("pass", "na")[n % 2]


@dataclass(frozen=True)
class Ack:
    """A save the server acknowledged: 2xx with its Idempotency-Key echoed."""

    item: str
    value: str
    key: str


@dataclass
class Soak:
    """What the tablets and the killer share: the acknowledgements, and whether the server is up."""

    progress: threading.Condition = field(default_factory=threading.Condition)
    serving: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)  # finish the change under way, then end
    abandoned: threading.Event = field(default_factory=threading.Event)  # end now (the test has failed)
    acks: Counter = field(default_factory=Counter)  # tablet name → saves acknowledged
    in_flight: int = 0
    interrupted: int = 0  # tries that got no answer (connection cut or refused) and were repeated
    problems: list[str] = field(default_factory=list)

    def acknowledged(self, tablet: str) -> None:
        with self.progress:
            self.acks[tablet] += 1
            self.progress.notify_all()

    def counts(self) -> Counter:
        """The saves acknowledged so far, per tablet."""
        with self.progress:
            return Counter(self.acks)

    def _await(self, done, what: str) -> None:
        with self.progress:
            assert self.progress.wait_for(lambda: done() or self.problems, DEADLINE), f"{what} within {DEADLINE} s"
            assert not self.problems, self.problems

    def await_progress(self, count: int = PROGRESS) -> None:
        """Wait until count more saves are acknowledged (the server serves again)."""
        target = self.acks.total() + count
        self._await(lambda: self.acks.total() >= target, f"no {count} more saves acknowledged")

    def await_every_tablet(self, since: Counter, tablets: list[str]) -> None:
        """Wait until every tablet has had a save acknowledged since the counts in since."""
        self._await(lambda: all(self.acks[name] > since[name] for name in tablets),
                    "not every tablet had a save acknowledged")

    def await_a_save_under_way(self) -> None:
        """Wait until some tablet's request is on its way, so the kill cuts it short."""
        self._await(lambda: self.in_flight > 0, "no save under way")

    @contextmanager
    def sending(self):
        with self.progress:
            self.in_flight += 1
            self.progress.notify_all()
        try:
            yield
        finally:
            with self.progress:
                self.in_flight -= 1


class Tablet(threading.Thread):
    """One signed-in tablet autosaving its own draft, one change at a time, until the soak stops."""

    def __init__(self, soak: Soak, base: str, username: str, draft_id: str):
        super().__init__(name=f"tablet of {username}", daemon=True)
        self.soak, self.base, self.draft_id = soak, base, draft_id
        self.opener, self.csrf = signed_in_opener(base, username)
        self.acks: list[Ack] = []

    def run(self) -> None:
        try:
            n = 0
            while n < MIN_SAVES or not self.soak.stopping.is_set():
                item = ITEMS[n % len(ITEMS)]
                self.deliver(Ack(item, value_for(item, n // len(ITEMS)), str(uuid.uuid4())))
                n += 1
                self.soak.abandoned.wait(PACE)
        except Exception as error:  # a thread's failure is the test's: the killer stops at the next wait
            with self.soak.progress:
                self.soak.problems.append(f"{self.name}: {error!r}")
                self.soak.progress.notify_all()

    def deliver(self, save: Ack) -> None:
        """Send save until the server acknowledges it, repeating it with its key after a cut or a restart."""
        deadline = time.monotonic() + 3 * DEADLINE
        while not self.soak.abandoned.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or not self.soak.serving.wait(timeout=left):
                raise AssertionError(f"{save} not acknowledged within {3 * DEADLINE} s")
            with self.soak.sending():
                status, echoed, text = self.post(save)
            if status is not None and 200 <= status < 300 and echoed == save.key:
                self.acks.append(save)
                self.soak.acknowledged(self.name)
                return
            if status is not None:  # the server answered, and not with an acknowledgement: a bug
                raise AssertionError(f"{save} answered {status} (key echoed: {echoed!r}): {text[:300]}")
            with self.soak.progress:
                self.soak.interrupted += 1

    def post(self, save: Ack) -> tuple[int | None, str | None, str]:
        """(status, echoed key, body) of one try; status None when the connection failed or was cut."""
        url = f"{self.base}/floor/submissions/{self.draft_id}/items/{save.item}"
        body = urllib.parse.urlencode({"value": save.value}).encode()
        headers = {"X-CSRFToken": self.csrf, "HX-Request": "true", "Idempotency-Key": save.key,
                   "Origin": self.base, "Sec-Fetch-Site": "same-origin"}
        try:
            with self.opener.open(urllib.request.Request(url, data=body, headers=headers), timeout=DEADLINE) as answer:
                return answer.status, answer.headers.get("Idempotency-Key"), answer.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Idempotency-Key"), error.read().decode(errors="replace")
        except (OSError, http.client.HTTPException):  # refused, reset, or cut mid-answer: a process was killed
            return None, None, ""


def descendants(pid: int) -> list[int]:
    """pid's children, theirs, and so on (the workers and their stream processes)."""
    return [grand for child in workers(pid) for grand in (child, *descendants(child))]


class Crashes:
    """The killer: kill -9 of a worker, or of the master with its workers and a restart on the same port.

    Each kill waits until both workers serve (each has answered a save since it was started, as the access
    log shows), then until a save is under way, so that it cuts into a server at work, not one still booting.
    """

    def __init__(self, server: Gunicorn, soak: Soak, access_log: Path):
        self.server, self.soak, self.access_log = server, soak, access_log
        self.killed: set[int] = set()  # listed among the master's children until it has reaped them

    def kill_a_worker(self) -> None:
        """kill -9 one worker; the master starts another in its place."""
        victim = self.serving_workers()[0]
        self.soak.await_a_save_under_way()
        os.kill(victim, signal.SIGKILL)
        self.killed.add(victim)
        gone(victim)

    def kill_and_restart(self) -> None:
        """kill -9 the master and its workers at once, wait until every one is gone, and start gunicorn again."""
        self.serving_workers()
        pids = [self.server.process.pid, *descendants(self.server.process.pid)]
        self.soak.await_a_save_under_way()
        self.soak.serving.clear()  # the tablets' next tries wait for the restart instead of knocking on a closed port
        self.server.kill()
        for pid in pids:
            gone(pid)
        self.server.start()
        self.soak.serving.set()

    def serving_workers(self) -> list[int]:
        """The two workers, once each has answered a save (it is past its boot)."""
        deadline = time.monotonic() + DEADLINE
        while True:
            pids = [pid for pid in workers(self.server.process.pid) if pid not in self.killed]
            if len(pids) == 2 and set(pids) <= self.served_by():
                return pids
            assert time.monotonic() < deadline, f"gunicorn's two workers are not both serving: {self.tail()}"
            time.sleep(0.05)

    def served_by(self) -> set[int]:
        """The processes the access log names for a 2xx answer (its lines read "<pid> status")."""
        lines = ACCESS_LINE.findall(self.access_log.read_text()) if self.access_log.exists() else []
        return {int(pid) for pid, status in lines if status.startswith("2")}

    def tail(self) -> str:
        return self.server.log.read_text(errors="replace")[-3000:]


def audited_saves(draft_id: str) -> dict[str, list]:
    """item → the values of its answer.saved events, in chain order."""
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "answer.saved", AuditEvent.entity_id == draft_id).order_by(AuditEvent.seq))
    saved: dict[str, list] = {}
    for event in events:
        after = json.loads(event.after_json)
        saved.setdefault(after["item"], []).append(after["value"])
    return saved


def stored(value: str):
    """The JSON value an answer posted as value is stored as."""
    return float(value) if value[0].isdigit() else value


def assert_stored_as_acknowledged(tablet: Tablet, draft_id: str) -> None:
    """Each item's answer is its last acknowledged value, its audit events its acknowledged saves, each once."""
    saved = audited_saves(draft_id)
    answers = {a.item_name: a.value for a in db.session.scalars(select(Answer).where(Answer.submission_id == draft_id))}
    for item in ITEMS:
        acked = [stored(ack.value) for ack in tablet.acks if ack.item == item]
        assert acked, f"{tablet.name} had no {item} acknowledged"
        assert answers[item] == acked[-1], f"{draft_id} {item}: stored {answers[item]}, acknowledged {acked[-1]}"
        assert saved[item] == acked, f"{draft_id} {item}: audited {saved[item]}, acknowledged {acked}"
    kept = set(db.session.scalars(select(IdempotencyKey.key).where(
        IdempotencyKey.path.startswith(f"/floor/submissions/{draft_id}/"))))
    assert kept == {ack.key for ack in tablet.acks}, f"{draft_id}: a key kept without its save, or a save without"


def test_acknowledged_answers_survive_kill_9_of_workers_and_master(plant, make_user, start_draft, database_url,
                                                                    tmp_path):
    """Acknowledged = stored and audited once, across kill -9 of workers and master; the audit chain verifies."""
    operators = [make_user("operator") for _ in range(TABLETS)]
    drafts = [start_draft(operator, station=f"Press {1 + n % 3}") for n, operator in enumerate(operators)]
    names, draft_ids = [o.username for o in operators], [d.id for d in drafts]
    db.session.commit()
    db.session.remove()  # the server's writers take the database from here on
    access_log = tmp_path / "access.log"  # which worker answered (gunicorn.conf.py's own log goes to stdout)
    server = Gunicorn(database_url, tmp_path, WEB_CONCURRENCY="2", GUNICORN_THREADS="4",
                      GUNICORN_CMD_ARGS=f"--access-logfile {access_log} --access-logformat '%(p)s %(s)s'").start()
    soak = Soak()
    crashes = Crashes(server, soak, access_log)
    try:
        tablets = [Tablet(soak, server.url, name, draft_id) for name, draft_id in zip(names, draft_ids)]
        soak.serving.set()
        for tablet in tablets:
            tablet.start()
        for _ in range(CYCLES):
            since = soak.counts()
            crashes.kill_a_worker()
            crashes.kill_a_worker()
            # A save cut after its commit replays as "already saved" only after a few seconds (its response
            # might still come from another process: app.idempotency.store); every tablet gets through
            # before the restart, so each one saves in every cycle.
            soak.await_every_tablet(since, [tablet.name for tablet in tablets])
            crashes.kill_and_restart()
        soak.await_progress()
        soak.stopping.set()  # each tablet ends once its change under way is acknowledged
        for tablet in tablets:
            tablet.join(timeout=3 * DEADLINE)
            assert not tablet.is_alive(), f"{tablet.name} did not finish"
        assert not soak.problems, f"{soak.problems}\n{crashes.tail()}"
    finally:
        soak.abandoned.set()  # (the tablets have ended already unless the soak failed)
        soak.serving.set()
        server.stop()

    log = server.log.read_text(errors="replace")
    assert "Traceback" not in log and "database is locked" not in log, log[-3000:]
    assert soak.interrupted > 0, "no kill cut a save short: the soak tested nothing"
    for tablet, draft_id in zip(tablets, draft_ids):
        assert_stored_as_acknowledged(tablet, draft_id)
    db.session.remove()
    verified = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "audit", "verify"], cwd=ROOT,
                              env=server.env, capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0 and "audit chain OK" in verified.stdout, verified.stdout + verified.stderr
