"""Blob store upkeep: the files kept before it (read through, and copied in by `blobs import`), and a check of
every named blob (`blobs check`).

Before the blob store, photos lived in instance/attachments/<aa>/<sha256>.orig (original) and .jpg (derivative)
and archived PDFs in instance/pdfs/<aa>/<sha256>.pdf. Their names are their sha256, so they go into the store
under the same names and every row that names them (attachment, rendered_pdf) finds them there. The old
folders are left as they are: the import only reads them, and running it again copies nothing twice.

Until the import has run, a server whose instance folder still holds them reads them through (ReadThrough),
so an upgrade serves every photo and archived PDF at once, and never renders an archived PDF anew because its
file seemed lost. Reading through writes nothing (a GET's transaction stays read-only); other servers see
those files only once they are imported.
"""
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from sqlalchemy import select

from app.extensions import db
from app.models import Attachment, RenderedPdf
from app.services.core.blobs import BlobDamaged, BlobMissing, BlobStore, FolderStore

# (folder under instance/, suffixes of the files it held)
LEGACY_FOLDERS = (("attachments", (".orig", ".jpg")), ("pdfs", (".pdf",)))
_NAME = re.compile(r"[0-9a-f]{64}")


def has_legacy_files(instance: Path) -> bool:
    """True when instance/ still has a folder of the files kept before the blob store."""
    return any((instance / folder).is_dir() for folder, _suffixes in LEGACY_FOLDERS)


class ReadThrough:
    """The configured store, falling back to the old instance folders for a blob it does not have (read only)."""

    def __init__(self, inner: BlobStore, instance: Path):
        self.inner, self.kind = inner, inner.kind
        self.legacy = {folder: FolderStore(instance / folder) for folder, _suffixes in LEGACY_FOLDERS}

    def _old_file(self, sha256: str) -> Path | None:
        for folder, suffixes in LEGACY_FOLDERS:
            for suffix in suffixes:
                path = self.legacy[folder].path(sha256).with_suffix(suffix)
                if path.is_file():
                    return path
        return None

    def _old_bytes(self, sha256: str) -> bytes:
        path = self._old_file(sha256)
        if path is None:
            raise BlobMissing(f"no blob {sha256} in the store or the folders kept before it")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise BlobDamaged(f"blob {sha256}: {path} has other bytes than its name says")
        return data

    def put(self, data: bytes) -> str:
        """New blobs go to the configured store only."""
        return self.inner.put(data)

    def get(self, sha256: str) -> bytes:
        """The store's bytes, else the old file's (checked against its name)."""
        try:
            return self.inner.get(sha256)
        except BlobMissing:
            return self._old_bytes(sha256)

    def chunks(self, sha256: str) -> Iterator[bytes]:
        """The store's chunks, else the old file whole (files of that age are photos and PDFs: small)."""
        try:
            return self.inner.chunks(sha256)
        except BlobMissing:
            return iter([self._old_bytes(sha256)])

    def exists(self, sha256: str) -> bool:
        """In the store, or an old file of that name."""
        try:
            return self.inner.exists(sha256) or self._old_file(sha256) is not None
        except BlobMissing:  # not a blob name
            return False

    def size(self, sha256: str) -> int:
        """The blob's size in bytes."""
        try:
            return self.inner.size(sha256)
        except BlobMissing:
            path = self._old_file(sha256)
            if path is None:
                raise
            return path.stat().st_size


@dataclass
class ImportReport:
    """What an import did: files copied in, files the store had already, files whose bytes are not their name."""

    imported: int = 0
    present: int = 0
    refused: list[Path] = field(default_factory=list)


def legacy_files(instance: Path) -> Iterator[tuple[str, Path]]:
    """(sha256, path) of every file the folders before the blob store hold (temporary files left out)."""
    for folder, suffixes in LEGACY_FOLDERS:
        for path in sorted((instance / folder).glob("??/*")):
            if path.suffix in suffixes and _NAME.fullmatch(path.stem) and path.parent.name == path.stem[:2]:
                yield path.stem, path


def import_legacy(store: BlobStore, instance: Path) -> ImportReport:
    """Copy instance/attachments and instance/pdfs into store; a file whose bytes do not hash to its name is refused."""
    report = ImportReport()
    for name, path in legacy_files(instance):
        if store.exists(name):
            report.present += 1
            continue
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != name:
            report.refused.append(path)  # served under its name it would be a wrong file: left out, and named
            continue
        store.put(data)
        db.session.commit()  # one file per transaction: a big import never holds them all at once
        report.imported += 1
    db.session.commit()
    return report


def named_blobs() -> Iterator[tuple[str, str]]:
    """(what names it, sha256) for every blob a row names: photos (original and derivative) and archived PDFs."""
    # Names only (two short strings a row), fetched before any blob is read on the same session.
    photos = db.session.execute(select(Attachment.sha256, Attachment.derivative_sha256).order_by(Attachment.id)).all()
    for original, derivative in photos:
        yield f"photo {original} (original)", original
        yield f"photo {original} (derivative)", derivative
    pdfs = db.session.execute(select(RenderedPdf.record_version_id, RenderedPdf.pdf_sha256)
                              .order_by(RenderedPdf.id)).all()
    for version_id, sha256 in pdfs:
        yield f"PDF of record version id {version_id}", sha256


def check_blobs(store: BlobStore) -> tuple[int, list[str]]:
    """Read every named blob through (a chunk at a time) and hash it: (blobs checked, problems in words)."""
    checked, problems = 0, []
    for owner, sha256 in named_blobs():
        checked += 1
        try:
            for _chunk in store.chunks(sha256):
                pass
        except BlobMissing:
            problems.append(f"{owner}: blob {sha256} is missing")
        except BlobDamaged:
            problems.append(f"{owner}: blob {sha256} is damaged (its bytes have another sha256)")
    return checked, problems
