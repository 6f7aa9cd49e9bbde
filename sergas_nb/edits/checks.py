"""Bulk edits' value checks: they live in the core (``sergas_nb._checks``), where a lost write is
read back and compared by the same rules; this module keeps the name edits and the assistant use."""

from sergas_nb._checks import (
    LOOKUP_TYPES,
    NOT_EDITABLE_TYPES,
    answered_json_value,
    check_ids,
    field_map,
    field_problems,
    is_lookup,
    is_missing,
    same_value,
    to_json_value,
    value_problems,
)

__all__ = [
    "LOOKUP_TYPES",
    "NOT_EDITABLE_TYPES",
    "answered_json_value",
    "check_ids",
    "field_map",
    "field_problems",
    "is_lookup",
    "is_missing",
    "same_value",
    "to_json_value",
    "value_problems",
]
