"""Online backups: SQLite's backup API, or pg_dump for PostgreSQL; with the folder blob store, its files too."""
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from app.services.core.blobs import BlobDamaged, BlobMissing, FolderStore


@dataclass
class BlobBackup:
    """What a blob folder backup did: files copied, files the backup had already, blobs refused as damaged."""

    copied: int = 0
    present: int = 0
    damaged: list[str] = field(default_factory=list)


def backup_database(engine: Engine, path: Path) -> Path:
    """Write a consistent copy of the live database to path without stopping the app."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if engine.dialect.name == "sqlite":
        source = sqlite3.connect(engine.url.database)
        try:
            target = sqlite3.connect(path)
            with target:
                source.backup(target)
            target.close()
        finally:
            source.close()
        return path
    if shutil.which("pg_dump") is None:
        raise RuntimeError("pg_dump is not installed (Debian package postgresql-client)")
    url = engine.url.set(drivername="postgresql")
    subprocess.run(["pg_dump", "--format=custom", f"--file={path}",
                    url.render_as_string(hide_password=False)], check=True)
    return path


def blobs_backup_folder(path: Path) -> Path:
    """Where `backup PATH` puts the blob folder's files: beside the database copy, PATH.blobs/."""
    return path.with_name(path.name + ".blobs")


def backup_blobs(store: FolderStore, target: Path) -> BlobBackup:
    """Copy every blob of store that target lacks into target (<aa>/<sha256>, as in the store).

    Run after the database copy: every blob a copied row names was written before that row committed, so it is
    in the store by then. Blobs never change, so a blob already in target is not copied again (a later backup to
    the same folder copies only what is new). Each is read through its sha256 check: a damaged blob is named,
    not copied over a good copy, and the backup goes on with the others.
    """
    report = BlobBackup()
    backup = FolderStore(target)
    for name in store.names():
        if backup.exists(name):
            report.present += 1
            continue
        try:
            data = store.get(name)
        except (BlobDamaged, BlobMissing) as error:  # missing: the file went away while the backup ran
            report.damaged.append(str(error))
            continue
        backup.put(data)  # written aside, fsynced and renamed, as in the store itself
        report.copied += 1
    return report
