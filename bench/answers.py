"""Answer autosave cost: median time of one answer save (parse, judge, store, audit, render the item)
against a baseline request (GET /healthz, one SELECT 1) measured in the same run, on a real SQLite file;
then the same save with an Idempotency-Key (what every tablet request carries), a repeat of a key
(what a replay after a lost response costs), and a cookie-less save with an outbox token (a replay).

Run: .venv/bin/python bench/answers.py   (or `make bench`)
"""
import itertools
import statistics
import uuid

from common import migrated_app, timed

from app.config import ROOT
from app.services.access import outbox_tokens
from app.services.floor import submissions
from app.services.core.audit import Actor
from tests.helpers.builders import Client, sign_in

ROUNDS = 300


def main() -> None:
    with migrated_app() as (app, tmp):
        app.test_client_class = Client
        from app.services.demo import seed_demo
        seed_demo(ROOT / "forms", tmp / "instance", days=0)
        from app.models import FormVersion, Station, User
        from app.extensions import db
        from sqlalchemy import select
        operator = db.session.scalar(select(User).where(User.username == "operator1"))
        version = db.session.scalar(select(FormVersion).where(FormVersion.form_id == "torque-audit"))
        station = db.session.scalar(select(Station).where(Station.name == "Weld 1"))
        draft = submissions.start_submission(str(uuid.uuid4()), version.id, station.id, Actor(operator.id))
        client = sign_in(app.test_client(), operator)
        token = client.csrf_token()
        headers = {"HX-Request": "true", "X-CSRFToken": token}
        item = next(i for s in version.definition["sections"] for i in s["items"] if i["type"] == "number")
        fields = ({"value": "{}"} if item["samples"] == 1 else {f"sample_{k}": "{}" for k in range(item["samples"])})
        url = f"/floor/submissions/{draft.id}/items/{item['name']}"

        rounds = itertools.count()

        def save_with(extra: dict, n: int | None = None, replayed: bool = False, via=None) -> None:
            n = next(rounds) if n is None else n  # a new value each time, so every save really changes the answer
            data = {k: v.format(40 + (n % 20) * 0.5) for k, v in fields.items()}
            response = (via or client).post(url, data=data, headers={**headers, **extra})
            assert response.status_code == 200 and (response.headers.get("Idempotent-Replayed") == "true") == replayed

        def save() -> None:
            save_with({})

        baseline = timed(lambda: client.get("/healthz"), ROUNDS)
        saves = timed(save, ROUNDS)
        keyed = timed(lambda: save_with({"Idempotency-Key": str(uuid.uuid4())}), ROUNDS)
        repeat = {"Idempotency-Key": str(uuid.uuid4())}
        save_with(repeat, n=7)
        repeats = timed(lambda: save_with(repeat, n=7, replayed=True), ROUNDS)
        with app.test_request_context():
            bearer = {"X-Floorbook-Outbox": outbox_tokens.issue(operator, None)}
        anonymous = app.test_client(use_cookies=False)  # a replay sends no cookie
        replays = timed(lambda: save_with({**bearer, "Idempotency-Key": str(uuid.uuid4())}, via=anonymous), ROUNDS)
    base_ms, save_ms = statistics.median(baseline) * 1000, statistics.median(saves) * 1000
    p95 = statistics.quantiles(saves, n=20)[-1] * 1000
    print(f"baseline GET /healthz   median {base_ms:7.2f} ms")
    print(f"answer save (5 samples) median {save_ms:7.2f} ms  p95 {p95:7.2f} ms  = {save_ms / base_ms:5.1f}x baseline")
    print(f"answer saves per second on one thread: {1000 / save_ms:.0f}")
    for label, times in (("with Idempotency-Key", keyed), ("repeat of a stored key", repeats),
                         ("outbox replay (token, no cookie)", replays)):
        ms = statistics.median(times) * 1000
        print(f"{label:34} median {ms:7.2f} ms  = {ms / base_ms:5.1f}x baseline, {ms / save_ms:4.2f}x a plain save")


if __name__ == "__main__":
    main()
