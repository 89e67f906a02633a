"""Downtime views: the reason page, start and stop. Parse, call one service, render."""
from flask import flash, redirect, request, url_for

from app.downtime import bp
from app.downtime.schemas import StartSchema, StationStopSchema, StopSchema, load_query, station_of
from app.htmx import is_htmx, redirect_to, render_page_or_partial
from app.idempotency import idempotent
from app.inputs import load_form
from app.roles import FILL_ROLES
from app.security import current_actor, current_viewer, kept_offline_time, outbox_replayable, roles_required
from app.services.access import scope
from app.services.core.errors import DomainError
from app.services.floor import downtime, reasons

# Refusals the person can fix on the same page; anything else is answered by app.errors.
REFUSALS = (409, 422)


@bp.get("/floor/downtime/new")
@roles_required(*FILL_ROLES)
def new():
    """The reason page: why the station stopped, notes, and a big Start."""
    station = downtime.get_station(load_query(request.args.to_dict())["station_id"])
    return _reason_page(station)


@bp.post("/floor/downtime")
@outbox_replayable
@roles_required(*FILL_ROLES)
@idempotent
def start():
    """Mark the station down; a missing or unknown reason, or a station already down, returns to the reason page."""
    station = _posted_station()
    try:
        data = load_form(StartSchema())
        event = downtime.start_downtime(station, data["reason_code"], data["notes"], current_actor(),
                                        kept_offline_time(data["device_time"]))
    except DomainError as error:
        if error.status not in REFUSALS:
            raise
        return _reason_page(station, error)
    flash(f"Downtime reported at {station.name}: {event.reason_label}. "
          "When it runs again, say what fixed it and tap “Running again”.")
    target = url_for("floor.home")
    return redirect_to(target)


@bp.post("/floor/downtime/<int:event_id>/stop")
@outbox_replayable
@roles_required(*FILL_ROLES)
@idempotent
def stop(event_id: int):
    """Mark the station running again with what fixed it; a refusal comes back inside the downtime panel."""
    return _stop(downtime.get_event(event_id), StopSchema())


@bp.post("/floor/downtime/stop")
@outbox_replayable
@roles_required(*FILL_ROLES)
@idempotent
def stop_at_station():
    """End whatever downtime runs at the posted station (a downtime reported offline has no id on the tablet)."""
    station = _posted_station()
    try:
        event = downtime.running_or_conflict(station)
    except DomainError as error:
        return _reason_page(station, error)
    return _stop(event, StationStopSchema())


def _posted_station():
    station = downtime.get_station(station_of(request.form.to_dict()))
    scope.require_downtime(current_viewer())
    return station


def _stop(event, schema):
    scope.require_downtime(current_viewer(), event.started_by_id)
    try:
        data = load_form(schema)
        downtime.stop_downtime(event, data["fix"], current_actor(), kept_offline_time(data["device_time"]))
    except DomainError as error:
        if error.status not in REFUSALS:
            raise
        return _panel(event, error=error)
    notice = f"✓ {event.station.name} is running again. Fixed: {event.fix}"
    if is_htmx():
        return _panel(event, notice=notice)
    flash(notice)
    return redirect(url_for("floor.home"), code=303)


def _reason_page(station, error: DomainError | None = None):
    return render_page_or_partial("downtime/new.html", "downtime/_form.html", status=error.status if error else 200,
                                  station=station, tree=reasons.downtime_tree(), running=downtime.running_at(station),
                                  error=error, values=request.form)


def _panel(event, error: DomainError | None = None, notice: str | None = None):
    station = event.station
    return render_page_or_partial("downtime/stop.html", "downtime/_panel.html", status=error.status if error else 200,
                                  station=station, downtime=downtime.running_at(station), error=error,
                                  notice=notice, values=request.form)
