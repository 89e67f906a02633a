"""Search at 50,000 records over HTTP: every filter of the records and deviations searches, p95 against the goal
(100 ms) and against GET /healthz measured through the same connection in the same run, on SQLite and PostgreSQL.

The app is gunicorn as shipped (gunicorn.conf.py, wsgi:app, production config) on a database seeded by bulk
inserts: 50,000 submitted records over a year (+1 % drafts, 3 % corrected, 60 % signed, 8 % out of spec) and
10,000 deviations (twice what 8 % failing records raise; ~2 % still active), each with its search document. The
client is one keep-alive connection signed in as an auditor, sending what the search form sends when a filter
changes (HX-Request: the results fragment, with HX-Push-Url) and, for each search, the full page once per round.
Why a real server rather than the test client: the figure is what a browser waits for, gunicorn's threads,
the session and CSRF checks, compression and the socket included. Exits 1 when a p95 misses 100 ms.

Run: .venv/bin/python bench/search.py [--records 50000] [--deviations 10000] [--rounds 20]
     [--engines sqlite,postgresql] [--plans]
"""
import argparse
import http.client
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import database  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from load.drive import Server  # noqa: E402
from load.plant import SECRET, _signed_in  # noqa: E402
from search_data.plans import print_plans  # noqa: E402
from search_data.seed import NEWEST, Seeded, seed  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app import create_app  # noqa: E402
from app.config import ROOT, TestingConfig  # noqa: E402
from app.extensions import db  # noqa: E402

GOAL_MS = 100.0
PORTS = {"sqlite": 18121, "postgresql": 18122}


def record_queries(s: Seeded) -> dict[str, dict[str, str]]:
    """Every filter of /records (one at a time, then the combinations an auditor uses)."""
    month = {"date_from": "2026-06-01", "date_to": "2026-06-30"}
    return {
        "no filter": {},
        "words 'relief valve'": {"q": "relief valve"},
        "typing 'relief val'": {"q": "relief val"},
        "words, 3 of them": {"q": "press oil weep"},
        "sha256 prefix (12 hex)": {"q": s.sha256[:12]},
        "record id prefix (8 hex)": {"q": s.record_id[:8]},
        "signer": {"signer": "insp1"},
        "performer": {"performer": "op07"},
        "out of spec": {"out_of_spec": "true"},
        "awaiting signature": {"status": "submitted"},
        "signed": {"status": "signed"},
        "station": {"station": str(s.station_id)},
        "line": {"line": str(s.line_id)},
        "form": {"form": "torque-audit"},
        "one month": month,
        "station + one month": {"station": str(s.station_id), **month},
        "form + line + out of spec": {"form": "torque-audit", "line": str(s.line_id), "out_of_spec": "true"},
        "signer + words": {"signer": "insp1", "q": "relief valve"},
        "200 per page": {"per_page": "200"},
        "deep page 500": {"page": "500"},
        "out of spec, page 60": {"out_of_spec": "true", "page": "60"},
    }


def deviation_queries(s: Seeded) -> dict[str, dict[str, str]]:
    """Every filter of /deviations (one at a time, then combinations)."""
    month = {"date_from": "2026-06-01", "date_to": "2026-06-30"}
    return {
        "no filter": {},
        "words 'relief valve'": {"q": "relief valve"},
        "typing 'hydraulic pres'": {"q": "hydraulic pres"},
        "number '#n'": {"q": f"#{s.deviation_id}"},
        "status open": {"status": "open"},
        "status closed": {"status": "closed"},
        "station": {"station": str(s.station_id)},
        "line": {"line": str(s.line_id)},
        "decision": {"decision": "scrap"},
        "one month": month,
        "station + words + month": {"station": str(s.station_id), "q": "valve", **month},
        "deep page 500": {"page": "500"},
    }


class Client:
    """One keep-alive connection with the auditor's cookie, as a browser tab sends it."""

    def __init__(self, port: int, cookie: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Cookie": cookie, "Accept-Encoding": "gzip"}

    def get(self, path: str, htmx: bool = False) -> float:
        """Seconds from sending the request to the last byte of a 200 answer."""
        headers = {**self.headers, **({"HX-Request": "true"} if htmx else {})}
        began = time.perf_counter()
        try:
            self.connection.request("GET", path, headers=headers)
            response = self.connection.getresponse()
            body = response.read()
        except TimeoutError as error:
            raise RuntimeError(f"GET {path}: no answer in 60 s") from error
        took = time.perf_counter() - began
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {body[:300]!r}")
        return took


def p95(samples: list[float]) -> float:
    """95th percentile in milliseconds."""
    return statistics.quantiles(samples, n=20, method="inclusive")[18] * 1000


def measure(client: Client, paths: dict[str, tuple[str, bool]], rounds: int) -> dict[str, list[float]]:
    """Every path once per round, rounds times (interleaved, so a burst of load hits all of them alike)."""
    for path, htmx in paths.values():
        client.get(path, htmx)  # warm: templates compiled, connections in the pool
    samples: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(rounds):
        for name, (path, htmx) in paths.items():
            samples[name].append(client.get(path, htmx))
    return samples


def prepare(url: str, folder: Path, records: int, deviations: int, plans: bool) -> tuple[Seeded, str]:
    """Migrate, seed, and sign the auditor in; the bench process then lets go of the database."""
    from app.models import User
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, INSTANCE_PATH=str(folder / "instance"),
                     SECRET_KEY=SECRET)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        started = time.perf_counter()
        seeded = seed(records, deviations, __import__("random").Random(42))
        print(f"  seeded {records:,} records (+{records // 100:,} drafts) and {deviations:,} deviations "
              f"in {time.perf_counter() - started:.1f} s")
        if plans:
            print_plans(seeded, record_queries(seeded), deviation_queries(seeded))
        cookie, _csrf = _signed_in(app, db.session.scalar(select(User).where(User.username == "auditor")))
        db.session.remove()
        db.engine.dispose()
    return seeded, cookie


def run_engine(engine: str, records: int, deviations: int, rounds: int, plans: bool) -> list[str]:
    """Seed, serve and measure one engine; the figures that missed the goal."""
    folder = Path(tempfile.mkdtemp(prefix=f"fb-search-{engine}-"))
    print(f"{engine}:")
    try:
        with database(engine, folder) as url:
            seeded, cookie = prepare(url, folder, records, deviations, plans)
            paths = {("", "GET /healthz (baseline)"): ("/healthz", False),
                     ("records", "full page, no filter"): ("/records", False),
                     ("deviations", "full page, no filter"): ("/deviations", False)}
            for search, queries in (("records", record_queries(seeded)), ("deviations", deviation_queries(seeded))):
                for name, args in queries.items():
                    paths[(search, name)] = (f"/{search}?{urlencode(args)}" if args else f"/{search}", True)
            with Server("wsgi:app", url, folder, PORTS[engine]) as server:
                try:
                    samples = measure(Client(PORTS[engine], cookie), paths, rounds)
                finally:
                    logged = server.errors()
                    for line in logged[:20]:
                        print(f"  gunicorn log: {line[:300]}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    base = samples.pop(("", "GET /healthz (baseline)"))
    base_p95, base_p50 = p95(base), statistics.median(base) * 1000
    print(f"  baseline GET /healthz: p50 {base_p50:.2f} ms, p95 {base_p95:.2f} ms; {rounds} rounds; goal p95 ≤ "
          f"{GOAL_MS:.0f} ms")
    print(f"  {'search':11} {'filter':28} {'p50':>9} {'p95':>9} {'p95 ÷ healthz':>14}  goal")
    missed = []
    for (search, name), times in samples.items():
        figure = p95(times)
        met = figure <= GOAL_MS
        print(f"  {search:11} {name:28} {statistics.median(times) * 1000:6.1f} ms {figure:6.1f} ms "
              f"{figure / base_p95:13.1f}×  {'met' if met else 'MISSED'}")
        if not met:
            missed.append(f"{engine} {search} {name}: p95 {figure:.1f} ms > {GOAL_MS:.0f} ms")
    return missed


def main() -> int:
    """Run the engines asked for; 1 when any p95 misses the goal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--deviations", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--plans", action="store_true", help="print each engine's plan of every search query")
    args = parser.parse_args()
    started, missed = time.perf_counter(), []
    for engine in args.engines.split(","):
        missed += run_engine(engine, args.records, args.deviations, args.rounds, args.plans)
    for line in missed:
        print(f"MISSED {line}")
    print(f"{'all goals met' if not missed else f'{len(missed)} goal(s) missed'} "
          f"({time.perf_counter() - started:.0f} s, newest record {NEWEST - timedelta(0):%Y-%m-%d})")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
