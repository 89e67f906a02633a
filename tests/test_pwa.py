"""The installable app: manifest, service worker, offline and blank pages, and the headers caches rely on."""
import io
import shutil

from PIL import Image

from app.floor.context import BLANK_ID
from app.pwa import shell
from tests.helpers.builders import sign_in


def test_manifest_is_installable_and_served_as_a_manifest(client):
    """Name, standalone, start at the station home, theme colours, PNG icons of 192 and 512 px (one maskable)."""
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    manifest = response.get_json()
    assert (manifest["name"], manifest["short_name"], manifest["display"]) == ("Floorbook", "Floorbook", "standalone")
    assert manifest["start_url"] == "/floor" and manifest["scope"] == "/"
    assert manifest["theme_color"] == "#0b3d91" and manifest["background_color"] == "#ffffff"
    sizes = {}
    for icon in manifest["icons"]:
        image = client.get(icon["src"])
        assert image.status_code == 200 and image.mimetype == "image/png" == icon["type"]
        width, height = Image.open(io.BytesIO(image.get_data())).size
        assert icon["sizes"] == f"{width}x{height}"
        sizes.setdefault(icon["purpose"], set()).add(width)
    assert sizes == {"any": {192, 512}, "maskable": {512}}


def test_service_worker_is_served_from_the_root_with_its_shell(client):
    """JavaScript, never cached by the browser, scope '/', with this build's version and a shell that loads."""
    response = client.get("/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/" and response.headers["Cache-Control"] == "no-cache"
    source = response.get_data(as_text=True)
    assert "__FLOORBOOK" not in source
    with client.application.test_request_context():
        urls, version = shell.precache_urls(), shell.version()
    assert f'const VERSION = "{version}";' in source and "/offline" in urls and "/static/js/outbox.js" in urls
    for url in urls:
        assert client.get(url).status_code == 200, url
    for never in ("^\\/board\\/", "^\\/login", "\\.pdf$", "text/event-stream"):
        assert never in source


def test_the_shell_version_changes_with_any_shell_file(app, tmp_path):
    """A changed stylesheet names a new cache, so tablets fetch the new shell and drop the old one."""
    static = tmp_path / "static"
    shutil.copytree(app.static_folder, static)
    before = shell._version(str(static), app.template_folder)
    (static / "css" / "fill.css").write_text("/* changed */", encoding="utf-8")
    shell._version.cache_clear()  # computed once per process: a deploy restarts it
    assert shell._version(str(static), app.template_folder) != before


def test_offline_page_carries_no_person_and_no_form_token(app, client, users):
    """The worker keeps one offline page for everyone: signed in or not, it names no one."""
    anonymous = client.get("/offline").get_data(as_text=True)
    page = sign_in(client, users.operator, tablet=True).get("/offline").get_data(as_text=True)
    assert page == anonymous
    assert "No connection" in page and "csrf" not in page and users.operator.printed_name not in page


def test_pages_say_whose_they_are_and_vary_on_htmx(client, users, start_draft):
    """X-Floorbook-User tells the worker whose copy it keeps; Vary keeps a page and its fragment apart."""
    draft = start_draft(users.operator)
    assert "X-Floorbook-User" not in client.get("/login").headers
    sign_in(client, users.operator, tablet=True)
    response = client.get(f"/floor/submissions/{draft.id}")
    assert response.headers["X-Floorbook-User"] == str(users.operator.id)
    assert "HX-Request" in response.headers["Vary"] and response.headers["Cache-Control"] == "no-store"


def test_blank_page_is_the_fill_page_of_a_form_not_started(client, users, plant):
    """Every item of the form, posting to a placeholder id the tablet replaces with its own UUID; nothing stored."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Submission

    sign_in(client, users.operator, tablet=True)
    form, station = plant.forms["press-start-of-shift"], plant.stations["Press 1"]
    page = client.get(f"/floor/forms/{form.id}/blank?station={station.id}").get_data(as_text=True)
    assert f'data-blank="{BLANK_ID}"' in page and f"/floor/submissions/{BLANK_ID}/items/hydraulic_pressure" in page
    assert 'data-lsl="140' in page and 'data-usl="160' in page and "Press start-of-shift check" in page
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 0
    elsewhere = plant.stations["Weld 1"]
    assert client.get(f"/floor/forms/{form.id}/blank?station={elsewhere.id}").status_code == 404
    assert client.get(f"/floor/forms/{form.id}/blank").status_code == 404


def test_a_kept_copy_leaves_the_notice_for_the_next_page(client, users, start_draft):
    """The worker refreshes its copy of a fill page just as the draft is submitted: that fetch follows
    the redirect to the record but leaves the 'Submitted' notice for the page the operator sees next."""
    from tests.test_floor import fill_passing

    draft = start_draft(users.operator)
    sign_in(client, users.operator, tablet=True)
    fill_passing(client, draft)
    assert client.post_form(f"/floor/submissions/{draft.id}/submit").status_code in (200, 204, 303)
    kept = client.get(f"/floor/submissions/{draft.id}", headers={"X-Floorbook-Keep": "1"}, follow_redirects=True)
    assert kept.status_code == 200 and "Submitted as record version 1" not in kept.get_data(as_text=True)
    shown = client.get(f"/records/{draft.id}").get_data(as_text=True)
    assert "Submitted as record version 1" in shown
