"""Submitting a draft: what is missing, and freezing it as RecordVersion 1 (canonical JSON + sha256)."""
from dataclasses import dataclass

from sqlalchemy import select

from app.canonical import canonical_json, sha256_hex
from app.errors import DomainError
from app.extensions import db
from app.models import RecordVersion, Site, Submission
from app.models.submission import SUBMITTED
from app.models.types import utcnow
from app.services import audit, board_feed, evaluation
from app.services.audit import Actor
from app.services.signing import refresh_awaiting
from app.services.submissions import answer_values, answers_by_item, require_draft

LIMIT_KEYS = ("nominal", "lsl", "usl", "warn_low", "warn_high")


@dataclass(frozen=True)
class Missing:
    """Something that stops a submit: the item, its label and what it needs."""

    item: str
    label: str
    need: str


@dataclass(frozen=True)
class Progress:
    """What submit asks for (required answers, reasons and actions for failures): given, out of all."""

    answered: int
    required: int
    unanswered: tuple[str, ...] = ()  # required items with no answer yet: the tablet counts those it keeps offline

    @property
    def percent(self) -> int:
        """0–100."""
        return 100 if not self.required else round(100 * self.answered / self.required)


def _required_visible(submission: Submission):
    values = answer_values(submission)
    for _section, item in evaluation.iter_items(submission.form_version.definition):
        if item["required"] and evaluation.is_visible(item, values):
            yield item, values.get(item["name"])


def progress(submission: Submission) -> Progress:
    """How far the operator is, counted over what submit asks for (so it agrees with missing)."""
    asks = _asks(submission)
    unanswered = tuple(need.item for need, given in asks if not given and need.need == "an answer")
    return Progress(sum(1 for _need, given in asks if given), len(asks), unanswered)


def missing(submission: Submission) -> list[Missing]:
    """Unanswered required items, and failures without the explanation on_fail asks for."""
    return [need for need, given in _asks(submission) if not given]


def _asks(submission: Submission) -> list[tuple[Missing, bool]]:
    # One list for progress and missing: what submit asks for, each with whether it is given yet.
    values = answer_values(submission)
    result = [(Missing(item["name"], item["label"], "an answer"), evaluation.is_answered(item, value))
              for item, value in _required_visible(submission)]
    for name, answer in answers_by_item(submission).items():
        item = next(i for _s, i in evaluation.iter_items(submission.form_version.definition) if i["name"] == name)
        # Judged again: a scan's verdict moves when the answer it expects changes after it was saved.
        if not evaluation.is_visible(item, values) or evaluation.evaluate(item, answer.value, values).state != "fail":
            continue
        needs = (item.get("on_fail") or {}).get("require", ["reason"])
        if "reason" in needs:
            result.append((Missing(name, item["label"], "a reason for the failure"), bool(answer.reason)))
        if "action" in needs:
            result.append((Missing(name, item["label"], "the action taken"), bool(answer.action)))
    return result


def _person(user) -> dict | None:
    return None if user is None else {"username": user.username, "printed_name": user.printed_name}


def record_document(submission: Submission, version: int, site: Site) -> dict:
    """The frozen record: header, every item with value, limits that applied, verdict and explanation."""
    values, answers = answer_values(submission), answers_by_item(submission)
    form = submission.form_version
    items = []
    for section, item in evaluation.iter_items(form.definition):
        answer = answers.get(item["name"])
        visible = evaluation.is_visible(item, values)
        verdict = evaluation.evaluate(item, answer.value if answer and visible else None, values)
        items.append({
            "section": section["name"], "item": item["name"], "type": item["type"], "label": item["label"],
            "visible": visible, "value": answer.value if answer and visible else None,
            "unit": item.get("unit"), "limits": {k: item.get(k) for k in LIMIT_KEYS} if item["type"] == "number" else None,
            "verdict": verdict.to_dict(),
            "reason": answer.reason if answer else None, "action": answer.action if answer else None,
            "answered_by": _person(answer.answered_by) if answer else None,
            "answered_at": answer.answered_at.isoformat() if answer else None,
        })
    station = submission.station
    return {
        "record_id": submission.id, "version": version,
        "form": {"id": form.form_id, "version": form.version, "title": form.title, "sha256": form.sha256},
        "site": {"name": site.name, "timezone": site.timezone},
        "area": station.line.area.name, "line": station.line.name, "station": station.name,
        "shift": {"date": submission.shift_date.isoformat(), "code": submission.shift_code},
        "device": submission.device.name if submission.device else None,
        "started_by": _person(submission.started_by), "started_at": submission.started_at.isoformat(),
        "submitted_by": _person(submission.submitted_by), "submitted_at": submission.submitted_at.isoformat(),
        "items": items,
        "summary": {state: sum(1 for i in items if i["verdict"]["state"] == state) for state in ("ok", "warn", "fail", "na")},
    }


def search_words(document: dict) -> str:
    """The lowercase text free-text search looks in: form, place, people, explanations."""
    words = [document["form"]["title"], document["form"]["id"], document["area"], document["line"], document["station"],
             (document.get("started_by") or {}).get("printed_name", "")]
    words += [i.get("reason") or "" for i in document["items"]] + [i.get("action") or "" for i in document["items"]]
    return " ".join(w for w in words if w).lower()


def add_version(submission: Submission, document: dict, actor: Actor, reason: str | None = None) -> RecordVersion:
    """Freeze document as the submission's next version and keep its search columns in step."""
    body = canonical_json(document)
    version = RecordVersion(submission=submission, version=document["version"], canonical_json=body,
                            sha256=sha256_hex(body), created_by_id=actor.user_id, reason=reason)
    db.session.add(version)
    submission.current_version, submission.current_sha256 = version.version, version.sha256
    submission.fail_count = document["summary"].get("fail", 0)
    submission.warn_count = document["summary"].get("warn", 0)
    submission.search_text = search_words(document)
    db.session.flush()
    return version


def submit(submission: Submission, actor: Actor) -> RecordVersion:
    """Freeze a complete draft as RecordVersion 1; after this no route changes an answer."""
    require_draft(submission)
    gaps = missing(submission)
    if gaps:
        raise DomainError("Some items still need attention.", {g.item: [f"Needs {g.need}."] for g in gaps})
    submission.status, submission.submitted_at, submission.submitted_by_id = SUBMITTED, utcnow(), actor.user_id
    db.session.flush()
    site = db.session.scalar(select(Site))
    version = add_version(submission, record_document(submission, 1, site), actor)
    refresh_awaiting(submission)
    audit.record(actor, "submission.submitted", "submission", submission.id, after={"version": 1, "sha256": version.sha256})
    board_feed.touch("submitted", submission.station_id)  # done/due/overdue counts change on the board
    db.session.commit()
    return version
