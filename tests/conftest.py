"""Layered fixtures: database template → app → client → users → signed-in clients.

Every test gets its own database copied from a migrated template (a file copy on SQLite,
CREATE DATABASE … TEMPLATE on PostgreSQL), so the append-only triggers of the real migrations
are in force and no test sees another's rows.
"""

pytest_plugins = ["tests.helpers.databases", "tests.helpers.builders", "tests.helpers.records", "tests.helpers.server"]

# The long tests, longest first: under xdist (`make test` runs `-n 2 --maxschedchunk 2`, so each worker
# takes the next test from one queue) they start at once instead of forming the tail of the run.
# Measured with --durations: the bulk export takes minutes, a browser or gunicorn test seconds.
LONG_FIRST = (
    "tests/test_bulk_export.py",
    "tests/e2e/test_outbox_delivery.py",
    "tests/e2e/test_offline_flow.py",
    "tests/e2e/test_offline_restart.py",
    "tests/e2e/",
    "tests/test_crash_soak.py",
    "tests/test_board_workers.py",
    "tests/test_two_servers.py",
    "tests/test_concurrent_saves.py",
)


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: end-to-end test in headless Chromium")


def pytest_collection_modifyitems(session, config, items):
    """Put the long tests first (a stable sort: the same order on every xdist worker, as xdist requires)."""
    def rank(item) -> int:
        path = item.nodeid.split("::")[0]
        return next((n for n, prefix in enumerate(LONG_FIRST) if path.startswith(prefix)), len(LONG_FIRST))
    items.sort(key=rank)
