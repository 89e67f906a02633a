"""When something happened on a tablet that kept it offline: its own clock, within bounds."""
from datetime import datetime, timedelta, timezone

from flask import current_app


def moment(device_time: datetime | None, now: datetime, not_before: datetime | None = None) -> datetime:
    """The tablet's time for a change it kept offline (so a start belongs to the shift it was made in and
    a downtime lasts as long as it did), the server's when there is none or the tablet's clock is off:
    ahead of the server, older than a kept change can be (OUTBOX_KEEP_DAYS), or before not_before."""
    if device_time is None:
        return now
    oldest = now - timedelta(days=current_app.config["OUTBOX_KEEP_DAYS"])
    if not_before is not None:
        oldest = max(oldest, not_before)
    return device_time.astimezone(timezone.utc) if oldest <= device_time <= now else now
