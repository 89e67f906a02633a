"""Configuration classes: environment variables with safe single-machine defaults."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class Config:
    """Production defaults for one machine: SQLite in instance/, secrets from the environment."""

    INSTANCE_PATH = os.environ.get("FLOORBOOK_INSTANCE", str(ROOT / "instance"))
    SECRET_KEY = os.environ.get("SECRET_KEY")  # create_app refuses to start without one outside dev/test
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{Path(INSTANCE_PATH) / 'floorbook.sqlite3'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    FORMS_DIR = os.environ.get("FLOORBOOK_FORMS_DIR", str(ROOT / "forms"))
    REASONS_FILE = os.environ.get("FLOORBOOK_REASONS_FILE", str(ROOT / "app" / "reasons.yaml"))
    # Where people reach Floorbook (https://floorbook.plant.example): printed in PDFs' verify links.
    PUBLIC_URL = os.environ.get("FLOORBOOK_PUBLIC_URL") or None
    IDLE_TIMEOUT_MINUTES = _int("FLOORBOOK_IDLE_TIMEOUT_MINUTES", 15)
    # Sign-in throttling (app/services/access/lockout.py says why it has this shape). Failures of one account
    # from one tablet or address: THRESHOLD of them lock that pair for MINUTES, each further one doubles the
    # lock, up to MAX_MINUTES. From all sources together ACCOUNT_THRESHOLD lock the account, but only for
    # sources where it has not signed in within TRUST_DAYS. Counts are forgotten after RESET_HOURS of quiet.
    LOCKOUT_THRESHOLD = _int("FLOORBOOK_LOCKOUT_THRESHOLD", 5)
    LOCKOUT_MINUTES = _int("FLOORBOOK_LOCKOUT_MINUTES", 15)
    LOCKOUT_MAX_MINUTES = _int("FLOORBOOK_LOCKOUT_MAX_MINUTES", 24 * 60)
    LOCKOUT_ACCOUNT_THRESHOLD = _int("FLOORBOOK_LOCKOUT_ACCOUNT_THRESHOLD", 20)
    LOCKOUT_RESET_HOURS = _int("FLOORBOOK_LOCKOUT_RESET_HOURS", 24)
    LOCKOUT_TRUST_DAYS = _int("FLOORBOOK_LOCKOUT_TRUST_DAYS", 90)
    OVERDUE_GRACE_MINUTES = _int("FLOORBOOK_OVERDUE_GRACE_MINUTES", 30)  # a due check turns overdue after this
    # The live board: feed poll (the cross-process path on SQLite, a safety net beside PostgreSQL NOTIFY),
    # heartbeat and full refresh of each stream, and the TV's watchdog and fallback polling.
    BOARD_POLL_SECONDS = float(os.environ.get("FLOORBOOK_BOARD_POLL_SECONDS", "0.5"))
    BOARD_HEARTBEAT_SECONDS = _int("FLOORBOOK_BOARD_HEARTBEAT_SECONDS", 15)
    BOARD_REFRESH_SECONDS = _int("FLOORBOOK_BOARD_REFRESH_SECONDS", 60)
    BOARD_SEND_INTERVAL_MS = _int("FLOORBOOK_BOARD_SEND_INTERVAL_MS", 250)
    BOARD_WATCHDOG_SECONDS = _int("FLOORBOOK_BOARD_WATCHDOG_SECONDS", 45)
    BOARD_FALLBACK_POLL_SECONDS = _int("FLOORBOOK_BOARD_FALLBACK_POLL_SECONDS", 10)
    # Open streams a process admits per screen (a TV needs one; a reconnect may overlap the old one for a
    # while) and in all (each is an idle thread beside gunicorn's pool, app/serving.py); beyond: 429.
    BOARD_STREAMS_PER_SCREEN = _int("FLOORBOOK_BOARD_STREAMS_PER_SCREEN", 4)
    BOARD_STREAMS_PER_PROCESS = _int("FLOORBOOK_BOARD_STREAMS_PER_PROCESS", 400)
    BOARD_REVOKE_CHECK_SECONDS = _int("FLOORBOOK_BOARD_REVOKE_CHECK_SECONDS", 5)
    BOARD_COALESCE_SECONDS = float(os.environ.get("FLOORBOOK_BOARD_COALESCE_SECONDS", "0.05"))
    BOARD_GAP_SECONDS = 10  # how long a skipped feed id is waited for (a PostgreSQL transaction still open)
    # Text responses gzip-compressed by the app (app/compression.py); 0 when a proxy in front compresses.
    GZIP = os.environ.get("FLOORBOOK_GZIP", "1") == "1"
    GZIP_LEVEL = _int("FLOORBOOK_GZIP_LEVEL", 5)  # htmx: 1.8 ms at 5, 2.3 ms at 6, 4.0 ms at 9 for 1% fewer bytes
    GZIP_MIN_BYTES = 500
    # Where photos and record PDFs are kept (app/services/core/blobs.py): "folder" (FLOORBOOK_BLOB_DIR, default
    # instance/blobs; a folder every app server shares) or "database" (the blob table, for several servers).
    BLOB_STORE = os.environ.get("FLOORBOOK_BLOB_STORE", "folder").strip().lower()
    BLOB_DIR = os.environ.get("FLOORBOOK_BLOB_DIR") or None
    PHOTO_MAX_BYTES = _int("FLOORBOOK_PHOTO_MAX_BYTES", 10 * 1024 * 1024)
    # 1: the site writes decimals with a comma (150,5); a point is taken too. 0: a comma in a number is refused,
    # since there it may be a thousands separator (1,500).
    DECIMAL_COMMA = os.environ.get("FLOORBOOK_DECIMAL_COMMA", "0") == "1"
    MAX_CONTENT_LENGTH = PHOTO_MAX_BYTES + 1024 * 1024
    DEVICE_COOKIE = "fb_device"
    DEVICE_COOKIE_DAYS = 3650
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Whether the site is HTTPS (app/transport.py: then Secure, __Host- prefixed cookies): gunicorn serves TLS
    # with FLOORBOOK_TLS_CERT (gunicorn.conf.py), FLOORBOOK_PUBLIC_URL is https://, or this is 1 (TLS at a proxy).
    TLS_CERT = os.environ.get("FLOORBOOK_TLS_CERT") or None
    SECURE_COOKIES = os.environ.get("FLOORBOOK_SECURE_COOKIES", "0") == "1"
    # How many reverse proxies stand in front (app.transport.trust_proxies): the client address is then taken
    # from X-Forwarded-For. 0 (no proxy): the header is ignored.
    TRUSTED_PROXIES = _int("FLOORBOOK_TRUSTED_PROXIES", 0)
    # The security log (app/services/core/security_log.py): a file, or stderr when unset.
    SECURITY_LOG = os.environ.get("FLOORBOOK_SECURITY_LOG") or None
    WTF_CSRF_TIME_LIMIT = None  # a tablet form may stay open all shift; the token is bound to the session
    WTF_CSRF_HEADERS = ["X-CSRFToken"]
    # CSRF is checked in app.security for every POST except a tablet outbox replay, which carries no
    # cookie at all (it is authenticated by its outbox token, a header no other site can send).
    WTF_CSRF_CHECK_DEFAULT = False
    # How long a change saved on a tablet may wait for the network and still be sent as its author's without
    # their signing in again (a shift and its hand-over; app/services/access/outbox_tokens.py).
    OUTBOX_TOKEN_HOURS = float(os.environ.get("FLOORBOOK_OUTBOX_TOKEN_HOURS", "14"))
    # The oldest tablet time a kept change may carry (sent later, after its author signed in again).
    OUTBOX_KEEP_DAYS = float(os.environ.get("FLOORBOOK_OUTBOX_KEEP_DAYS", "7"))
    # argon2id (RFC 9106 second recommended option: t=3, m=64 MiB, p=4).
    PASSWORD_HASH_PARAMS = {"time_cost": 3, "memory_cost": 65536, "parallelism": 4}


class DevelopmentConfig(Config):
    """`make run` on a workstation: without SECRET_KEY, a random key made once and kept in the instance folder."""

    SECRET_KEY_FILE = "secret_key"  # in INSTANCE_PATH, mode 0600 (app.transport.kept_secret_key)


class TestingConfig(Config):
    """pytest: the database URL comes from the fixture; CSRF stays on (tests send the token)."""

    TESTING = True
    SECRET_KEY = "test-secret"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    # Cheap hashes keep the suite fast; production strength is set in Config.
    PASSWORD_HASH_PARAMS = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


CONFIGS = {"production": Config, "development": DevelopmentConfig, "testing": TestingConfig}
