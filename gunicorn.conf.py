"""gunicorn settings: gthread workers whose pool board streams leave alone (app/serving.py)."""
import os

# This machine only unless told otherwise: HOST=0.0.0.0 (or the plant-network address) serves other machines.
bind = f"{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT', '8000')}"
# gthread, except that a request turning into a board stream hands its pool slot to a fresh thread: the
# `threads` below always serve tablets, however many TVs are open (capped by FLOORBOOK_BOARD_STREAMS_*).
worker_class = "app.serving.StreamingThreadWorker"
# One process per core (at most 4): a process runs one thread at a time (the GIL). On SQLite the writers of
# every process queue for the file in turn (app.database.WriteQueue); PostgreSQL takes as many as it is given.
workers = int(os.environ.get("WEB_CONCURRENCY") or min(os.cpu_count() or 1, 4))
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
timeout = 60
graceful_timeout = 20
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
certfile = os.environ.get("FLOORBOOK_TLS_CERT") or None
keyfile = os.environ.get("FLOORBOOK_TLS_KEY") or None
