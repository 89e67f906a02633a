"""Replaying changes as a tablet's outbox does: its author's token, with the tablet's own device cookie."""
from app.security import OUTBOX_HEADER
from app.services.access import outbox_tokens
from tests.helpers.builders import Client


class TabletToken(str):
    """An outbox token that knows the device cookie of the tablet it was issued on (a replay sends both)."""

    cookie: str | None = None


def tablet_token(user, tablet) -> TabletToken:
    """The token a page of `tablet` (the fixture's (device, cookie)) gives user's outbox."""
    device, cookie = tablet
    token = TabletToken(outbox_tokens.issue(user, device))
    token.cookie = cookie
    return token


def replay_headers(app, token: str, key: str) -> dict:
    """The headers of a replay: the token, the key, htmx's marker, and the tablet's cookie (none other)."""
    headers = {OUTBOX_HEADER: token, "Idempotency-Key": key, "HX-Request": "true"}
    if getattr(token, "cookie", None):
        headers["Cookie"] = f"{app.config['DEVICE_COOKIE']}={token.cookie}"
    return headers


def outbox_post(app, url: str, token: str, key: str, data: dict):
    """POST as the outbox replays a change: no session cookie, no CSRF token, the outbox token header."""
    client = Client(app, app.response_class, use_cookies=False)
    return client.post(url, data=data, headers=replay_headers(app, token, key))
