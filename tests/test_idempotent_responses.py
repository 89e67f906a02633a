"""Responses of keyed changes are written behind the request, in batches (app.idempotency.responses): the
key commits with the change, its response lands within milliseconds, and a replay before that gets it too."""
import sqlite3
import time

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from app.idempotency import responses

from app.models import Answer, IdempotencyKey
from tests.test_floor import operator  # noqa: F401 (a fixture)
from tests.test_idempotency import REPLAYED, item_url, keyed, new_key


def stored(db, key: str, seconds: float = 5.0) -> IdempotencyKey | None:
    """The key's row once its response is written (read again until then), or None after seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()
        row = db.session.get(IdempotencyKey, key, populate_existing=True)
        if row is not None and row.status is not None:
            return row
        time.sleep(0.01)
    return None


def test_responses_of_several_changes_are_written_behind_each_as_sent(operator, users, start_draft, db):  # noqa: F811
    draft = start_draft(users.operator)
    sent = {}
    for value in ("158", "171", "160"):
        key = new_key()
        response = keyed(operator, item_url(draft, "hydraulic_pressure"), key, {"value": value})
        assert response.status_code == 200
        sent[key] = response.get_data()
    for key, body in sent.items():  # written by the writer's own thread: nobody flushes here
        row = stored(db, key)
        assert row is not None and (row.status, row.body) == (200, body)
        assert row.headers_json and "text/html" in row.headers_json


def test_a_replay_gets_the_first_response_whether_or_not_it_is_written_yet(operator, users, start_draft, db):  # noqa: F811
    draft = start_draft(users.operator)
    key, url = new_key(), item_url(draft, "hydraulic_pressure")
    first = keyed(operator, url, key, {"value": "171"})
    again = keyed(operator, url, key, {"value": "171"})  # most likely before its batch is written
    assert stored(db, key) is not None
    later = keyed(operator, url, key, {"value": "171"})  # from the row
    assert first.status_code == again.status_code == later.status_code == 200
    assert again.get_data() == later.get_data() == first.get_data()
    assert again.headers[REPLAYED] == later.headers[REPLAYED] == "true"
    assert len(db.session.scalars(select(Answer)).all()) == 1



def test_a_response_whose_write_failed_is_written_by_the_next_batch(operator, users, start_draft, db,  # noqa: F811
                                                                    monkeypatch):
    """The database busy for one batch (locked past the wait): the response stays queued and the next batch
    writes it, instead of being given up at the first failure."""
    real_execute, failed = Connection.execute, []

    def busy_once(connection, statement, *args, **kwargs):
        if statement is responses._STORE and not failed:
            failed.append(statement)
            raise OperationalError("UPDATE idempotency_key …", {}, sqlite3.OperationalError("database is locked"))
        return real_execute(connection, statement, *args, **kwargs)
    monkeypatch.setattr(Connection, "execute", busy_once)
    draft = start_draft(users.operator)
    key = new_key()
    response = keyed(operator, item_url(draft, "hydraulic_pressure"), key, {"value": "158"})
    assert response.status_code == 200
    row = stored(db, key)
    assert len(failed) == 1 and row is not None and (row.status, row.body) == (200, response.get_data())
