"""Admin views of the job queue: counts, failures with their last error, retry."""
from flask import abort, flash, redirect, render_template, url_for

from app.jobs import bp
from app.security import roles_required
from app.services.jobs import queue


@bp.get("", endpoint="index")
@roles_required("admin")
def index():
    """The queue: how many jobs per state, the ones that failed or wait for a retry (with the error), the newest."""
    return render_template("jobs/index.html", view=queue.overview())


@bp.post("/<int:job_id>/retry")
@roles_required("admin")
def retry(job_id: int):
    """Queue a failed job again now, with its attempts counted afresh."""
    job = queue.retry_now(job_id)
    if job is None:
        abort(409, description="Only a failed job can be retried, and not while the same work is queued.")
    flash(f"Job {job.id} ({job.kind}) is queued again.")
    return redirect(url_for("jobs.index"), code=303)
