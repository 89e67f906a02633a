"""Draw the PWA icons (the clipboard of static/img/logo.svg) as PNGs with Pillow: run after changing the logo."""
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "static" / "img"
BLUE, WHITE, CLIP, INK, GREEN = "#0b3d91", "#ffffff", "#d7dee9", "#111111", "#1a7f37"


def draw(size: int, maskable: bool) -> Image.Image:
    """The logo on a 64-unit grid; a maskable icon fills the square and keeps the logo in the safe zone."""
    image = Image.new("RGB" if maskable else "RGBA", (size, size), BLUE if maskable else (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    scale, offset = (size / 64 * 0.72, size * 0.14) if maskable else (size / 64, 0)

    def box(x0, y0, x1, y1):
        return [offset + x0 * scale, offset + y0 * scale, offset + x1 * scale, offset + y1 * scale]

    pen.rounded_rectangle(box(9, 8, 55, 61), radius=7 * scale, fill=BLUE, outline=WHITE, width=max(1, int(2 * scale)))
    pen.rounded_rectangle(box(15, 15, 49, 55), radius=3 * scale, fill=WHITE)
    pen.rounded_rectangle(box(18, 4, 46, 18), radius=3 * scale, fill=CLIP, outline=INK, width=max(1, int(2 * scale)))
    for row, y in enumerate((26, 36, 46)):
        pen.line([tuple(box(20, y, 0, 0)[:2]), tuple(box(24, y + 4, 0, 0)[:2]), tuple(box(30, y - 4, 0, 0)[:2])],
                 fill=GREEN, width=max(2, int(3 * scale)))
        pen.line([tuple(box(33, y, 0, 0)[:2]), tuple(box(45, y, 0, 0)[:2])], fill=INK, width=max(1, int(2 * scale)))
    return image


if __name__ == "__main__":
    for size in (192, 512):
        draw(size, False).save(OUT / f"icon-{size}.png", optimize=True)
    draw(512, True).save(OUT / "icon-maskable-512.png", optimize=True)
    draw(180, True).save(OUT / "apple-touch-icon.png", optimize=True)
    print("icons written to", OUT)
