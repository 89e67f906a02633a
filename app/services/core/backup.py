"""Online backups: SQLite's backup API, or pg_dump for PostgreSQL."""
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import Engine


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
