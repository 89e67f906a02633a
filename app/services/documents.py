"""Reading frozen record documents: answers as the item macros expect them, and re-judging items."""
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from app.services import evaluation


@dataclass(frozen=True)
class DocAnswer:
    """An answer as frozen in a record version, shaped like a draft Answer for the item macros."""

    value: Any
    reason: str | None
    action: str | None
    answered_by: SimpleNamespace
    answered_at: datetime | None


def document_answers(document: dict) -> dict[str, DocAnswer]:
    """Answered, visible items of a document keyed by item name."""
    answers = {}
    for item in document["items"]:
        if item["visible"] and item["answered_by"] is not None:
            at = datetime.fromisoformat(item["answered_at"]) if item["answered_at"] else None
            answers[item["item"]] = DocAnswer(item["value"], item["reason"], item["action"],
                                              SimpleNamespace(**item["answered_by"]), at)
    return answers


def document_values(document: dict) -> dict[str, Any]:
    """Values of the visible items of a document."""
    return {i["item"]: i["value"] for i in document["items"] if i["visible"] and i["value"] is not None}


def rejudge(definition: dict, document: dict, values: dict[str, Any]) -> None:
    """Apply new values to a document in place: visibility, values, verdicts and the summary."""
    shown = evaluation.visible_names(definition, values)
    by_name = {item["name"]: item for _section, item in evaluation.iter_items(definition)}
    for entry in document["items"]:
        visible = entry["item"] in shown
        value = values.get(entry["item"]) if visible else None
        entry["visible"], entry["value"] = visible, value
        entry["verdict"] = evaluation.evaluate(by_name[entry["item"]], value, values).to_dict()
    document["summary"] = {state: sum(1 for i in document["items"] if i["verdict"]["state"] == state)
                           for state in ("ok", "warn", "fail", "na")}
