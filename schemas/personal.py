"""Personal data and how it leaves a node's API: which fields of which kind are personal, and
how each is shown to someone who has not revealed the record (PIPL: sensitive personal
information only to who needs it, and only when needed).

One table, `PERSONAL`: kind → field → rule. A field path may step into a list of objects with
`[]` (`members[].phone`). Rules: `id` keeps the region (6) and the last 4 characters
(632322********0035), `phone` the first 3 and last 4 (138****0001), `withheld` leaves the field
out. `masked(kind, data)` applies it, on every record the API returns unless revealed;
issue 14's per-tier projection reads the same table.
"""

from typing import Any, Literal

from schemas.records import RecordRead

Rule = Literal["id", "phone", "withheld"]

PERSONAL: dict[str, dict[str, Rule]] = {
    "person": {"id_number": "id", "phone": "phone"},
    "household": {"head_id_number": "id"},
    "key_person": {"id_number": "id", "category": "withheld", "note": "withheld"},
    "grid": {"leader_phone": "phone"},
    "governance_org": {"members[].phone": "phone"},
}
MASK = "*"


def mask_id(value: str) -> str:
    """632322198807150035 → 632322********0035 (region and last four kept). A keyed hash held
    above the village (h:…:0035, federation/privacy) is shown as it is: it reveals nothing."""
    if value.startswith("h:"):
        return value
    if len(value) <= 10:
        return MASK * len(value)
    return value[:6] + MASK * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """13800000001 → 138****0001; 0973-8721234 → 097*****1234."""
    if len(value) <= 7:
        return MASK * len(value)
    return value[:3] + MASK * (len(value) - 7) + value[-4:]


_MASKERS = {"id": mask_id, "phone": mask_phone}


def _apply(data: dict[str, Any], steps: list[str], rule: Rule, path: str, out: list[str]) -> None:
    head, rest = steps[0], steps[1:]
    if head.endswith("[]"):
        items = data.get(head[:-2])
        if isinstance(items, list):
            for i, item in enumerate(items):
                if isinstance(item, dict):
                    _apply(item, rest, rule, f"{path}{head[:-2]}.{i}.", out)
        return
    if head not in data or data[head] is None:
        return
    if rule == "withheld":
        del data[head]
    elif isinstance(data[head], str):
        data[head] = _MASKERS[rule](data[head])
    else:
        data[head] = MASK * 4
    out.append(f"data.{path}{head}")


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def masked(kind: str, data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`data` as shown unrevealed, and the paths of the fields masked or left out."""
    rules = PERSONAL.get(kind)
    if not rules or not data:
        return data, []
    shown = _copy(data)
    paths: list[str] = []
    for field, rule in rules.items():
        _apply(shown, field.split("."), rule, "", paths)
    return shown, paths


def shown(record: RecordRead) -> RecordRead:
    """A record as it leaves the node (API answers, exports, CLI listings): personal fields
    masked and listed in `masked`. Revealing one in clear is an audited act of its own."""
    data, paths = masked(record.kind, record.data)
    return record.model_copy(update={"data": data, "masked": paths}) if paths else record


def looks_masked(kind: Any, data: Any) -> bool:
    """Whether a record as sent carries a masked value (one a client got back and returned)."""
    rules = PERSONAL.get(kind) if isinstance(kind, str) else None
    if not rules or not isinstance(data, dict):
        return False
    return any(
        rule != "withheld" and MASK in str(data.get(field) or "")
        for field, rule in rules.items()
        if "[]" not in field
    )


def _restore(sent: Any, stored: Any, steps: list[str], rule: Rule) -> None:
    if not isinstance(sent, dict) or not isinstance(stored, dict):
        return
    head, rest = steps[0], steps[1:]
    if head.endswith("[]"):
        pairs = zip(sent.get(head[:-2]) or [], stored.get(head[:-2]) or [], strict=False)
        for sent_item, stored_item in pairs:
            _restore(sent_item, stored_item, rest, rule)
        return
    if head not in stored or stored[head] is None:
        return
    if rule == "withheld":
        sent.setdefault(head, stored[head])
    elif isinstance(stored[head], str) and sent.get(head) == _MASKERS[rule](stored[head]):
        sent[head] = stored[head]


def restored(kind: str, sent: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """`sent` (a replacement of a record shown masked) with what the masking hid put back: a
    field sent exactly as it was shown masked, or a withheld field left out, keeps its stored
    value — so a client can edit a record without revealing it."""
    rules = PERSONAL.get(kind)
    if not rules:
        return sent
    merged = _copy(sent)
    for field, rule in rules.items():
        _restore(merged, stored, field.split("."), rule)
    return merged
