"""What the service worker precaches (the app shell) and the version that names its caches."""
import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import current_app, url_for

WORKER = Path(__file__).with_name("service-worker.js")
STYLESHEETS = ("base", "layout", "lists", "controls", "fill", "inputs", "feedback", "adapt")
SCRIPTS = ("vendor/htmx-2.0.11.min.js", "js/app.js", "js/early-changes.js", "js/ages.js", "js/outbox-store.js",
           "js/outbox-check.js", "js/scan.js", "js/signout.js", "js/outbox-pages.js", "js/outbox-downtime.js",
           "js/outbox.js", "js/outbox-page.js")
IMAGES = ("img/logo.svg", "img/favicon.svg", "img/icon-192.png", "img/icon-512.png", "img/icon-maskable-512.png",
          "img/apple-touch-icon.png")
STATIC_FILES = tuple(f"css/{name}.css" for name in STYLESHEETS) + SCRIPTS + IMAGES


def precache_urls() -> list[str]:
    """The shell: static files, the offline page and the manifest."""
    return [url_for("static", filename=name) for name in STATIC_FILES] + [url_for("pwa.offline"),
                                                                            url_for("pwa.manifest")]


@lru_cache(maxsize=4)
def _version(static_folder: str, template_folder: str) -> str:
    digest = hashlib.sha256(WORKER.read_bytes())
    for name in STATIC_FILES:
        digest.update((Path(static_folder) / name).read_bytes())
    for name in ("pwa/offline.html", "base.html"):
        digest.update((Path(template_folder) / name).read_bytes())
    return digest.hexdigest()[:12]


def version() -> str:
    """Changes whenever a shell file changes, so tablets fetch the new shell and drop the old cache."""
    app = current_app
    return _version(app.static_folder, app.template_folder)


def worker_source() -> str:
    """The service worker with this build's version and shell list filled in."""
    return (WORKER.read_text(encoding="utf-8")
            .replace('"__FLOORBOOK_VERSION__"', json.dumps(version()))
            .replace('["__FLOORBOOK_PRECACHE__"]', json.dumps(precache_urls()))
            .replace('"__FLOORBOOK_OUTBOX_STORE__"', json.dumps(url_for("static", filename="js/outbox-store.js"))))
