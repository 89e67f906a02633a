"""gunicorn settings: gthread workers (SSE streams need threads; sync workers would be killed)."""
import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
worker_class = "gthread"
# SQLite: one process serialises writes best; with PostgreSQL raise WEB_CONCURRENCY.
workers = int(os.environ.get("WEB_CONCURRENCY", os.environ.get("FB_W", "1")))
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
timeout = 60
graceful_timeout = 20
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
certfile = os.environ.get("FLOORBOOK_TLS_CERT") or None
keyfile = os.environ.get("FLOORBOOK_TLS_KEY") or None
