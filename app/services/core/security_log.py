"""The security log: one JSON line per sign-in, failure, lock, refusal and security change (SEC-LOG-1).

The audit trail (app.services.core.audit) is the record of what was done to the plant's data, in the database
and hash-chained. This log is the operations team's: what was tried, by whom, from where, and what was
refused, as it happens, for a log shipper (journald, syslog, a SIEM) to take off the box. It is written to
the `floorbook.security` logger: stderr by default (gunicorn's error log, the journal under systemd), or the
file named by FLOORBOOK_SECURITY_LOG.

A line is JSON with ASCII only: a newline, an ANSI escape or any control character in a typed username comes
out as \\n or \\u001b, so a line is always one line and nothing in it can pass for another. It carries the
server's UTC time, the event, its outcome, the account named, the tablet, the client address and the route;
never a password, PIN, session id or token (callers pass names and ids; the fields are these).
A lock is an alert (WARNING): the signal to the people who look after the plant's security that someone is
guessing (21 CFR 11.300(d)); an operations team points its alerting at WARNING lines of this logger.
"""
import json
import logging
import sys
from logging.handlers import WatchedFileHandler

from flask import Flask, g, has_request_context, request

from app.models.types import utcnow

log = logging.getLogger("floorbook.security")
_MAX_FIELD = 200  # a typed username or a path is cut here: a line stays a line, not a payload


def _clip(value):
    return value[:_MAX_FIELD] if isinstance(value, str) else value


def event(name: str, outcome: str, *, account: str | None = None, alert: bool = False, **details) -> None:
    """Log one security event: `name` (auth.failed, access.refused, …), its outcome, the account it names."""
    line = {"at": utcnow().isoformat(timespec="milliseconds"), "event": name, "outcome": outcome,
            "account": _clip(account)}
    if has_request_context():
        user = g.get("_login_user")
        line.update(user=getattr(user, "username", None) if getattr(user, "is_authenticated", False) else None,
                    device=getattr(g.get("device"), "id", None), address=request.remote_addr,
                    method=request.method, path=_clip(request.path))
    line.update({key: _clip(value) for key, value in details.items() if value is not None})
    log.log(logging.WARNING if alert else logging.INFO,
            json.dumps(line, ensure_ascii=True, default=str, separators=(",", ":")))


def configure(app: Flask) -> None:
    """Send the security log to FLOORBOOK_SECURITY_LOG (a file) or stderr, at INFO; once per process."""
    if log.handlers:
        return
    target = app.config.get("SECURITY_LOG") or ""
    handler = WatchedFileHandler(target, encoding="utf-8") if target else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
