"""Template helpers: SRI hashes of vendored files and times in the site's zone."""
import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, current_app


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
    local = value.astimezone(ZoneInfo(current_app.config["SITE_TZ"]))
    text = local.strftime(fmt)
    return _colon_offset(text, local) if "%z" in fmt else text


def _colon_offset(text: str, local: datetime) -> str:
    raw = local.strftime("%z")
    return text.replace(raw, f"{raw[:3]}:{raw[3:]}")


def register_template_helpers(app: Flask) -> None:
    """Expose the helpers to Jinja."""
    app.jinja_env.globals["sri"] = sri
    app.jinja_env.filters["site_time"] = site_time
