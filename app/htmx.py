"""Page-or-partial rendering on top of flask-htmx; views never inspect htmx headers themselves."""
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl, urlsplit

from flask import Response, make_response, redirect, render_template, request
from werkzeug.datastructures import MultiDict

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


def show_address(response: Response, address_of: Callable[[Mapping[str, str]], str]) -> Response:
    """For htmx, set the address bar to address_of(this request's arguments), the URL of what the response shows.

    The server names the URL (HX-Push-Url) rather than the page guessing it, so the address is the search that
    was run whichever element asked. When the page already shows the same address (a Search press also fires
    the text field's change, so one search can arrive twice), the entry is replaced, not pushed: Back then goes
    to the search before it, not to a copy of this one.
    """
    if not is_htmx() or htmx.history_restore_request:  # a restore asks for the address it is already at
        return response
    address = address_of(request.args.to_dict())
    current = _page_args()
    same = current is not None and address_of(current) == address
    response.headers["HX-Replace-Url" if same else "HX-Push-Url"] = address
    response.vary.add("HX-Current-URL")
    return response


def _page_args() -> dict[str, str] | None:
    """The query arguments of the page that sent this htmx request, or None when it is another path."""
    page = urlsplit(htmx.current_url or "")
    if page.path != request.path:
        return None
    return MultiDict(parse_qsl(page.query, keep_blank_values=True)).to_dict()
