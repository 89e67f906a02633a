"""Background jobs (DESIGN.md §12): one queue in our own database, one worker process, many kinds.

registry (what kinds exist and their handlers) → queue (enqueue, claim, finish or retry, all in SQL)
→ worker (the `flask --app wsgi worker` loop that claims and runs them, woken by LISTEN/NOTIFY on
PostgreSQL or a short poll on SQLite). A feature adds a kind with @job_kind and enqueues it in the same
transaction as the change that calls for it, so the job exists exactly when the change does.
"""
