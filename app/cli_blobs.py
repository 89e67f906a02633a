"""`flask --app wsgi blobs …`: copy the files kept before the blob store into it, and check what rows name."""
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.services.core import blob_files
from app.services.core.blobs import FolderStore, configured_store

blobs_cli = AppGroup("blobs", help="The blob store of photos and record PDFs (FLOORBOOK_BLOB_STORE).")


def _where() -> str:
    blobs = configured_store()
    return f"the folder {blobs.root}" if isinstance(blobs, FolderStore) else "the database"


@blobs_cli.command("import")
@click.option("--from", "instance", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The instance folder holding attachments/ and pdfs/ (default: this app's).")
def blobs_import(instance: Path | None) -> None:
    """Copy instance/attachments and instance/pdfs (kept before the blob store) into the blob store, once."""
    source = instance or Path(current_app.instance_path)
    report = blob_files.import_legacy(configured_store(), source)
    click.echo(f"{report.imported} file(s) imported into {_where()}, {report.present} there already "
               f"(from {source / 'attachments'} and {source / 'pdfs'}; those folders are left as they are)")
    for path in report.refused:
        click.echo(f"refused: {path}: its bytes do not have the sha256 its name says", err=True)
    if report.refused:
        sys.exit(1)


@blobs_cli.command("check")
def blobs_check() -> None:
    """Read every photo and archived PDF that a row names, and check its sha256; exit 1 naming what is wrong."""
    checked, problems = blob_files.check_blobs(configured_store())
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        click.echo(f"{len(problems)} of {checked} blob(s) missing or damaged in {_where()}", err=True)
        if blob_files.has_legacy_files(Path(current_app.instance_path)):
            click.echo("instance/attachments or instance/pdfs still hold files kept before the blob store: "
                       "copy them in with `flask --app wsgi blobs import`", err=True)
        sys.exit(1)
    click.echo(f"{checked} blob(s) checked in {_where()}: all present and intact")
