"""Registered tablets: created once by an admin or supervisor, recognised by a device cookie."""
import secrets

from sqlalchemy import select

from app.canonical import sha256_hex
from app.services.core.errors import DomainError
from app.extensions import db
from app.models import Device, Station
from app.models.types import utcnow
from app.services.core import audit
from app.services.core.audit import Actor


def device_for_token(token: str | None) -> Device | None:
    """The active device whose cookie this is, or None."""
    if not token:
        return None
    return db.session.scalar(
        select(Device).where(Device.token_sha256 == sha256_hex(token), Device.revoked_at.is_(None))
    )


def register_device(name: str, home_station_id: int | None, actor: Actor) -> tuple[Device, str]:
    """Create a device; returns it with the cookie token (shown once, only its hash is kept)."""
    name = name.strip()
    if not name:
        raise DomainError("Give the tablet a name.", {"name": ["Required, e.g. 'Press 1 tablet'."]})
    if home_station_id is not None and db.session.get(Station, home_station_id) is None:
        raise DomainError("Unknown station.", {"home_station_id": ["Choose a station from the list."]})
    token = secrets.token_urlsafe(32)
    device = Device(name=name, token_sha256=sha256_hex(token), home_station_id=home_station_id,
                    registered_by_id=actor.user_id)
    db.session.add(device)
    db.session.flush()
    audit.record(actor, "device.registered", "device", device.id,
                 after={"name": name, "home_station_id": home_station_id})
    db.session.commit()
    return device, token


def revoke_device(device: Device, actor: Actor) -> None:
    """Revoke a device: its cookie stops working at once."""
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        audit.record(actor, "device.revoked", "device", device.id)
        db.session.commit()


def list_devices() -> list[Device]:
    """All devices, newest first."""
    return list(db.session.scalars(select(Device).order_by(Device.registered_at.desc())))
