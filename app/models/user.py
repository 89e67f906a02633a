"""Users, registered devices and login throttling."""
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.plant import Station
from app.models.types import UTCDateTime, utcnow


class User(UserMixin, db.Model):
    """A person; roles are a space-separated set of ROLES."""

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    printed_name: Mapped[str] = mapped_column(String(120))
    roles: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    badge_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def role_set(self) -> frozenset[str]:
        """The roles as a set."""
        return frozenset(self.roles.split())

    def has_role(self, *roles: str) -> bool:
        """True when the user holds any of roles."""
        return bool(self.role_set.intersection(roles))

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        # The generation makes every older session cookie stale when it is bumped.
        return f"{self.id}:{self.session_generation}"


class Device(db.Model):
    """A registered shared tablet, recognised by a long-lived cookie whose sha256 is stored."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    home_station_id: Mapped[int | None] = mapped_column(ForeignKey("station.id"))
    registered_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    home_station: Mapped[Station | None] = relationship()
    registered_by: Mapped[User] = relationship()


class LoginThrottle(db.Model):
    """Failed sign-ins of one account from one source, or of the account from every source together.

    The account is what was typed ('user:NAME', 'badge:ID'), whether or not such a user exists, so a lock
    never tells a stranger which names are real. The source is 'device:ID' (a registered tablet) or
    'address:IP'; the row for all sources together has none. The key is the account for that row and
    'ACCOUNT from SOURCE' for a pair: one column, so a row is made with one upsert on every engine.
    The rules are app/services/access/lockout.py's; the rows live in the database so every worker counts
    the same attempts.
    """

    identifier: Mapped[str] = mapped_column(String(220), primary_key=True)
    account: Mapped[str] = mapped_column(String(128))
    source: Mapped[str | None] = mapped_column(String(80))
    failures: Mapped[int] = mapped_column(Integer, default=0)  # since the last success, unlock or quiet spell
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a pair only: a familiar source


class TabletSignOut(db.Model):
    """The last time a person signed out on a registered tablet, and the changes they left waiting in its
    outbox then (JSON [[Idempotency-Key, path], …]). An outbox token issued before that sign-out sends those
    changes and nothing else (app/services/access/outbox_tokens.py): the next person at the tablet cannot
    use it for new work."""

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), primary_key=True)
    signed_out_at: Mapped[datetime] = mapped_column(UTCDateTime)
    waiting_json: Mapped[str] = mapped_column(Text, default="[]")
