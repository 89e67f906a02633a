"""Layered fixtures: database template → app → client → users → signed-in clients.

Every test gets its own database copied from a migrated template (a file copy on SQLite,
CREATE DATABASE … TEMPLATE on PostgreSQL), so the append-only triggers of the real migrations
are in force and no test sees another's rows.
"""

pytest_plugins = ["tests.helpers.databases", "tests.helpers.builders", "tests.helpers.records", "tests.helpers.server"]


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: end-to-end test in headless Chromium")
