"""Deviation views: inbox and search, the deviation page and its steps, raising one by hand at a station."""
from typing import Callable, Mapping

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.deviations import bp
from app.deviations.schemas import CauseSchema, DecideSchema, RaiseSchema, ResolveSchema, StepSchema, load_filters
from app.extensions import db
from app.htmx import render_page_or_partial, show_address
from app.idempotency import idempotent
from app.inputs import StrictSchema, given_args, load_form, query_id
from app.roles import LIST_ROLES, RAISE_ROLES, STEP_ROLES
from app.security import current_actor, current_viewer, roles_required
from app.services.access import scope
from app.services.core.errors import DomainError
from app.services.quality import deviations
from app.services.records import record_history, search


@bp.get("")
@roles_required(*LIST_ROLES)
def index():
    """The supervisor's inbox, and a search by status, place, decision, dates and words (newest first)."""
    try:
        loaded, errors, status = load_filters(request.args.to_dict()), {}, 200
    except DomainError as error:
        loaded, errors, status = None, error.errors, error.status
    result = deviations.search(loaded["query"], loaded["page"]) if loaded else None
    inbox = deviations.inbox() if current_user.has_role(*STEP_ROLES) else None
    response = render_page_or_partial("deviations/index.html", "deviations/_results.html", status=status,
                                      query=loaded["query"] if loaded else None, result=result, errors=errors,
                                      inbox=inbox, decisions=deviations.DECISION_WORDS,
                                      statuses=deviations.STATUS_WORDS, **search.filter_options())
    return show_address(response, search_address)


def search_address(args: Mapping[str, str]) -> str:
    """The URL of the search these arguments ask for: only the filters that are set, and the page past the
    first; the arguments as typed (less the blank ones) when a filter is invalid."""
    try:
        loaded = load_filters(args)
    except DomainError:
        return url_for("deviations.index", **given_args(args))
    return url_for("deviations.index", **loaded["query"].args(loaded["page"]))


@bp.get("/<int:deviation_id>")
@roles_required()
def show(deviation_id: int):
    """The deviation: what happened, why, what was decided and by whom, its steps, and the next step's form."""
    return _page(_deviation(deviation_id))


def _deviation(deviation_id: int):
    """The deviation, or 404 when there is none or it is outside the viewer's scope (app/services/access/scope.py)."""
    deviation = deviations.get_deviation(deviation_id)
    scope.require_deviation(current_viewer(), deviation)
    return deviation


def _page(deviation, error: DomainError | None = None):
    timeline = deviations.timeline(deviation)
    html = render_template("deviations/show.html", deviation=deviation, timeline=timeline,
                           actors=record_history.actor_names(timeline),
                           item_label=deviations.item_label(deviation), deciders=deviations.deciders(),
                           decisions=deviations.DECISION_WORDS, error=error, form=request.form if error else {})
    return html, error.status if error else 200


@bp.get("/new")
@roles_required(*RAISE_ROLES)
def new():
    """The form that raises a deviation by hand at a station."""
    station = deviations.get_station(query_id("station_id"))
    return render_template("deviations/new.html", station=station, error=None, form={})


@bp.post("")
@roles_required(*RAISE_ROLES)
@idempotent
def create():
    """Raise a deviation by hand; its page opens next."""
    station = deviations.get_station(query_id("station_id", request.form))
    try:
        data = load_form(RaiseSchema())
        deviation = deviations.raise_manual(station, data["what_happened"], data["cause_category"], data["cause"],
                                            data["immediate_action"], current_actor())
    except DomainError as error:
        db.session.rollback()
        return render_template("deviations/new.html", station=station, error=error, form=request.form), error.status
    flash(f"Deviation #{deviation.id} raised at {station.name}; the supervisors see it now.")
    return redirect(url_for("deviations.show", deviation_id=deviation.id), code=303)


def _step(deviation_id: int, schema: type[StrictSchema], act: Callable[..., object], done: str):
    """Run one step; a refused step shows the deviation page again with the reason (409 or 422)."""
    deviation = _deviation(deviation_id)
    try:
        act(deviation, load_form(schema()))
    except DomainError as error:
        db.session.rollback()
        return _page(deviation, error)
    flash(f"Deviation #{deviation.id} {done}.")
    return redirect(url_for("deviations.show", deviation_id=deviation.id), code=303)


@bp.post("/<int:deviation_id>/cause")
@roles_required(*RAISE_ROLES)
@idempotent
def cause(deviation_id: int):
    """Record the cause (category + words) and the immediate action."""
    return _step(deviation_id, CauseSchema, lambda d, data: deviations.record_cause(
        d, data["cause_category"], data["cause"], data["immediate_action"], current_actor()), "cause recorded")


@bp.post("/<int:deviation_id>/acknowledge")
@roles_required(*STEP_ROLES)
def acknowledge(deviation_id: int):
    """Acknowledge an open deviation."""
    return _step(deviation_id, StepSchema, lambda d, _data: deviations.acknowledge(d, current_actor()),
                 "acknowledged")


@bp.post("/<int:deviation_id>/decide")
@roles_required(*STEP_ROLES)
def decide(deviation_id: int):
    """Record options, constraints, the decision and who decided."""
    return _step(deviation_id, DecideSchema, lambda d, data: deviations.decide(
        d, data["options_considered"], data["constraints"], data["decision"],
        deviations.decider(data["decided_by"], current_user._get_current_object()), data["decision_notes"],
        current_actor()), "decision recorded")


@bp.post("/<int:deviation_id>/resolve")
@roles_required(*STEP_ROLES)
def resolve(deviation_id: int):
    """Record how it was resolved."""
    return _step(deviation_id, ResolveSchema,
                 lambda d, data: deviations.resolve(d, data["resolution"], current_actor()), "resolved")


@bp.post("/<int:deviation_id>/close")
@roles_required(*STEP_ROLES)
def close(deviation_id: int):
    """Close a resolved deviation."""
    return _step(deviation_id, StepSchema, lambda d, _data: deviations.close(d, current_actor()), "closed")
