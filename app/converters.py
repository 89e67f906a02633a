"""URL converters that refuse, as a 404, a path argument no row can have, before any query is sent.

Every id column is an Integer (32 bits on PostgreSQL, whose driver raises on a larger parameter, and SQLite's
driver raises past 64 bits), so `<int:…>` matches 0 to MAX_ID in ASCII digits only (0 is no row's id but lies
within the column, so the route's own role check answers it before its lookup finds nothing). A string
argument is one path segment of at most MAX_SEGMENT characters without control characters (PostgreSQL refuses
a NUL in a parameter), which every token, UUID, sha256 and item name fits.
"""
from flask import Flask
from werkzeug.routing import IntegerConverter, UnicodeConverter

from app.inputs import MAX_ID

MAX_SEGMENT = 200


class IdConverter(IntegerConverter):
    """`<int:…>`: a whole number from 0 to MAX_ID written in ASCII digits (٣ or MAX_ID + 1 match no route)."""

    regex = r"[0-9]{1,19}"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 0, max: int | None = MAX_ID, signed: bool = False):
        super().__init__(map, fixed_digits, min, max, signed)


class SegmentConverter(UnicodeConverter):
    """`<…>` and `<string:…>`: one path segment, MAX_SEGMENT characters at most, no control characters."""

    def __init__(self, map, minlength: int = 1, maxlength: int | None = MAX_SEGMENT, length: int | None = None):
        super().__init__(map, minlength, maxlength, length)
        self.regex = self.regex.replace("[^/]", r"[^/\x00-\x1f\x7f]", 1)


def register_converters(app: Flask) -> None:
    """Bind the converters; called before the blueprints, whose rules look them up when added."""
    app.url_map.converters.update(int=IdConverter, default=SegmentConverter, string=SegmentConverter)
