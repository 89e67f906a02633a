"""The words of deviations: the generated statement of a failing answer, and the rows pages and PDFs print."""
from datetime import datetime
from typing import Any, Mapping

from app.items import item_type
from app.models import Answer, Deviation, Submission, User
from app.models.deviation import ACKNOWLEDGED, CLOSED, OPEN, RESOLVED
from app.services.core.site import site_zone
from app.services.floor import evaluation

STATUS_WORDS = {OPEN: "Open", ACKNOWLEDGED: "Acknowledged", RESOLVED: "Resolved", CLOSED: "Closed"}
DECISION_WORDS = {"continue": "Continue", "adjust": "Adjust", "hold": "Hold", "quarantine": "Quarantine",
                  "stop_line": "Stop line", "rework": "Rework", "scrap": "Scrap"}
SOURCE_WORDS = {"answer": "Raised by a failing answer", "manual": "Raised by hand",
                "correction": "Raised by a correction"}
# What an answer that no longer fails is, in the words of the automatic resolution.
STATE_WORDS = {"ok": "within spec", "warn": "within spec, in the warning band", "na": "not applicable",
               "info": "no longer failing"}


SEARCHED_FIELDS = ("what_happened", "cause_category", "cause", "immediate_action", "options_considered",
                   "constraints", "decision_notes", "resolution")


def search_words(deviation: Deviation) -> str:
    """The text a deviation is found by: what happened, its cause, action, options, constraints, notes, resolution."""
    return " ".join(value for name in SEARCHED_FIELDS if (value := getattr(deviation, name)))


def local_time(moment: datetime) -> str:
    """'06:42 CST': the time in the site's zone as the wall clock shows it."""
    return moment.astimezone(site_zone()).strftime("%H:%M %Z")


def value_text(item: Mapping[str, Any], value: Any) -> str:
    """An answer in words: '171.0 bar', 'Pass', 'Some joints unmarked', '50.1, 56.2 N·m'."""
    if value is None or value == "" or value == []:
        return "nothing"
    return item_type(item).answer_text(item, value)


def answer_statement(submission: Submission, item: Mapping[str, Any], answer: Answer, operator: User) -> str:
    """'Hydraulic pressure 171.0 bar, spec 140–160 bar, Press 1, Ann Operator, 06:42 CST'."""
    values = {a.item_name: a.value for a in submission.answers}
    what = item_type(item).failure_text(item, answer.value, values)
    return (f"{what}, {submission.station.name}, {operator.printed_name}, "
            f"{local_time(answer.answered_at)}")


def correction_statement(submission: Submission, item: Mapping[str, Any], value: Any, corrector: User,
                         version: int, at: datetime, answers: Mapping[str, Any] | None = None) -> str:
    """'Hydraulic pressure 171.0 bar, spec 140–160 bar, Press 1, corrected by Sam Super in version 2, 09:10 CST'."""
    what = item_type(item).failure_text(item, value, answers or {})
    return (f"{what}, {submission.station.name}, corrected by {corrector.printed_name} "
            f"in version {version}, {local_time(at)}")


def closing_words(item: Mapping[str, Any], value: Any, state: str, visible: bool) -> str:
    """Why an open answer deviation closed itself before submission."""
    if not visible:
        return "Item no longer asked (its condition is not met) before submission"
    if state == "unanswered":
        return "Answer cleared before submission"
    return f"Answer changed to {value_text(item, value)} ({STATE_WORDS.get(state, state)}) before submission"


def item_labels(submission: Submission | None) -> dict[str, str]:
    """Item name → label of the submission's form."""
    if submission is None:
        return {}
    return {item["name"]: item["label"] for _s, item in evaluation.iter_items(submission.form_version.definition)}


def _name(user: User | None) -> str | None:
    return user.printed_name if user else None


def _at(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def print_row(deviation: Deviation, labels: Mapping[str, str]) -> dict[str, Any]:
    """Everything the record PDF prints of a deviation, as plain JSON values (its digest keys the stored PDF)."""
    return {
        "number": deviation.id, "status": STATUS_WORDS[deviation.status], "source": SOURCE_WORDS[deviation.source],
        "item_label": labels.get(deviation.item_name or "", deviation.item_name),
        "what": deviation.what_happened, "raised_by": _name(deviation.raised_by), "raised_at": _at(deviation.raised_at),
        "cause_category": deviation.cause_category, "cause": deviation.cause,
        "immediate_action": deviation.immediate_action,
        "acknowledged_by": _name(deviation.acknowledged_by), "acknowledged_at": _at(deviation.acknowledged_at),
        "options_considered": deviation.options_considered, "constraints": deviation.constraints,
        "decision": DECISION_WORDS.get(deviation.decision or ""), "decision_notes": deviation.decision_notes,
        "decided_by": _name(deviation.decided_by), "decided_at": _at(deviation.decided_at),
        "resolution": deviation.resolution, "resolved_by": _name(deviation.resolved_by),
        "resolved_at": _at(deviation.resolved_at),
        "closed_by": _name(deviation.closed_by), "closed_at": _at(deviation.closed_at),
    }
