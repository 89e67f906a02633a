"""Electronic signatures (21 CFR 11.50/11.70/11.200): re-authentication, order, meaning, bound to a hash."""
from dataclasses import dataclass

from sqlalchemy import select

from app.services.core.errors import DomainError
from app.extensions import db
from app.models import Answer, Deviation, FormVersion, RecordVersion, Signature, Station, Submission, User
from app.models.deviation import CLOSED
from app.models.submission import SIGNED, SUBMITTED
from app.services.core import audit
from app.services.floor import evaluation
from app.services.quality import deviations
from app.services.core.audit import Actor
from app.services.access.auth import authenticate_password
from app.services.access.lockout import Source
from app.services.jobs.record_pdf import queue_record_pdf

STATEMENT = ("I, {name}, signed this record ({record}, version {version}, sha256 {sha}) with my password. "
             "My signature means: {meaning}.")


@dataclass(frozen=True)
class SignRequest:
    """What the signer sent: re-entered credentials, the meaning, the hash of the version they saw."""

    username: str
    password: str
    meaning: str
    seen_sha256: str
    comment: str | None = None


def current_version(submission: Submission) -> RecordVersion:
    """The newest version of a submitted record."""
    return submission.versions[-1]


def signed_meanings(version: RecordVersion) -> set[str]:
    """Meanings already signed on this version."""
    return {s.meaning for s in version.signatures}


def next_step(submission: Submission) -> dict | None:
    """The first sign_off step not yet signed on the current version (None when complete)."""
    if submission.status not in (SUBMITTED, SIGNED) or not submission.versions:
        return None
    done = signed_meanings(current_version(submission))
    return next((step for step in submission.form_version.definition["sign_off"] if step["meaning"] not in done), None)


def refresh_awaiting(submission: Submission) -> None:
    """Keep status and the queue columns in step with the signatures on the current version."""
    step = next_step(submission)
    submission.awaiting_role = step["role"] if step else None
    submission.awaiting_meaning = step["meaning"] if step else None
    if submission.status in (SUBMITTED, SIGNED) and submission.form_version.definition["sign_off"]:
        submission.status = SUBMITTED if step else SIGNED


def performer_ids(submission: Submission) -> set[int]:
    """Everyone who entered data in the record or submitted it."""
    ids = set(db.session.scalars(select(Answer.answered_by_id).where(Answer.submission_id == submission.id)))
    return ids | {submission.started_by_id, submission.submitted_by_id} - {None}


def may_sign(user: User, submission: Submission) -> bool:
    """True when the record waits for a meaning this user's role gives, the user did not perform it,
    and no deviation still waits for the supervisor's decision the form asks for."""
    step = next_step(submission)
    return (bool(step) and user.has_role(step["role"]) and user.id not in performer_ids(submission)
            and not awaiting_decision(submission))


def awaiting_decision(submission: Submission) -> list[Deviation]:
    """Deviations of items whose on_fail requires a supervisor_decision, still without a decision.

    A deviation closed without one (the answer was corrected in the draft) needs none.
    """
    needs = {item["name"] for _section, item in evaluation.iter_items(submission.form_version.definition)
             if "supervisor_decision" in (item.get("on_fail") or {}).get("require", [])}
    return [d for d in deviations.for_submission(submission.id)
            if d.item_name in needs and d.decision is None and d.status != CLOSED]


def _check_rules(submission: Submission, signer: User, request: SignRequest) -> tuple[RecordVersion, dict]:
    if submission.status not in (SUBMITTED, SIGNED):
        raise DomainError("Only a submitted record can be signed.", status=409)
    version = current_version(submission)
    if request.seen_sha256 != version.sha256:
        raise DomainError(f"The record changed since you opened it: it is now version {version.version}. "
                          "Review it again before signing.", {"sha256": ["Stale version."]}, status=409)
    undecided = awaiting_decision(submission)
    if undecided:
        names = ", ".join(f"#{d.id}" for d in undecided)
        raise DomainError(f"Deviation {names} needs a supervisor's decision (the form asks for one) before this "
                          "record can be signed.", {"meaning": ["Waiting for a supervisor's decision."]}, status=409)
    steps = submission.form_version.definition["sign_off"]
    if request.meaning not in {s["meaning"] for s in steps}:
        raise DomainError(f"“{request.meaning}” is not a signature this form asks for.", {"meaning": ["Unknown meaning."]})
    if request.meaning in signed_meanings(version):
        raise DomainError(f"This version is already signed “{request.meaning}”.", {"meaning": ["Already signed."]}, status=409)
    step = next_step(submission)
    if step["meaning"] != request.meaning:
        raise DomainError(f"Signatures go in order: “{step['meaning']}” comes first.", {"meaning": ["Out of order."]},
                          status=409)
    if not signer.has_role(step["role"]):
        raise DomainError(f"“{step['meaning']}” is signed by a {step['role']}.", status=403)
    if signer.id in performer_ids(submission):
        raise DomainError("You entered data in this record; someone else must sign it.", status=403)
    return version, step


def sign_record(submission: Submission, signer: User, request: SignRequest, actor: Actor,
                address: str | None = None) -> Signature:
    """Re-authenticate the signed-in user by password (a wrong one counts toward the lockout from the actor's
    tablet, else address), check every rule, and add an immutable signature."""
    if not request.password:
        raise DomainError("Re-enter your password to sign.", {"password": ["Required for every signature."]})
    user = authenticate_password(request.username, request.password, Source.of(actor.device_id, address))
    if user.id != signer.id:
        raise DomainError("Sign with your own username and password.", {"username": ["Not the signed-in user."]},
                          status=403)
    version, step = _check_rules(submission, signer, request)
    return _add_signature(submission, signer, version, step, actor, "password", request.comment)


def seed_signature(submission: Submission, signer: User, actor: Actor) -> Signature:
    """Demo history only (the `demo` command): sign the next step, all rules checked, no password typed."""
    version = current_version(submission)
    request = SignRequest(signer.username, "", next_step(submission)["meaning"], version.sha256)
    version, step = _check_rules(submission, signer, request)
    return _add_signature(submission, signer, version, step, actor, "demo seed (no re-authentication)", None)


def _add_signature(submission: Submission, signer: User, version: RecordVersion, step: dict, actor: Actor,
                   method: str, comment: str | None) -> Signature:
    signature = Signature(
        record_version=version, content_sha256=version.sha256, signer_id=signer.id,
        printed_name=signer.printed_name, role=step["role"], meaning=step["meaning"], auth_method=method,
        comment=(comment or "").strip()[:2000] or None,
        statement=STATEMENT.format(name=signer.printed_name, record=submission.id, version=version.version,
                                   sha=version.sha256, meaning=step["meaning"]))
    db.session.add(signature)
    db.session.flush()
    refresh_awaiting(submission)
    audit.record(actor, "record.signed", "submission", submission.id,
                 after={"version": version.version, "sha256": version.sha256, "meaning": step["meaning"],
                        "signature_id": signature.id, "method": method})
    queue_record_pdf(version)  # the signed state's PDF, stored by the worker before anyone asks for it
    db.session.commit()
    return signature


def review_queue(user: User, line_id: int | None = None, form_id: str | None = None) -> list[Submission]:
    """Records waiting for a signature this user may give, oldest first."""
    roles = sorted(user.role_set)
    query = (select(Submission).where(Submission.status == SUBMITTED, Submission.awaiting_role.in_(roles))
             .order_by(Submission.submitted_at))
    if line_id:
        query = query.join(Station, Submission.station_id == Station.id).where(Station.line_id == line_id)
    if form_id:
        query = query.join(FormVersion, Submission.form_version_id == FormVersion.id).where(FormVersion.form_id == form_id)
    return [s for s in db.session.scalars(query) if user.id not in performer_ids(s)]
