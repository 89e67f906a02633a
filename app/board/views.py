"""Board views: the kiosk page, its stream and polling fallback (no login), and screen administration."""
from flask import Response, current_app, flash, redirect, render_template, request, stream_with_context, url_for

from app import stream_host
from app.board import bp
from app.board.notifier import Refused, notifier_for
from app.board.schemas import ScreenSchema
from app.board.stream import board_stream
from app.services.core.errors import DomainError
from app.extensions import db
from app.floor.context import all_areas
from app.inputs import feed_position, load_form
from app.models import BoardScreen
from app.security import current_actor, roles_required
from app.services.board import boards


@bp.get("/board/<token>")
def screen(token: str):
    """The full-screen board for a TV; the token in the URL is the only credential."""
    found = boards.screen_for_token(token)
    page = render_template("board/screen.html", screen=found, token=token, view=boards.board_view(found))
    response = Response(page)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/board/<token>/events")
def events(token: str):
    """The live stream: what changed after Last-Event-ID (or ?since=), then changed tiles and heartbeats;
    429 with Retry-After beyond the per-screen or per-process cap."""
    found = boards.screen_for_token(token)
    since = feed_position(request.headers.get("Last-Event-ID"), request.args.get("since"))  # ?since=: the page's
    if stream_host.hand_off(request.environ, found.id, found.area_id, since):
        return Response(status=204)  # never sent: the TV's connection now belongs to the stream process
    try:
        ticket = notifier_for(current_app).admit(found.id, found.area_id)
    except Refused as refused:
        return Response(f"{refused}\n", status=429, mimetype="text/plain",
                        headers={"Retry-After": str(refused.retry_after), "Cache-Control": "no-store"})
    db.session.remove()
    response = Response(stream_with_context(board_stream(ticket, since)), mimetype="text/event-stream")
    response.call_on_close(ticket.release)  # also when the stream never started
    response.headers.update({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    return response


@bp.get("/board/<token>/fragment")
def fragment(token: str):
    """The whole board body, for the polling fallback; a 304 when nothing changed (ETag)."""
    found = boards.screen_for_token(token)
    view = boards.board_view(found)
    response = Response(render_template("board/_body.html", screen=found, view=view))
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/admin/boards")
@roles_required("admin")
def screens():
    """Board screens, and the form to add one (a screen's kiosk URL is shown once, when it is made)."""
    return render_template("board/admin.html", screens=boards.screens(), areas=all_areas(), error=None, created=None)


@bp.post("/admin/boards")
@roles_required("admin")
def create_screen():
    """Add a board screen and show its secret URL, this once (only its hash is kept, so no page shows it again)."""
    try:
        data = load_form(ScreenSchema())
        created = boards.create_screen(data["name"], data["area_id"], current_actor())
    except DomainError as error:
        page = render_template("board/admin.html", screens=boards.screens(), areas=all_areas(), error=error,
                               created=None)
        return page, error.status
    page = render_template("board/admin.html", screens=boards.screens(), areas=all_areas(), error=None,
                           created=created)
    return page, 201, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@bp.post("/admin/boards/<int:screen_id>/revoke")
@roles_required("admin")
def revoke_screen(screen_id: int):
    """Revoke a screen: its URL answers 404 and its open streams end."""
    boards.revoke_screen(db.get_or_404(BoardScreen, screen_id), current_actor())
    flash("The board screen is revoked; its URL no longer works.")
    return redirect(url_for("board.screens"), code=303)
