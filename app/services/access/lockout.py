"""Sign-in throttling (SEC-AUTH-3; ASVS 4.0 V2.2.1, NIST SP 800-63B §5.2.2): failures counted per account and
per source, locks that grow, and no way for a stranger to lock a person out of the places they work.

The rules, enforced below:

- **An account from one source.** The account is what was typed ('user:NAME', 'badge:ID'); the source is the
  registered tablet the attempt came from, else the client address. LOCKOUT_THRESHOLD failures lock that
  pair for LOCKOUT_MINUTES, and each further failure once a lock has run out locks it again for twice as
  long, up to LOCKOUT_MAX_MINUTES. A success from that source forgets its failures; so do
  LOCKOUT_RESET_HOURS without a failure after the last lock ran out.
- **An account from everywhere.** All sources' failures together lock the account at the much higher
  LOCKOUT_ACCOUNT_THRESHOLD, growing the same way: guesses spread over many addresses are held too. This
  lock holds only for *unfamiliar* sources: a tablet or address where the account signed in within
  LOCKOUT_TRUST_DAYS stays open (NIST's "accept only from addresses where the subscriber has authenticated
  before"; Microsoft's smart lockout separates familiar and unfamiliar locations the same way).
- **Nothing per source alone.** Plants sit behind NAT and tablets are shared, so locking a source would lock
  everyone else there out (SEC-AUTH-3 forbids it); a source trying many names meets each pair's lock.

Why this stops the lockout attack: a stranger's failures lock their own pair and, past the account threshold,
the sources the owner never uses; the owner's own tablet or desk stays open unless someone fails there, in
person. An attempt refused by a lock is not counted, so trying during a lock does not prolong it; every lock
runs out by itself, and an admin or supervisor can lift one sooner, with a reason, in the audit trail. An
unfamiliar source gets LOCKOUT_ACCOUNT_THRESHOLD tries and then one per doubled lock, far under ASVS's 100 an
hour. Every lock says the same thing, for real names and for names that do not exist.
"""
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models import AuditEvent, Device, LoginThrottle, User
from app.models.types import utcnow
from app.services.core import audit
from app.services.core.audit import Actor
from app.services.core import security_log
from app.services.core.errors import DomainError

ALL_SOURCES = None  # the source of the row that counts an account's failures from everywhere


class LockedOut(DomainError):
    """Too many failures for this account from this source; the message is the same for every lock."""

    status = 429


@dataclass(frozen=True)
class LockoutPolicy:
    """The throttle's numbers (app/config.py's LOCKOUT_* settings)."""

    threshold: int
    first_lock: timedelta
    max_lock: timedelta
    account_threshold: int
    reset_after: timedelta
    trust_for: timedelta

    @classmethod
    def from_config(cls, config) -> "LockoutPolicy":
        """The policy the app is configured with."""
        return cls(config["LOCKOUT_THRESHOLD"], timedelta(minutes=config["LOCKOUT_MINUTES"]),
                   timedelta(minutes=config["LOCKOUT_MAX_MINUTES"]), config["LOCKOUT_ACCOUNT_THRESHOLD"],
                   timedelta(hours=config["LOCKOUT_RESET_HOURS"]), timedelta(days=config["LOCKOUT_TRUST_DAYS"]))

    def lock_length(self, failures: int, threshold: int) -> timedelta:
        """The lock that the failures-th failure sets: the first lock, doubled per failure past threshold, capped."""
        return min(self.first_lock * 2 ** min(failures - threshold, 32), self.max_lock)


def policy() -> LockoutPolicy:
    """The configured policy (read like the hash parameters: one home, app/config.py)."""
    return LockoutPolicy.from_config(current_app.config)


@dataclass(frozen=True)
class Source:
    """Where attempts come from: the registered tablet if there is one, else the client address."""

    key: str
    device_id: int | None = None

    @classmethod
    def of(cls, device_id: int | None, address: str | None) -> "Source":
        """The source of a request from device_id (a registered tablet) or address."""
        if device_id is not None:
            return cls(f"device:{device_id}", device_id)
        return cls(f"address:{(address or 'unknown')[:64]}")


@dataclass
class Attempt:
    """One attempt's two rows, held for the attempt so that parallel guesses are counted one after another."""

    pair: LoginThrottle
    everywhere: LoginThrottle
    policy: LockoutPolicy
    now: datetime

    @property
    def familiar(self) -> bool:
        """True when the account signed in from this source within the trust period."""
        seen = self.pair.last_success_at
        return seen is not None and self.now - seen <= self.policy.trust_for


def _held(row: LoginThrottle | None, now: datetime) -> bool:
    return row is not None and row.locked_until is not None and row.locked_until > now


def _row(account: str, source: str | None) -> LoginThrottle:
    """The row, made if missing, locked until the transaction ends (FOR UPDATE on PostgreSQL; on SQLite the
    write transaction holds the whole database already)."""
    identifier = account if source is ALL_SOURCES else f"{account} from {source}"
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(LoginThrottle).values(identifier=identifier, account=account, source=source,
                                                    failures=0).on_conflict_do_nothing())
    return db.session.scalars(select(LoginThrottle).where(LoginThrottle.identifier == identifier)
                              .with_for_update().execution_options(populate_existing=True)).one()


def _forget_if_quiet(row: LoginThrottle, attempt_policy: LockoutPolicy, now: datetime) -> None:
    quiet_since = row.locked_until or row.last_failure_at
    if row.failures and quiet_since is not None and now - quiet_since >= attempt_policy.reset_after:
        row.failures, row.locked_at, row.locked_until = 0, None, None


def _refusal(row: LoginThrottle, now: datetime) -> LockedOut:
    minutes = max(1, math.ceil((row.locked_until - now).total_seconds() / 60))
    return LockedOut(f"Too many failed attempts. Try again in {minutes} minute{'s' if minutes > 1 else ''}, "
                     "or ask a supervisor to unlock your sign-in.")


def _lock_for(attempt: Attempt) -> LockedOut | None:
    """The refusal for this attempt's source: its own lock, or the account's unless the source is familiar."""
    if _held(attempt.pair, attempt.now):
        return _refusal(attempt.pair, attempt.now)
    if _held(attempt.everywhere, attempt.now) and not attempt.familiar:
        return _refusal(attempt.everywhere, attempt.now)
    return None


def begin(account: str, source: Source, attempt_policy: LockoutPolicy | None = None) -> Attempt:
    """Hold the account's rows for one attempt; raise LockedOut while a lock holds for this source."""
    everywhere = _row(account, ALL_SOURCES)  # always this row first: one order of row locks, no deadlock
    attempt = Attempt(_row(account, source.key), everywhere, attempt_policy or policy(), utcnow())
    for row in (attempt.pair, attempt.everywhere):
        _forget_if_quiet(row, attempt.policy, attempt.now)
    locked = _lock_for(attempt)
    if locked is not None:
        security_log.event("auth.refused", "locked", account=account, source=source.key)
        raise locked
    return attempt


def fail(attempt: Attempt, actor: Actor) -> LockedOut | None:
    """Count a failure on both rows and lock those at their threshold; committed though the attempt fails.

    Returns the refusal the next attempt from this source would get, when this failure set a lock that holds
    for it (None otherwise).
    """
    now, rules = attempt.now, attempt.policy
    for row, threshold in ((attempt.pair, rules.threshold), (attempt.everywhere, rules.account_threshold)):
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= threshold:
            row.locked_at, row.locked_until = now, now + rules.lock_length(row.failures, threshold)
            audit.record(actor, "auth.locked", "login", row.identifier,
                         after={"source": row.source or "unfamiliar sources", "failures": row.failures,
                                "locked_until": row.locked_until.isoformat()})
            security_log.event("auth.locked", "locked", account=row.account, alert=True,
                               source=row.source or "unfamiliar sources", failures=row.failures,
                               locked_until=row.locked_until.isoformat(timespec="seconds"))
    security_log.event("auth.failed", "failure", account=attempt.pair.account, source=attempt.pair.source,
                       failures=attempt.pair.failures)
    locked = _lock_for(attempt)
    db.session.flush()
    _purge(rules, now)
    db.session.commit()
    return locked


def succeed(attempt: Attempt) -> None:
    """A success forgets this source's failures and makes it familiar (committed with the sign-in)."""
    pair = attempt.pair
    pair.failures, pair.locked_at, pair.locked_until, pair.last_success_at = 0, None, None, attempt.now
    security_log.event("auth.succeeded", "success", account=pair.account, source=pair.source)


def _purge(rules: LockoutPolicy, now: datetime) -> None:
    """Drop rows that no longer count anything, so names made up by a stranger do not pile up."""
    quiet = now - rules.reset_after  # counted from the end of the last lock, as _forget_if_quiet does
    db.session.execute(delete(LoginThrottle).where(
        or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < quiet),
        or_(LoginThrottle.last_failure_at.is_(None), LoginThrottle.last_failure_at < quiet),
        or_(LoginThrottle.last_success_at.is_(None), LoginThrottle.last_success_at < now - rules.trust_for),
    ).execution_options(synchronize_session=False))


@dataclass(frozen=True)
class Lock:
    """A lock in force, as the admin page shows it."""

    identifier: str
    account: str
    who: str
    source: str
    since: datetime | None
    until: datetime
    failures: int


def _who(account: str, users: dict[str, User]) -> str:
    kind, _, name = account.partition(":")
    user = users.get(account)
    label = f"badge {name}" if kind == "badge" else name
    return f"{user.printed_name} ({label})" if user else f"{label} (no such user)"


def current_locks(now: datetime | None = None) -> list[Lock]:
    """Every lock in force, newest first, with the person and the tablet named where they exist."""
    now = now or utcnow()
    rows = db.session.scalars(select(LoginThrottle).where(LoginThrottle.locked_until > now)
                              .order_by(LoginThrottle.locked_at.desc(), LoginThrottle.identifier)).all()
    names = {row.account.partition(":")[2] for row in rows}
    found = db.session.scalars(select(User).where(or_(User.username.in_(names), User.badge_id.in_(names)))).all()
    users = {f"user:{u.username}": u for u in found} | {f"badge:{u.badge_id}": u for u in found if u.badge_id}
    devices = {f"device:{d.id}": d.name for d in db.session.scalars(select(Device))}
    return [Lock(row.identifier, row.account, _who(row.account, users),
                 "every source it has not signed in from" if row.source is ALL_SOURCES
                 else devices.get(row.source, row.source.removeprefix("address:")),
                 row.locked_at, row.locked_until, row.failures) for row in rows]


def recent_unlocks(limit: int = 20) -> list[tuple[AuditEvent, User | None]]:
    """The latest unlocks from the audit trail, with who lifted them."""
    return db.session.execute(select(AuditEvent, User).outerjoin(User, User.id == AuditEvent.actor_id)
                              .where(AuditEvent.action == "auth.unlocked")
                              .order_by(AuditEvent.seq.desc()).limit(limit)).all()


def unlock(identifier: str, reason: str, actor: Actor) -> LoginThrottle:
    """Lift a lock now and forget its failures; audited with the reason."""
    row = db.session.scalars(select(LoginThrottle).where(LoginThrottle.identifier == identifier)
                             .with_for_update()).one_or_none()
    now = utcnow()
    if not _held(row, now):
        raise DomainError("This sign-in is not locked (any more).", {"identifier": ["Not locked."]}, status=409)
    before = {"failures": row.failures, "locked_until": row.locked_until.isoformat(), "source": row.source}
    row.failures, row.locked_at, row.locked_until = 0, None, None
    audit.record(actor, "auth.unlocked", "login", identifier, before=before, after={"locked_until": None},
                 reason=reason)
    db.session.commit()
    security_log.event("auth.unlocked", "done", account=row.account, source=row.source, by=actor.user_id)
    return row

