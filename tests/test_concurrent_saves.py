"""Eight saves of one item at the same moment, over real HTTP to gunicorn as shipped: none fails, the later
wins, every one is audited (issue 9: no 5xx, one answer row, 8 audit events), on the suite's engine."""
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from sqlalchemy import select

from app.models import Answer, AuditEvent
from tests.helpers.gunicorn import Gunicorn
from tests.test_board_workers import signed_in_opener

SAVES = 8


@pytest.fixture
def server(app, database_url, tmp_path, dialect):
    """gunicorn on this test's database, two workers, so the saves also race across processes."""
    from app.extensions import db
    db.session.commit()
    db.session.remove()
    workers = "2"  # the saves race across processes too: SQLite through its write queue (app.database)
    started = Gunicorn(database_url, tmp_path, WEB_CONCURRENCY=workers, GUNICORN_THREADS="8").start()
    yield started
    started.stop()


def test_eight_saves_of_one_item_at_once_all_succeed_and_are_all_audited(plant, users, start_draft, request, db):
    draft = start_draft(users.operator)
    draft_id, username = draft.id, users.operator.username
    server = request.getfixturevalue("server")  # started once the draft is committed
    opener, token = signed_in_opener(server.url, username)
    url = f"{server.url}/floor/submissions/{draft_id}/items/hydraulic_pressure"
    values = [f"{150 + n}.5" for n in range(SAVES)]  # all different: each save is a change
    start, statuses = threading.Barrier(SAVES), []

    def save(value: str) -> None:
        body = urllib.parse.urlencode({"value": value}).encode()
        headers = {"X-CSRFToken": token, "HX-Request": "true", "Idempotency-Key": str(uuid.uuid4())}
        start.wait()
        try:
            statuses.append(opener.open(urllib.request.Request(url, data=body, headers=headers), timeout=60).status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)

    threads = [threading.Thread(target=save, args=(value,)) for value in values]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    log = server.log.read_text(errors="replace")
    assert sorted(statuses) == [200] * SAVES, log[-3000:]
    assert "Traceback" not in log and "database is locked" not in log, log[-3000:]
    db.session.remove()
    answers = db.session.scalars(select(Answer).where(Answer.submission_id == draft_id,
                                                      Answer.item_name == "hydraulic_pressure")).all()
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "answer.saved", AuditEvent.entity_id == draft_id).order_by(AuditEvent.seq)).all()
    saved = [json.loads(e.after_json) for e in events if json.loads(e.after_json)["item"] == "hydraulic_pressure"]
    assert len(answers) == 1
    assert sorted(s["value"] for s in saved) == sorted(float(v) for v in values)
    # The later one wins: the stored answer is the value of the last save audited, each save's "before"
    # the one committed just ahead of it.
    assert answers[0].value == saved[-1]["value"]
    befores = [json.loads(e.before_json)["value"] if e.before_json else None for e in events]
    assert befores == [None] + [s["value"] for s in saved[:-1]]
