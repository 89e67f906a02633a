"""One blob store for every file Floorbook keeps (photos, their derivatives, record PDFs), by sha256.

FLOORBOOK_BLOB_STORE chooses where the bytes live (DESIGN §12):
- `folder` (default): files `<aa>/<sha256>` under FLOORBOOK_BLOB_DIR (default instance/blobs). Several app
  servers may share it on a network file system; each file appears whole or not at all (written aside, fsynced,
  then renamed into place), so a reader on another server never sees half a file.
- `database`: the `blob` table, written in the same transaction as the row that names the blob (an attachment,
  a rendered PDF), so neither exists without the other. Meant for PostgreSQL with several servers; works on SQLite.

The name is always the sha256 of the bytes, computed here on write, never taken from the caller; reads hash the
bytes again, so bytes changed on disk or a damaged row are refused (BlobDamaged) instead of served under a name
that is not theirs. Blobs are never changed or deleted: writing bytes that are there already changes nothing.
"""
import hashlib
import os
import re
import threading
from pathlib import Path
from typing import Iterator, Protocol

from flask import Flask, current_app
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db
from app.models import Blob

STORES = ("folder", "database")
EXTENSION_KEY = "floorbook_blobs"
BASE_KEY = "floorbook_blobs_configured"
CHUNK_BYTES = 1 << 20  # a streamed read holds one MiB at a time
_NAME = re.compile(r"[0-9a-f]{64}")


class BlobMissing(LookupError):
    """No blob is stored under this sha256."""


class BlobDamaged(RuntimeError):
    """The bytes stored under this sha256 are not the bytes that have it: refused rather than served."""


class BlobStore(Protocol):
    """What every store offers: write once, read whole or in chunks, ask whether and how big."""

    kind: str

    def put(self, data: bytes) -> str: ...
    def get(self, sha256: str) -> bytes: ...
    def chunks(self, sha256: str) -> Iterator[bytes]: ...
    def exists(self, sha256: str) -> bool: ...
    def size(self, sha256: str) -> int: ...


def _name(sha256: str) -> str:
    if not _valid(sha256):
        raise BlobMissing(f"not a blob name (64 lowercase hexadecimal characters): {str(sha256)[:80]!r}")
    return sha256


def _valid(sha256: str) -> bool:
    return isinstance(sha256, str) and _NAME.fullmatch(sha256) is not None


def _checked(sha256: str, data: bytes) -> bytes:
    if hashlib.sha256(data).hexdigest() != sha256:
        raise BlobDamaged(f"blob {sha256}: its stored bytes have another sha256")
    return data


def _sync_folder(folder: Path) -> None:
    """fsync a folder, so the names made in it (a rename, a new folder) survive a crash as its files' bytes do."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


class FolderStore:
    """Blobs as files <root>/<aa>/<sha256>, written aside and renamed into place."""

    kind = "folder"

    def __init__(self, root: Path):
        self.root = root

    def path(self, sha256: str) -> Path:
        """Where the blob's file is (or would be)."""
        name = _name(sha256)
        return self.root / name[:2] / name

    def put(self, data: bytes) -> str:
        """Store data (if not there already) and return its sha256, once the file and its name are on disk: the
        row that names the blob is committed after this returns, so a power cut never leaves a row without its file."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.path(digest)
        if path.is_file():
            return digest
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
            _sync_folder(self.root)  # the new <aa> folder's own name
        # A name of its own per process and thread: two servers writing the same blob never share a temp file.
        tmp = path.parent / f".{digest}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            with tmp.open("wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())  # the bytes are on disk before the name points at them
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        _sync_folder(path.parent)  # the rename itself: without it the name may vanish in a crash
        return digest

    def get(self, sha256: str) -> bytes:
        """The blob's bytes; BlobMissing or BlobDamaged."""
        try:
            data = self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise BlobMissing(f"no blob {sha256} in {self.root}") from None
        return _checked(sha256, data)

    def chunks(self, sha256: str) -> Iterator[bytes]:
        """The blob's bytes a chunk at a time; the last chunk is held back until the whole file hashes right."""
        path = self.path(sha256)
        if not path.is_file():
            raise BlobMissing(f"no blob {sha256} in {self.root}")

        def read() -> Iterator[bytes]:
            with path.open("rb") as source:  # opened when the first chunk is asked for, closed with the stream
                yield from iter(lambda: source.read(CHUNK_BYTES), b"")
        return _verified(sha256, read())

    def exists(self, sha256: str) -> bool:
        """True when the blob is stored."""
        return _valid(sha256) and self.path(sha256).is_file()

    def size(self, sha256: str) -> int:
        """The blob's size in bytes."""
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            raise BlobMissing(f"no blob {sha256} in {self.root}") from None

    def names(self) -> Iterator[str]:
        """Every stored blob's sha256 (for backups and checks)."""
        for path in sorted(self.root.glob("??/*")):
            if _NAME.fullmatch(path.name) and path.parent.name == path.name[:2]:
                yield path.name


class DatabaseStore:
    """Blobs as rows of the blob table, in the caller's transaction (db.session)."""

    kind = "database"

    def put(self, data: bytes) -> str:
        """Add the blob to the current transaction (if not there already) and return its sha256."""
        digest = hashlib.sha256(data).hexdigest()
        dialect = db.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        # ON CONFLICT DO NOTHING: two servers storing the same photo at once both succeed, one row stays.
        db.session.execute(insert(Blob).values(sha256=digest, size=len(data), data=data)
                           .on_conflict_do_nothing(index_elements=["sha256"]))
        return digest

    def get(self, sha256: str) -> bytes:
        """The blob's bytes; BlobMissing or BlobDamaged."""
        data = db.session.scalar(select(Blob.data).where(Blob.sha256 == _name(sha256)))
        if data is None:
            raise BlobMissing(f"no blob {sha256} in the database")
        return _checked(sha256, bytes(data))

    def chunks(self, sha256: str) -> Iterator[bytes]:
        """The blob's bytes a chunk at a time (substr over the column), checked as get() is."""
        total = self.size(sha256)

        def read() -> Iterator[bytes]:
            for start in range(0, total, CHUNK_BYTES):
                # substr() counts from 1 on both engines, for bytea and BLOB alike.
                yield bytes(db.session.scalar(select(func.substr(Blob.data, start + 1, CHUNK_BYTES))
                                              .where(Blob.sha256 == sha256)))
        return _verified(sha256, read())

    def exists(self, sha256: str) -> bool:
        """True when the blob is stored (or added in this transaction)."""
        return _valid(sha256) and db.session.scalar(select(Blob.sha256).where(Blob.sha256 == sha256)) is not None

    def size(self, sha256: str) -> int:
        """The blob's size in bytes."""
        size = db.session.scalar(select(Blob.size).where(Blob.sha256 == _name(sha256)))
        if size is None:
            raise BlobMissing(f"no blob {sha256} in the database")
        return size


def _verified(sha256: str, parts: Iterator[bytes]) -> Iterator[bytes]:
    """Yield parts, hashing them; each is yielded only once the next one is read, and the last only when the
    whole hashes to sha256, so a damaged blob ends its stream early (an error) instead of completing."""
    digest, held = hashlib.sha256(), None
    for part in parts:
        digest.update(part)
        if held is not None:
            yield held
        held = part
    if digest.hexdigest() != sha256:
        raise BlobDamaged(f"blob {sha256}: its stored bytes have another sha256")
    if held is not None:
        yield held


def open_store(kind: str, folder: Path) -> BlobStore:
    """The store FLOORBOOK_BLOB_STORE names; ValueError with what is accepted otherwise."""
    if kind == "folder":
        return FolderStore(folder)
    if kind == "database":
        return DatabaseStore()
    raise ValueError(f"FLOORBOOK_BLOB_STORE={kind!r} is not a blob store: expected 'folder' (files in "
                     "FLOORBOOK_BLOB_DIR, default instance/blobs) or 'database' (the blob table; "
                     "for several app servers on PostgreSQL)")


def blob_folder(app: Flask) -> Path:
    """FLOORBOOK_BLOB_DIR as an absolute path, or instance/blobs."""
    configured = app.config.get("BLOB_DIR")
    return Path(configured).resolve() if configured else Path(app.instance_path).resolve() / "blobs"


def init_blobs(app: Flask) -> None:
    """Open the configured store once; a wrong FLOORBOOK_BLOB_STORE or an unusable folder stops start-up."""
    try:
        store = open_store(app.config["BLOB_STORE"], blob_folder(app))
    except ValueError as error:
        raise RuntimeError(str(error)) from None
    if isinstance(store, FolderStore):
        try:
            store.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RuntimeError(f"FLOORBOOK_BLOB_DIR={str(store.root)!r} cannot be used as the blob folder: "
                               f"{error.strerror}") from None
        if not os.access(store.root, os.W_OK | os.X_OK):
            raise RuntimeError(f"FLOORBOOK_BLOB_DIR={str(store.root)!r} is not writable by this user")
    app.extensions[BASE_KEY] = store
    from app.services.core.blob_files import ReadThrough, has_legacy_files  # it builds on this module

    instance = Path(app.instance_path)
    app.extensions[EXTENSION_KEY] = ReadThrough(store, instance) if has_legacy_files(instance) else store


def store() -> BlobStore:
    """The current app's blob store (reading through the folders kept before it, while an instance has them)."""
    return current_app.extensions[EXTENSION_KEY]


def configured_store() -> BlobStore:
    """The store FLOORBOOK_BLOB_STORE names, without reading through: what imports and backups write and copy."""
    return current_app.extensions[BASE_KEY]
