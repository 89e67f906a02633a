"""Autosave under plant load: 16 tablets saving answers at once against gunicorn as shipped, against a bare
Flask route doing one durable insert on the same engine, served the same way, in the same run.

Two ceilings are measured the same way (bench/ceilings.py): the stack's checks alone (session, user, CSRF,
role), and those plus reading the draft and rendering the save's response with nothing written; a save does
all of that and then writes, so its ratio cannot exceed the second one's.

Each of the 16 connections is an operator session (keep-alive, its own draft, the CSRF header and a new
Idempotency-Key on every save as the tablet sends) saving number answers: a third to the same item, one in
ten out of spec. Prints saves/s, p50, p99 and errors for both, and the ratio, on SQLite and PostgreSQL
(127.0.0.1:5432, trust; the bench creates and drops its own database). Exits 1 when a target is missed:
ratio >= 0.5 on each engine, p99 <= 100 ms, no errors.

Run: .venv/bin/python bench/autosave_load.py [--seconds 10] [--connections 16] [--engines sqlite,postgresql]
"""
import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bare_insert import create_table  # noqa: E402
from load.drive import Figures, Server, drive, new_key  # noqa: E402
from common import database  # noqa: E402
from load.plant import prepare  # noqa: E402

RATIO_TARGET, P99_TARGET_MS = 0.5, 100.0
PORTS = {"sqlite": (18101, 18102), "postgresql": (18103, 18104)}


def _line(label: str, figures: Figures) -> str:
    return (f"  {label:28} {figures.per_second:8.1f}/s  p50 {figures.percentile(50):7.1f} ms  "
            f"p99 {figures.percentile(99):7.1f} ms  errors {len(figures.errors)}  reconnects {figures.reconnects}")


def run_engine(engine: str, seconds: float, connections: int) -> list[str]:
    """Measure one engine; the targets it missed."""
    folder = Path(tempfile.mkdtemp(prefix=f"fb-load-{engine}-"))
    try:
        with database(engine, folder) as url:
            sessions = prepare(url, folder, connections)
            app_port, bare_port = PORTS[engine]

            def saver(tablet, route: str = "/floor/submissions/"):
                def make(n: int):
                    path, fields, _in_spec = tablet.saves[n % len(tablet.saves)]
                    return path.replace("/floor/submissions/", route), fields, {
                        "Cookie": tablet.cookie, "X-CSRFToken": tablet.csrf, "HX-Request": "true",
                        "Idempotency-Key": new_key()}
                return make

            with Server("wsgi:app", url, folder, app_port) as server:
                saves = drive(app_port, [saver(s) for s in sessions], seconds)
                logged = server.errors()
            create_table(url)
            with Server("bare_insert:app", url, folder, bare_port):
                bare = drive(bare_port, [lambda n: ("/insert", {"n": str(n)}, {})] * connections, seconds)
            with Server("ceilings:app", url, folder, app_port) as server:
                ceilings = {route: drive(app_port, [saver(s, f"/bench/{route}/") for s in sessions], seconds)
                            for route in ("auth", "render")}
                logged += server.errors()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    ratio = saves.per_second / bare.per_second if bare.per_second else 0.0
    print(f"{engine}: {connections} connections, {seconds:g} s each")
    print(_line("answer save (gunicorn app)", saves))
    print(_line("bare insert (same engine)", bare))
    print(f"  ratio saves/s ÷ bare/s: {ratio:.2f}")
    for route, label in (("auth", "ceiling: checks only"), ("render", "ceiling: checks, read, render")):
        figures = ceilings[route]
        print(_line(label, figures) + f"  ratio {figures.per_second / bare.per_second:.2f}")
    for error in sorted(set(saves.errors + bare.errors))[:5]:
        print(f"  error: {error}")
    for line in logged[:5]:
        print(f"  gunicorn log: {line[:200]}")
    missed = []
    if ratio < RATIO_TARGET:
        missed.append(f"{engine}: ratio {ratio:.2f} < {RATIO_TARGET}")
    if not saves.percentile(99) <= P99_TARGET_MS:
        missed.append(f"{engine}: p99 {saves.percentile(99):.0f} ms > {P99_TARGET_MS:.0f} ms")
    if saves.errors or bare.errors:
        missed.append(f"{engine}: {len(saves.errors)} save errors, {len(bare.errors)} bare errors")
    return missed


def main() -> int:
    """Run the engines asked for; 1 when any target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    missed = []
    for engine in args.engines.split(","):
        missed += run_engine(engine, args.seconds, args.connections)
    for line in missed:
        print(f"MISSED {line}")
    print("all targets met" if not missed else f"{len(missed)} target(s) missed")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
