"""Canonical JSON and hashing: one spelling of a document, so its sha256 is stable."""
import hashlib
import json
from typing import Any


def canonical_json(obj: Any) -> str:
    """Serialise with sorted keys, no insignificant white space, UTF-8 text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_hex(text: str | bytes) -> str:
    """Hex sha256 of text (encoded as UTF-8) or bytes."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()
