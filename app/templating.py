"""Template helpers: SRI hashes of vendored files, times in the site's zone, numbers and values in words."""
import json
import uuid
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app

from app.items import article
from app.models.types import utcnow
from app.services.core.site import site_zone
from app.services.floor.evaluation import format_number
from app.services.records.record_history import plain


@lru_cache(maxsize=1)
def _sri_table(static_folder: str) -> dict[str, str]:
    path = Path(static_folder) / "vendor" / "sri.json"
    return json.loads(path.read_text()) if path.exists() else {}


def sri(filename: str) -> str:
    """The integrity attribute value of a vendored file."""
    return _sri_table(current_app.static_folder).get(filename, "")


def site_time(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M %Z (UTC%z)") -> str:
    """A UTC time shown in the site's zone with its offset."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    local = value.astimezone(site_zone())
    text = local.strftime(fmt)
    return _colon_offset(text, local) if "%z" in fmt else text


def _colon_offset(text: str, local: datetime) -> str:
    raw = local.strftime("%z")
    return text.replace(raw, f"{raw[:3]}:{raw[3:]}")


def age(since: datetime | None, now: datetime | None = None) -> str:
    """How long ago since was: '<1 min', '12 min', '1 h 05 min', '2 d 3 h' (static/js/ages.js says the same)."""
    if since is None:
        return ""
    minutes = max(0, int(((now or utcnow()) - since).total_seconds() // 60))
    if minutes < 1:
        return "<1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def iso_utc(value: datetime | None) -> str:
    """A UTC ISO 8601 timestamp to the second, the form data-since attributes carry."""
    return "" if value is None else value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def with_article(word: str) -> str:
    """'an inspector', 'a supervisor': a role or noun with its indefinite article."""
    return f"{article(word)} {word}"


def register_template_helpers(app: Flask) -> None:
    """Expose the helpers to Jinja."""
    app.jinja_env.globals["sri"] = sri
    app.jinja_env.globals["now_utc"] = utcnow
    # A start form carries its submission UUID from the server, so a tap before the scripts run still sends
    # one; app.js gives each page load fresh ones (a page the service worker kept must not reuse them).
    app.jinja_env.globals["new_uuid"] = lambda: str(uuid.uuid4())
    app.jinja_env.filters["site_time"] = site_time
    app.jinja_env.filters["age"] = age
    app.jinja_env.filters["iso_utc"] = iso_utc
    app.jinja_env.filters["with_article"] = with_article
    app.jinja_env.globals["number_text"] = format_number  # a reading with the item's decimals and unit
    app.jinja_env.filters["plain"] = plain  # a stored value in the change history
