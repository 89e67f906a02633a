"""Frozen record documents for corrections: their values, and re-judging items after a change."""
from typing import Any

from app.services import evaluation


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
