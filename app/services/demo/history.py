"""A week of plausible records, made through the same services operators use, on a frozen clock."""
import heapq
import io
import random
import re
import uuid
from datetime import datetime, timedelta

from PIL import Image, ImageDraw
from sqlalchemy import select

from app.extensions import db
from app.items import item_type
from app.models import Site, Station, Submission, User
from app.models.types import frozen_clock, utcnow
from app.services.floor import attachments, catalogue, evaluation, submissions
from app.services.records import versions, signing
from app.services.core.audit import Actor
from app.services.demo import floor
from app.services.floor.shifts import Shift, shift_at

REASONS = [
    ("Gauge reading drifted after warm-up; relief valve re-set by maintenance.", "Re-checked after 10 min, within limits."),
    ("Guard interlock switch loose.", "Tightened the switch mount, tested the interlock three times."),
    ("Operator found a small oil weep at the cylinder fitting.", "Wiped, tagged for maintenance, monitoring each hour."),
    ("Fixture clamp worn, parts sitting high.", "Swapped to the spare fixture, quarantined the last 20 parts."),
]


def _photo_bytes(label: str) -> bytes:
    image = Image.new("RGB", (640, 480), (70, 90, 110))
    draw = ImageDraw.Draw(image)
    draw.rectangle((80, 80, 560, 400), outline=(240, 200, 40), width=12)
    draw.text((100, 420), label, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def _number(item: dict, rng: random.Random, bad: bool) -> float:
    lsl, usl, nominal = item.get("lsl"), item.get("usl"), item.get("nominal")
    if nominal is not None:
        centre = nominal
    elif lsl is not None and usl is not None:
        centre = (lsl + usl) / 2
    else:  # one-sided limit: sit comfortably on the good side of it
        centre = lsl * 2 + 10 if lsl is not None else (usl * 0.6 if usl is not None else 10.0)
    span = (usl - lsl) if lsl is not None and usl is not None else abs(centre) * 0.2 or 1.0
    value = centre + rng.gauss(0, span / 10)
    if bad and usl is not None:
        value = usl + span * rng.uniform(0.05, 0.2)
    return round(value, item.get("decimals", 1))


def answer_for(item: dict, rng: random.Random, bad: bool, when: datetime, answers: dict | None = None):
    """A plausible answer; bad=True makes a failing one where the item can fail."""
    kind = item["type"]
    if kind == "check":
        return "fail" if bad else "pass"
    if kind == "number":
        if item.get("samples", 1) > 1:
            return [_number(item, rng, bad and i == 0) for i in range(item["samples"])]
        return _number(item, rng, bad)
    if kind in ("choice", "multi"):
        good = [c["value"] for c in item["choices"] if not c.get("fails")]
        failing = [c["value"] for c in item["choices"] if c.get("fails")]
        pick = failing[0] if bad and failing else (good[0] if good else item["choices"][0]["value"])
        return [pick] if kind == "multi" else pick
    if kind == "text":
        return "Checked, nothing to add." if "remark" in item["label"].lower() or item.get("multiline") else "FL-07"
    if kind == "date":
        return when.date().isoformat()
    if kind == "time":
        return when.strftime("%H:%M")
    if kind == "acknowledge":
        return True
    if kind == "scan":
        return _code(item, bad, answers or {})
    return None


def _code(item: dict, bad: bool, answers: dict) -> str:
    """The expected code (its pattern's example when nothing is expected); bad=True one that differs."""
    expect = item.get("expect") or {}
    good = expect.get("value") or answers.get(expect.get("item", "")) or item.get("pattern_hint") or "CODE-0001"
    if not bad or not expect:
        return good
    # Change the last character within its kind, so the wrong code still fits the pattern.
    last = good[-1]
    other = ("1" if last == "0" else "0") if last.isdigit() else ("B" if last == "A" else "A")
    swapped = good[:-1] + other
    return swapped if not item.get("pattern") or re.fullmatch(item["pattern"], swapped) else good


def _fill(submission: Submission, actor: Actor, rng: random.Random, at: datetime) -> datetime:
    definition = submission.form_version.definition
    bad_item = None
    if rng.random() < 0.12:
        failing = [i["name"] for _s, i in evaluation.iter_items(definition) if evaluation.can_fail(i)]
        bad_item = rng.choice(failing) if failing else None
    for _section, item in evaluation.iter_items(definition):
        if not item_type(item).answerable or not evaluation.is_visible(item, submissions.answer_values(submission)):
            continue
        at += timedelta(seconds=rng.randint(10, 40))
        with frozen_clock(at):
            if item_type(item).takes_photos:
                photo = attachments.store_photo(_photo_bytes(item["label"]), 10 << 20, actor.user_id)
                submissions.add_photo(submission, item["name"], photo.sha256, actor)
                continue
            value = answer_for(item, rng, item["name"] == bad_item, at, submissions.answer_values(submission))
            result = submissions.save_answer(submission, item["name"], {}, actor, value=value, parsed=True)
            if result.verdict.state == "fail":
                reason, action = rng.choice(REASONS)
                submissions.explain(submission, item["name"], reason, action, actor)
    return at


def _shifts(site: Site, days: int, now: datetime) -> list[Shift]:
    """The shifts of the last `days` days, oldest first, ending with the current one."""
    current = shift_at(site.shift_pattern, site.timezone, now)
    found, probe = [current], current.start - timedelta(minutes=1)
    while True:
        shift = shift_at(site.shift_pattern, site.timezone, probe)
        if shift.start < now - timedelta(days=days):
            return list(reversed(found))
        found.append(shift)
        probe = shift.start - timedelta(minutes=1)


def _wanted(version, shift: Shift) -> int:
    kind = version.definition["schedule"]["kind"]
    if kind in ("per_shift", "daily"):
        return 1 if kind == "per_shift" or shift.code == "A" else 0
    if kind in ("hourly", "every"):
        return 2
    if kind == "weekly":
        return 1 if shift.code == "A" and shift.date.weekday() == 0 else 0
    return 1 if shift.code == "A" and shift.date.weekday() in (1, 3) else 0  # on demand: now and then


def _sign_due(pending: list, signers: list[User], until: datetime, last: datetime) -> datetime:
    """Give the signatures due by `until`, never before `last` (the newest event), so the trail's clock only moves on."""
    while pending and pending[0][0] <= until:
        due, _n, submission = heapq.heappop(pending)
        at = last = max(due, last)
        step = signing.next_step(submission)
        signer = next((u for u in signers if step and u.has_role(step["role"])), None)
        if signer is None:
            continue
        if signing.awaiting_decision(submission):  # the supervisor has not decided yet: look again in an hour
            heapq.heappush(pending, (at + timedelta(minutes=60), _n, submission))
            continue
        with frozen_clock(at):
            signing.seed_signature(submission, signer, Actor(signer.id))
        if signing.next_step(submission):
            heapq.heappush(pending, (at + timedelta(minutes=45), _n, submission))
    return last


def seed_history(days: int) -> int:
    """Fill `days` past days of shifts with records, unless the plant already has records."""
    if db.session.scalar(select(Submission.id).limit(1)) is not None:
        return 0
    site = db.session.scalar(select(Site))
    operators = list(db.session.scalars(select(User).where(User.roles.contains("operator")).order_by(User.username)))
    stations = list(db.session.scalars(select(Station).order_by(Station.id)))
    signers = list(db.session.scalars(select(User).where(User.roles.in_(("inspector", "supervisor")))))
    rng, count, now, pending, agenda = random.Random(20261122), 0, utcnow(), [], floor.Agenda()
    supervisor = db.session.scalar(select(User).where(User.roles.contains("supervisor")).order_by(User.id))
    last = now - timedelta(days=days + 1)
    for n, shift in enumerate(_shifts(site, days, now)):
        actor = Actor(operators[n % len(operators)].id)
        current = shift.end > now  # the shift running now: every station but Press 3 has started its checks
        stop = min(shift.end - timedelta(minutes=30), now - timedelta(minutes=10))
        if not current:
            floor.plan_downtime(agenda, stations, operators[n % len(operators)], shift.start, rng)
        at = shift.start + timedelta(minutes=15)
        for station in [s for s in stations if s.name != "Press 3"] if current else stations:
            for version in catalogue.forms_for_station(station):
                for _ in range(_wanted(version, shift)):
                    if at > stop:
                        break  # keep each record inside its shift and the clock moving forward
                    last = agenda.until(at, _sign_due(pending, signers, at, last))
                    with frozen_clock(at):
                        submission = submissions.start_submission(str(uuid.UUID(int=rng.getrandbits(128))),
                                                                  version.id, station.id, actor)
                    at = _fill(submission, actor, rng, at) + timedelta(minutes=2)
                    with frozen_clock(at):
                        versions.submit(submission, actor)
                    last = at
                    if supervisor is not None:
                        floor.plan_deviation_steps(agenda, submission.id, supervisor, at, now, rng)
                    heapq.heappush(pending, (at + timedelta(minutes=rng.randint(30, 240)), count, submission))
                    count += 1
                    at += timedelta(minutes=rng.randint(2, 10))
    floor.current_state(agenda, operators[0], now)
    last = _sign_due(pending, signers, now - timedelta(minutes=1), last)
    agenda.until(now - timedelta(minutes=1), last)
    return count
