"""`flask --app wsgi …` commands: forms, users, audit, tls, blobs, demo, backup."""
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.roles import ROLES
from app.services.core.audit import Actor

forms_cli = AppGroup("forms", help="Validate and publish forms/*.yaml definitions.")
users_cli = AppGroup("users", help="Manage users.")
audit_cli = AppGroup("audit", help="Check the audit trail.")


@forms_cli.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def forms_check(paths: tuple[Path, ...]) -> None:
    """Validate definitions (default: the forms folder); print FILE:LINE: field: problem for each."""
    from app.definitions import check_paths

    targets = list(paths) or [Path(current_app.config["FORMS_DIR"])]
    missing = [p for p in targets if not p.exists()]
    if missing:
        raise click.ClickException(f"{missing[0]}: no such file or folder")
    problems = check_paths(targets)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) found.", err=True)
        sys.exit(1)
    click.echo("All definitions are valid.")


@forms_cli.command("sync")
def forms_sync() -> None:
    """Publish new versions of the definitions in the forms folder."""
    from app.services.floor.catalogue import sync_definitions

    report = sync_definitions(Path(current_app.config["FORMS_DIR"]), Actor(None))
    for label in report.published:
        click.echo(f"published {label}")
    click.echo(f"{len(report.published)} published, {len(report.unchanged)} unchanged.")
    for problem in report.problems:
        click.echo(str(problem), err=True)
    if report.problems:
        sys.exit(1)


@users_cli.command("create")
@click.argument("username")
@click.option("--name", "printed_name", required=True, help="Printed name, used on signatures.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES))
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--badge", default=None, help="Badge id (operators).")
@click.option("--pin", default=None, help="PIN for badge sign-in (4–8 digits).")
def users_create(username, printed_name, roles, password, badge, pin) -> None:
    """Create a user."""
    from app.errors import DomainError
    from app.services.access.users import create_user

    try:
        user = create_user(username, printed_name, roles, password, badge, pin, Actor(None))
    except DomainError as error:
        raise click.ClickException(f"{error.message} {error.errors}") from error
    click.echo(f"created {user.username} ({' '.join(sorted(user.role_set))})")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Walk the hash chain; name the first broken seq."""
    from app.services.core.audit import verify_chain

    report = verify_chain()
    if not report.ok:
        click.echo(f"audit chain BROKEN at seq {report.broken_seq}: {report.problem} "
                   f"({report.count} events verified before it)", err=True)
        sys.exit(1)
    click.echo(f"audit chain OK: {report.count} events verified.")


@click.command("demo")
@click.option("--days", default=7, show_default=True, type=click.IntRange(0, 60), help="Days of history to make.")
@click.option("--base-url", default="http://localhost:8000", show_default=True, help="Where the app is served (for the printed board URL).")
def demo(days: int, base_url: str) -> None:
    """Seed the demo plant (idempotent): site, lines, stations, users, forms, a week of history."""
    from app.services.demo import seed_demo

    summary = seed_demo(Path(current_app.config["FORMS_DIR"]), Path(current_app.instance_path), days, base_url)
    click.echo(summary)


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
def backup(path: Path) -> None:
    """Online backup of the database to PATH (SQLite file, or pg_dump custom format), and of the blob folder
    to PATH.blobs/ when FLOORBOOK_BLOB_STORE=folder (with the database store the blobs are in the database)."""
    from app.services.core import backup as backups
    from app.services.core.blob_files import has_legacy_files
    from app.services.core.blobs import FolderStore, configured_store

    written = backups.backup_database(db.engine, path)
    click.echo(f"backup written to {written}")
    if has_legacy_files(Path(current_app.instance_path)):
        click.echo("warning: instance/attachments or instance/pdfs hold files kept before the blob store; this backup "
                   "has them only once `flask --app wsgi blobs import` has copied them in", err=True)
    blobs = configured_store()
    if not isinstance(blobs, FolderStore):
        click.echo("blobs: stored in the database, so they are in that backup")
        return
    folder = backups.blobs_backup_folder(path)
    report = backups.backup_blobs(blobs, folder)
    click.echo(f"blobs: {report.copied} file(s) copied to {folder}, {report.present} there already")
    for problem in report.damaged:
        click.echo(f"not backed up: {problem}", err=True)
    if report.damaged:
        sys.exit(1)


def register_cli(app: Flask) -> None:
    """Attach the commands to app."""
    from app.cli_blobs import blobs_cli
    from app.cli_tls import tls_cli
    from app.jobs.cli import worker

    for command in (forms_cli, users_cli, audit_cli, tls_cli, blobs_cli, demo, backup, worker):
        app.cli.add_command(command)


def existing_user(username: str) -> User | None:
    """A user by username."""
    return db.session.scalar(select(User).where(User.username == username))
