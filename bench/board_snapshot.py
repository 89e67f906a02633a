"""Incremental board snapshot: building the changed tiles of a 200-station board, against rendering the whole
board (what a stream did before, and what the polling fragment still does), measured in the same run.

A fresh SQLite file gets the demo plant plus lines of extra stations up to --stations. An AreaBoard
(app.board.snapshot) for the whole site is built once; then each round flips one station down or up
(downtime start/stop through the services, untimed), hands the notifier-style batch {station: row id} to
the board, and times catch_up(): read the changed station's facts, render its tile, sum the header, render
the header. The baseline is board_view() + board/_body.html, timed on the same database between rounds.

Goal (issue 10): changed tiles built in <= 20 ms p95 at 200 stations. Exits 1 when missed.

Run: .venv/bin/python bench/board_snapshot.py [--stations 200] [--rounds 60]
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

from common import migrated_app  # noqa: F401  (puts the project on sys.path)
from flask import current_app, render_template  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app.board.snapshot import AreaBoard  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Area, BoardScreen, DowntimeEvent, Line, Station  # noqa: E402
from app.services.board import boards  # noqa: E402
from app.services.core.audit import Actor  # noqa: E402
from app.services.access.users import create_user  # noqa: E402
from app.services.demo import _seed_plant  # noqa: E402
from app.services.floor.catalogue import sync_definitions  # noqa: E402
from app.services.floor import downtime, reasons  # noqa: E402

GOAL_MS = 20.0


def seed(stations: int) -> None:
    """The demo plant with its forms published, and extra lines of 10 stations each until there are `stations`."""
    _seed_plant()
    sync_definitions(Path(current_app.config["FORMS_DIR"]), Actor(None))
    area = db.session.scalar(select(Area))
    n = db.session.query(Station).count()
    line_no = 0
    while n < stations:
        line_no += 1
        line = Line(area=area, name=f"Bench line {line_no:02d}")
        db.session.add(line)
        for k in range(min(10, stations - n)):
            db.session.add(Station(line=line, name=f"Bench {line_no:02d}-{k:02d}"))
            n += 1
    db.session.commit()


def flip(station: Station, code: str, actor: Actor) -> None:
    running = db.session.scalar(select(DowntimeEvent).where(DowntimeEvent.station_id == station.id,
                                                            DowntimeEvent.ended_at.is_(None)))
    if running is None:
        downtime.start_downtime(station, code, None, actor)
    else:
        downtime.stop_downtime(running, "Bench reset", actor)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> int:
    """Measure; 1 when the goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    with migrated_app() as (app, _folder):
        seed(args.stations)
        code = reasons.downtime_tree()[0].children[0].code
        operator = Actor(create_user("operator1", "Olive Operator", ["operator"], "operator1-demo", None, None,
                                     Actor(None)).id)
        station_ids = [s.id for s in boards.area_stations(None)]
        screen_id = boards.create_screen("Bench TV", None, Actor(None)).screen.id
        board, seq = AreaBoard(None), 0
        with app.test_request_context("/"):
            board.catch_up(lambda applied: (seq, {}, boards.latest_event_id()))
            changed, changed_cpu, full, minute_rebuilds = [], [], [], []
            for n in range(args.rounds):
                station = db.session.get(Station, station_ids[(n * 7) % len(station_ids)])
                flip(station, code, operator)
                seq += 1
                sid = station.id
                batch = {sid: boards.latest_event_id()}
                before, minute = board.stamp, board.minute
                start, cpu = time.perf_counter(), time.thread_time()
                board.catch_up(lambda applied: (seq, batch, batch[sid]))
                took, cpu = (time.perf_counter() - start) * 1000, (time.thread_time() - cpu) * 1000
                if board.minute != minute:  # the once-a-minute rebuild of every tile (ages, overdue checks)
                    minute_rebuilds.append(took)
                    continue
                changed.append(took)
                changed_cpu.append(cpu)
                text, _stamp, _position = board.message(before, batch[sid])
                assert f'id="tile-{sid}"' in text and text.count('<article id="tile-') == 1, text[:300]
                start = time.perf_counter()
                screen = db.session.get(BoardScreen, screen_id)
                view = boards.board_view(screen)
                body = render_template("board/_body.html", screen=screen, view=view)
                full.append((time.perf_counter() - start) * 1000)
                db.session.remove()
    tiles = len(station_ids)
    print(f"board snapshot, {tiles} stations, {args.rounds} changes of one station each")
    print(f"  changed tiles (AreaBoard.catch_up): p50 {statistics.median(changed):6.1f} ms  p95 {p95(changed):6.1f} ms"
          f"   goal p95 <= {GOAL_MS:.0f} ms")
    print(f"  changed tiles, this thread's CPU:   p50 {statistics.median(changed_cpu):6.1f} ms  p95 "
          f"{p95(changed_cpu):6.1f} ms   (less sensitive to other load on the machine; the goal is on wall time)")
    print(f"  full board (board_view + _body):   p50 {statistics.median(full):6.1f} ms  p95 {p95(full):6.1f} ms"
          f"   {len(body) / 1024:.0f} KB")
    print(f"  once-a-minute rebuilds of every tile met in the run (not counted above): "
          f"{', '.join(f'{t:.0f} ms' for t in minute_rebuilds) or 'none'}")
    print(f"  changed ÷ full, p50: {statistics.median(changed) / statistics.median(full):.2f}")
    if p95(changed) > GOAL_MS:
        print(f"MISSED changed tiles p95 {p95(changed):.1f} ms > {GOAL_MS:.0f} ms")
        return 1
    print("goal met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
