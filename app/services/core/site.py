"""The site's own settings, read once per application context: its time zone is Site.timezone, nowhere else."""
from zoneinfo import ZoneInfo

from flask import g
from sqlalchemy import select

from app.extensions import db
from app.models import Site

UTC = ZoneInfo("UTC")


def site_zone() -> ZoneInfo:
    """The site's IANA time zone (UTC until a site exists); one query per request or command at most."""
    zone = g.get("site_zone")
    if zone is None:
        name = db.session.scalar(select(Site.timezone).limit(1))
        zone = g.site_zone = ZoneInfo(name) if name else UTC
    return zone
