"""The security log (compliance.md SEC-LOG-1, P11-300-4): one JSON line per sign-in, failure, lock, refusal,
signature and admin change, with time, account, address and route; one line whatever was typed; never a
password or PIN."""
import json
import logging

import pytest

from app.services.core import security_log
from tests.helpers.builders import PASSWORD, Client

WRONG = "Wrong-guess-4711"


@pytest.fixture
def lines(caplog):
    """The security log's records so far, as (level, message, parsed JSON)."""
    caplog.set_level(logging.INFO, logger=security_log.log.name)

    def read():
        return [(r.levelno, r.getMessage(), json.loads(r.getMessage()))
                for r in caplog.records if r.name == security_log.log.name]
    return read


def _anonymous(app, address="10.1.2.3"):
    app.test_client_class = Client
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _events(lines, name):
    return [entry for _level, _text, entry in lines() if entry["event"] == name]


def test_a_typed_newline_never_breaks_a_line(app, lines):
    """A username with a newline, a carriage return, a Unicode line separator and NEL (sign-in takes them;
    escapes and other controls it refuses): the line stays one line, the name is kept (escaped, not dropped),
    and the typed password appears nowhere."""
    typed = "op\nerator\r\u2028ro\u0085ot"
    response = _anonymous(app).post_form("/login", {"username": typed, "password": WRONG})
    assert response.status_code == 401
    for _level, text, _entry in lines():
        assert text.isascii() and "\n" not in text and "\r" not in text and WRONG not in text
    failed = _events(lines, "auth.failed")
    assert len(failed) == 1 and failed[0]["account"] == f"user:{typed}"
    assert failed[0]["address"] == "10.1.2.3" and failed[0]["path"] == "/login" and failed[0]["outcome"] == "failure"
    assert failed[0]["at"].endswith("+00:00")  # the server's UTC clock


def test_sign_in_success_is_logged_without_the_password(app, users, lines):
    response = _anonymous(app).post_form("/login", {"username": users.operator.username, "password": PASSWORD})
    assert response.status_code in (302, 303)
    ok = _events(lines, "auth.succeeded")
    assert [e["account"] for e in ok] == [f"user:{users.operator.username}"] and ok[0]["source"] == "address:10.1.2.3"
    assert all(PASSWORD not in text for _level, text, _entry in lines())


def test_a_lock_is_an_alert(app, users, lines):
    """The failure that locks an account is a WARNING line naming the account, the source and until when;
    each try while it holds is logged as refused."""
    client = _anonymous(app)
    statuses = [client.post_form("/login", {"username": users.operator.username, "password": f"{WRONG}{n}"})
                .status_code for n in range(6)]
    assert statuses[-1] == 429
    alerts = [(level, entry) for level, _text, entry in lines() if entry["event"] == "auth.locked"]
    assert alerts and all(level == logging.WARNING for level, _ in alerts)
    assert alerts[0][1]["account"] == f"user:{users.operator.username}" and alerts[0][1]["locked_until"]
    assert _events(lines, "auth.refused")[-1]["outcome"] == "locked"
    assert all(level == logging.INFO for level, _text, entry in lines() if entry["event"] != "auth.locked")


def test_authorization_failures_are_logged(login, users, make_user, make_record, lines):
    """A role that may not (403), a record outside the viewer's scope (404) and a request from another site
    (403) each leave a line with who tried what."""
    operator = login(users.operator)
    assert operator.get("/admin/devices").status_code == 403
    other = make_user("operator", username="op-other")
    record = make_record(other, station="Press 2")
    assert operator.get(f"/records/{record.id}").status_code == 404
    assert operator.post_form("/logout", {}, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    refused = _events(lines, "access.refused")
    assert [(e["outcome"], e["path"]) for e in refused] == [
        ("forbidden", "/admin/devices"), ("out_of_scope", f"/records/{record.id}"), ("forbidden", "/logout")]
    assert {e["user"] for e in refused} == {users.operator.username}
    assert refused[1]["object"] == "record" and refused[1]["id"] == record.id
    assert "Sec-Fetch-Site: cross-site" in refused[2]["reason"]


def test_a_missing_csrf_token_is_logged(login, users, lines):
    client = login(users.operator)
    assert client.post("/logout", data={}).status_code == 400
    assert _events(lines, "access.refused")[-1]["outcome"] == "csrf"


def test_signatures_and_admin_changes_are_logged(login, users, make_record, lines):
    """What the audit trail records of signatures and admin changes is told in the security log too, with
    the audit event's sequence number, and the signer's password is in no line."""
    record = make_record(users.operator)
    inspector = login(users.inspector)
    response = inspector.post_form(f"/review/{record.id}/sign", {
        "username": users.inspector.username, "password": PASSWORD, "meaning": "Reviewed",
        "sha256": record.versions[-1].sha256})
    assert response.status_code == 303
    signed = _events(lines, "record.signed")
    assert len(signed) == 1 and signed[0]["by"] == users.inspector.id and signed[0]["seq"] > 0
    admin = login(users.admin)
    assert admin.post_form("/admin/devices", {"name": "Spare tablet"}).status_code in (200, 201, 303)
    assert [e["entity"].split(":")[0] for e in _events(lines, "device.registered")] == ["device"]
    assert all(PASSWORD not in text for _level, text, _entry in lines())


def test_an_export_is_logged_with_its_filters(login, users, lines):
    auditor = login(users.auditor)
    response = auditor.get("/records/answers.csv?station=1")
    assert response.status_code == 200
    response.get_data()
    exported = _events(lines, "records.exported")
    assert len(exported) == 1 and exported[0]["query"] == "station=1" and exported[0]["user"] == users.auditor.username


def test_the_log_goes_to_the_file_configured(app, tmp_path, monkeypatch):
    """FLOORBOOK_SECURITY_LOG names a file: lines are appended there, one JSON object each."""
    target = tmp_path / "security.log"
    monkeypatch.setattr(security_log.log, "handlers", [])
    app.config["SECURITY_LOG"] = str(target)
    security_log.configure(app)
    try:
        with app.test_request_context("/login", method="POST", environ_base={"REMOTE_ADDR": "10.9.8.7"}):
            security_log.event("auth.failed", "failure", account="user:x\ny\x1b[31m")
        for handler in security_log.log.handlers:
            handler.flush()
        written = target.read_text(encoding="utf-8").splitlines()
        assert len(written) == 1 and json.loads(written[0])["account"] == "user:x\ny\x1b[31m"
        assert json.loads(written[0])["address"] == "10.9.8.7"
    finally:
        for handler in security_log.log.handlers:
            handler.close()
