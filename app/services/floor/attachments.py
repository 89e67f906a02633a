"""Photos: checked by content, kept in the blob store by sha256, shown only as an EXIF-free derivative."""
import io

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select

from app.canonical import sha256_hex
from app.database import writing
from app.services.core import blobs
from app.services.core.errors import DomainError
from app.extensions import db
from app.models import Attachment

ALLOWED = {"JPEG": "image/jpeg", "PNG": "image/png"}
DERIVATIVE_MAX_PX = 1600
# The most pixels a photo may have (a 12 MP tablet camera is far below). Checked from the header before any pixel is
# decoded; Pillow's own guard stays as a second line, set to the same number (it only refuses twice it).
MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def _derivative(image: Image.Image) -> bytes:
    """Rotated upright, at most DERIVATIVE_MAX_PX, re-encoded as JPEG without any metadata."""
    image = ImageOps.exif_transpose(image).convert("RGB")
    image.thumbnail((DERIVATIVE_MAX_PX, DERIVATIVE_MAX_PX))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


def _refuse_too_many_pixels(width: int, height: int) -> None:
    """Refuse an image whose header promises more than MAX_PIXELS: a small file can claim a huge image (a
    decompression bomb), and decoding it would take seconds and gigabytes."""
    if width * height > MAX_PIXELS:
        raise _too_many_pixels(f"{width} × {height}, {width * height / 1e6:.1f} megapixels")


def _too_many_pixels(size: str) -> DomainError:
    return DomainError("The photo has too many pixels.", {"photo": [
        f"At most {MAX_PIXELS / 1e6:.0f} megapixels; this one is {size}."]}, status=413)


def store_photo(data: bytes, max_bytes: int, user_id: int) -> Attachment:
    """Validate bytes as a JPEG or PNG photo within max_bytes, store it and its derivative; its Attachment."""
    if not data:
        raise DomainError("The photo is empty.", {"photo": ["Take or choose a photo."]})
    if len(data) > max_bytes:
        raise DomainError("The photo is too large.",
                          {"photo": [f"At most {max_bytes // (1024 * 1024)} MB; this one is {len(data) / 1048576:.1f} MB."]},
                          status=413)
    try:
        with Image.open(io.BytesIO(data)) as probe:  # reads the header only: nothing is decoded yet
            kind = probe.format
            _refuse_too_many_pixels(*probe.size)
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            derivative = _derivative(image)
            width, height = image.size
    except Image.DecompressionBombError as error:  # Pillow's own guard, at open: over twice MAX_PIXELS
        raise _too_many_pixels(f"over {2 * MAX_PIXELS / 1e6:.0f} megapixels") from error
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise DomainError("That file is not a photo.", {"photo": ["Only JPEG or PNG photos are accepted."]}) from error
    if kind not in ALLOWED:
        raise DomainError("That image type is not accepted.", {"photo": [f"Only JPEG or PNG, not {kind}."]})
    digest = sha256_hex(data)
    # Decoded above without the write lock when the caller began read-only (reads_first); the writes start here.
    writing(db.session)
    existing = db.session.scalar(select(Attachment).where(Attachment.sha256 == digest))
    if existing:
        return existing
    store = blobs.store()
    store.put(data)  # the original is kept as taken (EXIF and all) but never served
    derivative_digest = store.put(derivative)
    attachment = Attachment(sha256=digest, content_type=ALLOWED[kind], size=len(data),
                            derivative_sha256=derivative_digest, width=width, height=height,
                            uploaded_by_id=user_id)
    db.session.add(attachment)
    db.session.flush()
    return attachment


def derivative(attachment: Attachment) -> bytes:
    """The display derivative's JPEG bytes (no metadata), from the blob store; 404 when its file is not there."""
    try:
        return blobs.store().get(attachment.derivative_sha256)
    except blobs.BlobMissing:
        raise DomainError("This photo's file is not in the blob store.", status=404) from None


def find(sha256: str) -> Attachment | None:
    """The attachment with this original sha256."""
    return db.session.scalar(select(Attachment).where(Attachment.sha256 == sha256))
