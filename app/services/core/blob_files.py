"""Blob store upkeep: files kept before it copied in (`blobs import`), every named blob checked (`blobs check`).

Before the blob store, photos lived in instance/attachments/<aa>/<sha256>.orig (original) and .jpg (derivative)
and archived PDFs in instance/pdfs/<aa>/<sha256>.pdf. Their names are their sha256, so they go into the store
under the same names and every row that names them (attachment, rendered_pdf) finds them there. The old
folders are left as they are: the import only reads them, and running it again copies nothing twice.
"""
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from sqlalchemy import select

from app.extensions import db
from app.models import Attachment, RenderedPdf
from app.services.core.blobs import BlobDamaged, BlobMissing, BlobStore

# (folder under instance/, suffixes of the files it held)
LEGACY_FOLDERS = (("attachments", (".orig", ".jpg")), ("pdfs", (".pdf",)))
_NAME = re.compile(r"[0-9a-f]{64}")


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
