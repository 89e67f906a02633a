"""Sign-in locks: who is locked out, since when, until when, from where; an admin or supervisor lifts one with
a reason, which goes into the audit trail (the rules are app/services/access/lockout.py's)."""
from flask import flash, redirect, render_template, url_for
from marshmallow import ValidationError, validate

from app.admin import bp
from app.inputs import StrictSchema, Text, load_form
from app.security import current_actor, roles_required
from app.services.access import lockout
from app.services.core.errors import DomainError


def _says_why(reason: str) -> None:
    if len(reason.strip()) < 3:
        raise ValidationError("Say why you unlock it, in 3 characters or more.")


class UnlockSchema(StrictSchema):
    """Which lock to lift, and why."""

    identifier = Text(220, required=True, validate=validate.Length(min=1))
    reason = Text(500, required=True, validate=_says_why)


def _page(error: DomainError | None = None):
    html = render_template("admin/lockouts.html", locks=lockout.current_locks(), unlocks=lockout.recent_unlocks(),
                           error=error)
    return html, error.status if error else 200


@bp.get("/lockouts", endpoint="lockouts")
@roles_required("admin", "supervisor")
def lockouts_page():
    """The sign-ins locked now, and the latest unlocks."""
    return _page()


@bp.post("/lockouts/unlock")
@roles_required("admin", "supervisor")
def unlock_sign_in():
    """Lift one lock now; the reason is kept in the audit trail."""
    try:
        data = load_form(UnlockSchema())
        row = lockout.unlock(data["identifier"], data["reason"].strip(), current_actor())
    except DomainError as error:
        return _page(error)
    flash(f"Unlocked: {row.account.partition(':')[2]} can sign in from there again.")
    return redirect(url_for("admin.lockouts"), code=303)
