"""The background job queue: dedupe, once-only with two workers, retry with back-off and the error shown to
admins, PDFs stored after submit and signature by the worker, and the real `flask worker` process."""
import json
import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.config import ROOT
from app.models import Job, RenderedPdf
from app.models.types import frozen_clock, utcnow
from app.services.core import blobs
from app.services.jobs import queue, worker
from app.services.jobs.registry import UnknownJobKind, job_kind
from app.services.records import pdf
from tests.test_signing import as_user, sign  # noqa: F401  (fixture and helper)

BASE_URL = "https://floorbook.test"
RUNS: list[int] = []
_runs_lock = threading.Lock()


@job_kind("test.count", max_attempts=1)
def count_run(payload: dict) -> None:
    """Counts each run of its job (the once-only test)."""
    with _runs_lock:
        RUNS.append(payload["n"])


@job_kind("test.flaky", max_attempts=3)
def always_fails(payload: dict) -> None:
    """Fails every time with a message an admin can act on."""
    raise RuntimeError(f"the printer at {payload['where']} is out of paper")


def jobs(db, **where) -> list[Job]:
    """Job rows matching the column values given, oldest first."""
    return list(db.session.scalars(select(Job).filter_by(**where).order_by(Job.id)))


def test_enqueue_dedupes_queued_jobs_but_not_running_ones(app, db):
    """A second job with the key of a queued one is dropped; once the first runs, a new one may queue."""
    queue.enqueue("test.count", {"n": 1}, dedupe_key="same")
    queue.enqueue("test.count", {"n": 2}, dedupe_key="same")
    db.session.commit()
    assert [json.loads(j.payload) for j in jobs(db)] == [{"n": 1}]
    taken = queue.claim("w1")
    assert taken.state == "running" and taken.attempts == 1 and taken.locked_by == "w1"
    queue.enqueue("test.count", {"n": 3}, dedupe_key="same")
    queue.enqueue("test.count", {"n": 4})  # no key: never deduplicated
    db.session.commit()
    assert [(j.state, json.loads(j.payload)["n"]) for j in jobs(db)] == [("running", 1), ("queued", 3), ("queued", 4)]


def test_enqueue_refuses_an_unknown_kind(app, db):
    """A typo in a kind fails where it is queued, naming the kinds that exist."""
    with pytest.raises(UnknownJobKind, match="no handler is registered for job kind 'test.cuont'"):
        queue.enqueue("test.cuont", {})


def test_two_workers_take_each_job_once(app, db):
    """Two workers draining one queue at once run each of 40 jobs exactly once (SKIP LOCKED on PostgreSQL)."""
    RUNS.clear()
    for n in range(40):
        queue.enqueue("test.count", {"n": n})
    db.session.commit()
    db.session.remove()
    ran: dict[str, int] = {}

    def drain(name: str) -> None:
        with app.app_context():
            ran[name] = worker.run_due(name)

    threads = [threading.Thread(target=drain, args=(f"w{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(RUNS) == list(range(40)) and sum(ran.values()) == 40
    rows = jobs(db)
    assert {(j.state, j.attempts) for j in rows} == {("done", 1)}
    assert {j.locked_by for j in rows} == {None}


def test_failed_job_is_retried_with_back_off_and_its_error_shown_to_admins(app, db, login, users):
    """10 s, then 20 s later; after the last attempt it is failed, the page shows the error, and Retry queues it."""
    queue.enqueue("test.flaky", {"where": "Press 1"})
    db.session.commit()
    start = utcnow()
    with frozen_clock(start):
        assert worker.run_due("w") == 1
        assert worker.run_due("w") == 0  # not due again yet
    job = jobs(db)[0]
    assert (job.state, job.attempts) == ("queued", 1)
    assert job.run_at == start + timedelta(seconds=10)
    assert "RuntimeError: the printer at Press 1 is out of paper" in job.last_error
    with frozen_clock(start + timedelta(seconds=10)):
        assert worker.run_due("w") == 1
    db.session.expire_all()
    job = jobs(db)[0]
    assert (job.state, job.attempts, job.run_at) == ("queued", 2, start + timedelta(seconds=30))
    admin = login(users.admin)
    page = admin.get("/admin/jobs").get_data(as_text=True)
    assert "Waiting to retry" in page and "2 of 3" in page and "out of paper" in page
    with frozen_clock(start + timedelta(seconds=30)):
        assert worker.run_due("w") == 1
    db.session.expire_all()
    job = jobs(db)[0]
    assert (job.state, job.attempts) == ("failed", 3) and job.finished_at is not None
    page = admin.get("/admin/jobs").get_data(as_text=True)
    assert "Failed: no more tries" in page and "the printer at Press 1 is out of paper" in page
    assert f"Retry job #{job.id} now" in page
    response = admin.post_form(f"/admin/jobs/{job.id}/retry", {})
    assert response.status_code == 303
    db.session.expire_all()
    assert (jobs(db)[0].state, jobs(db)[0].attempts) == ("queued", 0)
    assert 'href="/admin/jobs">Jobs</a>' in page  # the admin's menu leads here
    auditor = login(users.auditor)
    assert auditor.get("/admin/jobs").status_code == 403
    assert 'href="/admin/jobs"' not in auditor.get("/records").get_data(as_text=True)


def test_submit_and_signature_store_the_pdf_through_the_worker(app, db, as_user, users, make_record):
    """Submit queues a job that stores the current state's PDF; a signature queues the next one; the download
    then serves that stored file byte for byte."""
    app.config["PUBLIC_URL"] = BASE_URL
    record = make_record(users.operator)
    version = record.versions[-1]
    assert [(j.kind, j.state) for j in jobs(db)] == [("record_pdf", "queued")]
    assert db.session.scalar(select(func.count()).select_from(RenderedPdf)) == 0
    assert worker.run_due("w") == 1
    unsigned = pdf.stored_pdf(version, pdf.state_key(version))
    assert unsigned is not None and "NOT SIGNED" in _text(pdf.read_stored(unsigned.sha256))

    assert sign(as_user(users.inspector), record).status_code == 303
    assert [j.state for j in jobs(db, kind="record_pdf")] == ["done", "queued"]
    assert worker.run_due("w") == 1
    db.session.expire_all()
    signed = pdf.stored_pdf(version, pdf.state_key(version))
    assert signed is not None and signed.sha256 != unsigned.sha256
    text = _text(pdf.read_stored(signed.sha256))
    assert "NOT SIGNED" not in text and users.inspector.printed_name in text and f"{BASE_URL}/verify" in text
    response = as_user(users.auditor).get(f"/records/{record.id}.pdf")
    assert response.status_code == 200 and response.get_data() == pdf.read_stored(signed.sha256)
    assert db.session.scalar(select(func.count()).select_from(RenderedPdf)) == 2


def test_a_download_before_the_job_renders_once_and_the_job_finds_it_stored(app, db, as_user, users, make_record):
    """The download renders and stores the state; the queued job then renders nothing (one file, one row)."""
    app.config["PUBLIC_URL"] = BASE_URL
    record = make_record(users.operator)
    first = as_user(users.auditor).get(f"/records/{record.id}.pdf").get_data()
    stored = pdf.stored_pdf(record.versions[-1], pdf.state_key(record.versions[-1]))
    blob_file = blobs.store().path(stored.sha256)  # the test app keeps the default folder store
    mtime = blob_file.stat().st_mtime_ns
    assert worker.run_due("w") == 1 and jobs(db)[0].state == "done"
    assert db.session.scalar(select(func.count()).select_from(RenderedPdf)) == 1
    assert blob_file.stat().st_mtime_ns == mtime and pdf.read_stored(stored.sha256) == first


def _text(data: bytes) -> str:
    import io

    from pypdf import PdfReader
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages)


def test_the_worker_command_stores_pdfs_and_stops_cleanly_on_sigterm(app, db, database_url, users, make_record):
    """`flask --app wsgi worker` takes the submit's job, stores the PDF, and exits 0 on SIGTERM."""
    instance = Path(app.instance_path)
    env = {**os.environ, "FLOORBOOK_ENV": "production", "SECRET_KEY": "worker-test", "DATABASE_URL": database_url,
           "FLOORBOOK_INSTANCE": str(instance), "FLOORBOOK_PUBLIC_URL": BASE_URL, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--poll", "0.2"], cwd=ROOT,
                               env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        lines = _log_lines(process)
        assert any("started" in line for line in _until(lines, "started")), "the worker did not start"
        app.config["PUBLIC_URL"] = BASE_URL
        record = make_record(users.operator)
        done = _until(lines, " done in ")
        assert done, "the worker did not finish the job"
        db.session.expire_all()
        version = record.versions[-1]
        stored = pdf.stored_pdf(version, pdf.state_key(version))
        assert stored is not None and pdf.read_stored(stored.sha256).startswith(b"%PDF-")
        assert jobs(db)[0].state == "done" and jobs(db)[0].locked_by is None
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert _until(lines, "stopped")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _log_lines(process: subprocess.Popen):
    for line in process.stderr:
        yield line


def _until(lines, words: str) -> list[str]:
    """Read the worker's log up to the first line containing words (all lines read); [] if it ended first."""
    seen = []
    for line in lines:
        seen.append(line)
        if words in line:
            return seen
    return []
