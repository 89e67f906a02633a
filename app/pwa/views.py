"""Manifest, service worker, offline page and outbox page."""
from flask import Response, jsonify, render_template, url_for

from app.pwa import bp, shell
from app.roles import FILL_ROLES
from app.security import roles_required

THEME = "#0b3d91"


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest: installable, standalone, opening at the station home."""
    icon = lambda name, size, purpose: {"src": url_for("static", filename=f"img/{name}"), "sizes": size,  # noqa: E731
                                        "type": "image/png", "purpose": purpose}
    response = jsonify(id=url_for("floor.home"), name="Floorbook", short_name="Floorbook",
                       description="Shop-floor checklists that keep working without the network.",
                       start_url=url_for("floor.home"), scope="/", display="standalone", orientation="any",
                       background_color="#ffffff", theme_color=THEME,
                       icons=[icon("icon-192.png", "192x192", "any"), icon("icon-512.png", "512x512", "any"),
                              icon("icon-maskable-512.png", "512x512", "maskable")])
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/sw.js")
def service_worker():
    """The service worker, from the site root so that its scope covers the whole app."""
    response = Response(shell.worker_source(), mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/offline")
def offline():
    """What a tablet shows for a page it has not kept while the network is away."""
    return render_template("pwa/offline.html")


@bp.get("/floor/outbox")
@roles_required(*FILL_ROLES)
def outbox():
    """The changes this tablet is still holding for the signed-in person (listed from IndexedDB)."""
    return render_template("pwa/outbox.html")
