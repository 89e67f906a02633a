"""Answer autosave cost: median time of one answer save (parse, judge, store, audit, render the item)
against a baseline request (GET /healthz, one SELECT 1) measured in the same run, on a real SQLite file.

Run: .venv/bin/python bench/answers.py   (or `make bench`)
"""
import itertools
import statistics
import uuid

from common import migrated_app, timed

from app.config import ROOT
from app.services import submissions
from app.services.audit import Actor
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

        def save() -> None:
            n = next(rounds)  # a new value each time, so every save really changes the answer
            data = {k: v.format(40 + (n % 20) * 0.5) for k, v in fields.items()}
            assert client.post(url, data=data, headers=headers).status_code == 200

        baseline = timed(lambda: client.get("/healthz"), ROUNDS)
        saves = timed(save, ROUNDS)
    base_ms, save_ms = statistics.median(baseline) * 1000, statistics.median(saves) * 1000
    p95 = statistics.quantiles(saves, n=20)[-1] * 1000
    print(f"baseline GET /healthz   median {base_ms:7.2f} ms")
    print(f"answer save (5 samples) median {save_ms:7.2f} ms  p95 {p95:7.2f} ms  = {save_ms / base_ms:5.1f}x baseline")
    print(f"answer saves per second on one thread: {1000 / save_ms:.0f}")


if __name__ == "__main__":
    main()
