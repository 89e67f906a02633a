"""The test's app served over real HTTP on loopback (browser and stream tests)."""
import threading

import pytest
from werkzeug.serving import make_server

from app.board.notifier import notifier_for
from app.extensions import db


@pytest.fixture
def live_server(app):
    """The test's app served on 127.0.0.1 from a background thread; yields its base URL."""
    db.session.commit()
    db.session.remove()  # the server's threads take the database from here on
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    notifier_for(app).close()  # open board streams end, watcher threads stop
    server.shutdown()
    thread.join(timeout=10)
    db.session.remove()
