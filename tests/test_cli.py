"""Command line: forms check/sync, users create, demo, backup, healthz."""
import re
import shutil

import pytest
from sqlalchemy import func, select

from app.config import ROOT
from app.models import FormVersion, RecordVersion, Site, Station, Submission, User

BAD = ROOT / "tests" / "fixtures" / "forms_bad"


@pytest.fixture
def runner(app):
    """Flask's CLI runner for this app."""
    return app.test_cli_runner(mix_stderr=False) if "mix_stderr" in app.test_cli_runner.__code__.co_varnames else app.test_cli_runner()


def test_forms_check_accepts_shipped_forms(runner):
    """Every shipped definition is valid."""
    result = runner.invoke(args=["forms", "check"])
    assert result.exit_code == 0 and "All definitions are valid." in result.output


def test_forms_check_reports_every_broken_file_with_file_line_field(runner):
    """Each broken fixture yields FILE:LINE: field: message; the exit code is non-zero; no traceback."""
    result = runner.invoke(args=["forms", "check", str(BAD)])
    output = result.output + (result.stderr if hasattr(result, "stderr") else "")
    assert result.exit_code == 1 and "Traceback" not in output
    files = sorted(BAD.glob("*.yaml"))
    assert len(files) >= 10
    for path in files:
        lines = [line for line in output.splitlines() if line.startswith(f"{path}:")]
        assert lines, f"no problem reported for {path.name}"
        for line in lines:
            file_part, line_no, field, message = line.split(":", 3)
            assert line_no.isdigit() and int(line_no) >= 1 and field.strip() and message.strip()


def test_forms_check_missing_path_is_a_clear_error(runner, tmp_path):
    """A path that does not exist is named."""
    result = runner.invoke(args=["forms", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code != 0 and "no such file or folder" in result.output


def test_forms_sync_publishes_once_and_refuses_unbumped_changes(runner, app, db, tmp_path):
    """A new version is published; the same content is unchanged; changed content without a bump is refused by name."""
    forms = tmp_path / "forms"
    forms.mkdir()
    shutil.copy(ROOT / "forms" / "torque-audit.yaml", forms)
    app.config["FORMS_DIR"] = str(forms)
    first = runner.invoke(args=["forms", "sync"])
    assert first.exit_code == 0 and "published torque-audit v" in first.output
    assert "0 published, 1 unchanged" in runner.invoke(args=["forms", "sync"]).output
    path = forms / "torque-audit.yaml"
    stored = db.session.scalar(select(FormVersion))
    path.write_text(re.sub(r"(?m)^title: .*$", "title: Torque audit (edited)", path.read_text(), count=1))
    refused = runner.invoke(args=["forms", "sync"])
    assert refused.exit_code == 1 and "torque-audit.yaml" in refused.output and "bumped to 2" in refused.output
    db.session.expire_all()
    assert db.session.scalar(select(FormVersion.definition_json)) == stored.definition_json
    path.write_text(re.sub(r"(?m)^version: .*$", f"version: {stored.version + 1}", path.read_text(), count=1))
    assert runner.invoke(args=["forms", "sync"]).exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(FormVersion)) == 2


def test_users_create(runner, db):
    """users create makes a user with roles, badge and PIN."""
    result = runner.invoke(args=["users", "create", "olga", "--name", "Olga Operator", "--role", "operator",
                                 "--password", "long-enough-pw", "--badge", "4242", "--pin", "8642"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "olga"))
    assert user.role_set == {"operator"} and user.badge_id == "4242"


def test_users_create_refuses_bad_input(runner, db):
    """A badge without a valid PIN is refused with the field named."""
    result = runner.invoke(args=["users", "create", "olga", "--name", "Olga", "--role", "operator",
                                 "--password", "long-enough-pw", "--badge", "4242", "--pin", "12"])
    assert result.exit_code != 0 and "pin" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_demo_is_exactly_the_design_plant_and_idempotent(runner, db):
    """demo seeds DESIGN.md §10's plant and users; running it again adds nothing."""
    assert runner.invoke(args=["demo", "--days", "1"]).exit_code == 0
    counts = [db.session.scalar(select(func.count()).select_from(m)) for m in (User, Station, Submission, RecordVersion)]
    again = runner.invoke(args=["demo", "--days", "1"])
    assert again.exit_code == 0 and "0 user(s) created" in again.output
    assert [db.session.scalar(select(func.count()).select_from(m)) for m in (User, Station, Submission, RecordVersion)] == counts
    site = db.session.scalar(select(Site))
    assert (site.name, site.timezone, site.shift_pattern) == ("Demo Plant", "America/Chicago", "06:00/14:00/22:00")
    assert sorted(s.name for s in db.session.scalars(select(Station))) == sorted(
        ["Press 1", "Press 2", "Weld 1", "Press 3", "Assembly 1", "Pack 1"])
    assert {u.username: u.roles for u in db.session.scalars(select(User))} == {
        "operator1": "operator", "operator2": "operator", "inspector1": "inspector",
        "supervisor1": "supervisor", "auditor1": "auditor", "admin": "admin"}


@pytest.mark.parametrize("username,password", [
    ("operator1", "operator1-demo"), ("operator2", "operator2-demo"), ("inspector1", "inspector1-demo"),
    ("supervisor1", "supervisor1-demo"), ("auditor1", "auditor1-demo"), ("admin", "admin-demo")])
def test_demo_credentials(runner, client, username, password):
    """Each demo login of DESIGN.md §10 works."""
    runner.invoke(args=["demo", "--days", "0"])
    assert client.post_form("/login", {"username": username, "password": password}).status_code == 302


def test_backup_writes_a_usable_copy(runner, db, dialect, tmp_path):
    """backup PATH writes a copy of the live database."""
    if dialect != "sqlite" and shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is missing: install postgresql-client")
    runner.invoke(args=["demo", "--days", "0"])
    target = tmp_path / "backup.db"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0 and target.exists() and target.stat().st_size > 0
    if dialect == "sqlite":
        import sqlite3
        assert sqlite3.connect(target).execute("select count(*) from user").fetchone()[0] == 6


def test_healthz_ok(client):
    """healthz answers ok for a working database."""
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok", "db": "ok"}


def test_healthz_names_a_failing_database(tmp_path):
    """healthz answers 503 naming the database when it cannot be reached."""
    from app import create_app
    from app.config import TestingConfig

    broken = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none",
                        INSTANCE_PATH=str(tmp_path))
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["db"].startswith("error")
