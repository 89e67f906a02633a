"""`flask --app wsgi worker`: the one background worker process (DESIGN.md §12)."""
import logging

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--once", is_flag=True, help="Run the jobs due now, then exit (cron, or a check).")
@click.option("--poll", "poll_seconds", type=click.FloatRange(min=0.05), default=0.5, show_default=True,
              envvar="FLOORBOOK_WORKER_POLL_SECONDS",
              help="Seconds between looks at the queue (FLOORBOOK_WORKER_POLL_SECONDS).")
@with_appcontext
def worker(once: bool, poll_seconds: float) -> None:
    """Run background jobs (PDFs ahead of need, …) until SIGTERM; several may run on PostgreSQL."""
    from app.services.jobs import worker as loop

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if once:
        click.echo(f"{loop.run_due()} job(s) run.")
        return
    loop.run_forever(current_app._get_current_object(), poll_seconds)
