"""The demo plant of DESIGN.md §10: seeded idempotently, with a week of realistic history."""
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.models import Area, Line, Site, Station, Submission, User
from app.models.types import frozen_clock, utcnow
from app.services.core.audit import Actor
from app.services.floor.catalogue import sync_definitions
from app.services.demo.floor import board_screen, downtime_count
from app.services.demo.history import seed_history
from app.services.access.users import create_user

SITE = ("Demo Plant", "America/Chicago", "06:00/14:00/22:00")
LINES = {"Assembly": {"Line 1": ["Press 1", "Press 2", "Weld 1"], "Line 2": ["Press 3", "Assembly 1", "Pack 1"]}}
# Demo credentials live here only, never in a production default.
USERS = [
    ("operator1", "Olivia Ortiz", ["operator"], "operator1-demo", "1001", "1234"),
    ("operator2", "Owen Park", ["operator"], "operator2-demo", "1002", "2345"),
    ("inspector1", "Ines Novak", ["inspector"], "inspector1-demo", None, None),
    ("supervisor1", "Sam Reyes", ["supervisor"], "supervisor1-demo", None, None),
    ("auditor1", "Alex Chen", ["auditor"], "auditor1-demo", None, None),
    ("admin", "Ada Admin", ["admin"], "admin-demo", None, None),
]


def _seed_plant() -> Site:
    site = db.session.scalar(select(Site).where(Site.name == SITE[0]))
    if site is None:
        site = Site(name=SITE[0], timezone=SITE[1], shift_pattern=SITE[2])
        db.session.add(site)
    for area_name, lines in LINES.items():
        area = db.session.scalar(select(Area).where(Area.site == site, Area.name == area_name)) or Area(site=site, name=area_name)
        db.session.add(area)
        for line_name, stations in lines.items():
            line = db.session.scalar(select(Line).where(Line.area == area, Line.name == line_name)) or Line(area=area, name=line_name)
            db.session.add(line)
            for station_name in stations:
                if db.session.scalar(select(Station).where(Station.name == station_name)) is None:
                    db.session.add(Station(line=line, name=station_name))
    db.session.commit()
    return site


def _seed_users() -> int:
    created = 0
    for username, name, roles, password, badge, pin in USERS:
        if db.session.scalar(select(User).where(User.username == username)) is None:
            # The demo's published credentials (DESIGN.md §10) are for trying Floorbook out, not for a plant:
            # the password policy would refuse them (they contain the usernames).
            create_user(username, name, roles, password, badge, pin, Actor(None), policy=False)
            created += 1
    return created


def seed_demo(forms_dir: Path, instance_path: Path, days: int = 7, base_url: str = "http://localhost:8000") -> str:
    """Create what is missing of the demo plant; history only on a plant that has none yet."""
    fresh = db.session.scalar(select(Submission.id).limit(1)) is None
    # On a fresh plant the set-up happens "before" the history, so the audit trail's clock only moves forward.
    with frozen_clock(utcnow() - timedelta(days=days + 1)) if fresh else nullcontext():
        _seed_plant()
        created = _seed_users()
        report = sync_definitions(forms_dir, Actor(None))
    if report.problems:
        raise RuntimeError("forms are invalid:\n" + "\n".join(str(p) for p in report.problems))
    records = seed_history(days)  # photos go to the blob store, wherever FLOORBOOK_BLOB_STORE says
    screen, token = board_screen()
    return (f"Demo plant ready: {created} user(s) created, {len(report.published)} form version(s) published, "
            f"{records} historical record(s) added, {downtime_count()} downtime stop(s) on record.\n"
            f"Board screen “{screen.name}”: {base_url.rstrip('/')}/board/{token}  (a new URL on every run)")
