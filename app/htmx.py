"""Page-or-partial rendering on top of flask-htmx; views never inspect htmx headers themselves."""
from flask import Response, make_response, redirect, render_template

from app.extensions import htmx


def is_htmx() -> bool:
    """True for a request made by htmx (not a boosted full navigation)."""
    return bool(htmx) and not htmx.boosted


def render_page_or_partial(page: str, partial: str, status: int = 200, **context) -> Response:
    """Render the partial alone for htmx, the full page (which includes it) otherwise."""
    template = partial if is_htmx() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def hx_redirect(location: str) -> Response:
    """Tell htmx to navigate the whole page to location."""
    response = make_response("", 204)
    response.headers["HX-Redirect"] = location
    return response


def redirect_to(location: str, code: int = 303) -> Response:
    """Send the browser to location: HX-Redirect for htmx (a 3xx would be swapped in), a redirect otherwise."""
    return hx_redirect(location) if is_htmx() else redirect(location, code=code)
