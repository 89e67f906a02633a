"""Real image bytes for photo tests."""
import io

from PIL import Image


def jpeg_with_exif(size=(64, 48)) -> bytes:
    """A JPEG carrying EXIF (camera make and GPS-like data) that the derivative must drop."""
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0132] = "2026:11:22 06:42:00"  # DateTime
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def png(size=(32, 32)) -> bytes:
    """A small PNG."""
    out = io.BytesIO()
    Image.new("RGB", size, (0, 120, 0)).save(out, format="PNG")
    return out.getvalue()


def gif() -> bytes:
    """A GIF: an image, but not an accepted type."""
    out = io.BytesIO()
    Image.new("P", (8, 8)).save(out, format="GIF")
    return out.getvalue()
