"""Admin views: register and revoke tablets, activate and deactivate users."""
from flask import flash, make_response, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from app.admin import bp
from app.admin.schemas import ActiveSchema, DeviceSchema
from app.services.core.errors import DomainError
from app.extensions import db
from app.floor.context import all_areas
from app.inputs import load_form
from app.models import Device, User
from app.security import current_actor, roles_required
from app.services.access import auth as auth_service, devices
from app.transport import set_device_cookie


@bp.get("/devices", endpoint="devices")
@roles_required("admin", "supervisor")
def devices_page():
    """Registered tablets, and the form that registers this one."""
    return render_template("admin/devices.html", devices=devices.list_devices(), areas=all_areas(), error=None)


@bp.post("/devices")
@roles_required("admin", "supervisor")
def register_device():
    """Register the tablet this browser runs on; it keeps a long-lived device cookie."""
    try:
        data = load_form(DeviceSchema())
        device, token = devices.register_device(data["name"], data["home_station_id"], current_actor())
    except DomainError as error:
        return render_template("admin/devices.html", devices=devices.list_devices(), areas=all_areas(),
                               error=error), error.status
    flash(f"This tablet is now registered as “{device.name}”.")
    response = make_response(redirect(url_for("admin.devices"), code=303))
    set_device_cookie(response, token)
    return response


@bp.post("/devices/<int:device_id>/revoke")
@roles_required("admin", "supervisor")
def revoke_device(device_id: int):
    """Revoke a tablet: badge sign-in stops working there at once."""
    device = db.get_or_404(Device, device_id)
    devices.revoke_device(device, current_actor())
    flash(f"“{device.name}” is revoked.")
    return redirect(url_for("admin.devices"), code=303)


@bp.get("/users")
@roles_required("admin")
def users():
    """Every user with roles and state."""
    rows = db.session.scalars(select(User).order_by(User.username)).all()
    return render_template("admin/users.html", users=rows)


@bp.post("/users/<int:user_id>/active")
@roles_required("admin")
def set_active(user_id: int):
    """Activate or deactivate a user; deactivation ends every session at once."""
    user = db.get_or_404(User, user_id)
    data = load_form(ActiveSchema())
    if user.id == current_user.id:
        raise DomainError("You cannot deactivate yourself.", status=409)
    auth_service.set_active(user, data["active"], current_actor())
    flash(f"{user.username} is now {'active' if user.active else 'deactivated'}.")
    return redirect(url_for("admin.users"), code=303)

