"""Zoho's search criteria grammar, compiled once into a record predicate.

    ((Account_Name:starts_with:Zyl)and((Annual_Revenue:greater_than:1000000)or(Industry:in:Retail,Banking)))

A hand-written recursive-descent reader (no grammar library): the value part is free text where
only a backslash-escaped ``(``, ``)`` or ``,`` is literal, which is awkward to express as tokens.
The route passes the URL-decoded text. Facts: Zoho's search-records docs (v8),
Zoho's module_search OpenAPI file (error codes and detail shapes).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sergas_nb.emulator.query.values as V
from sergas_nb.emulator.errors import EmulatorError

Record = dict[str, Any]
Predicate = Callable[[Record], bool]

# Search-records docs and the reference: at most 10 conditions. Zoho's OpenAPI file spells the code
# CRITERIA_LIMIT_EXCEEDED (its sample message names 15; we follow the documented 10).
MAX_CONDITIONS = 10
MAX_IN_VALUES = 100  # module_search OAS: 'Only 100 values are allowed in "IN" criteria'
MIN_VALUE_CHARS = 2  # reference: values under 2 characters are INVALID_DATA
INVALID_QUERY_MESSAGE = "Invalid query formed"
# Brackets nested deeper than this are refused with Zoho's 400 before any recursion could run out of
# stack: ten conditions never need more than a few levels, so no meaningful criteria comes near it.
MAX_NESTING = 50

_COMPARE_OPS = ("equals", "not_equal", "greater_than", "greater_equal", "less_than", "less_equal", "between", "in")
_TEXT_OPS = ("equals", "not_equal", "starts_with", "in")
_CHOICE_OPS = ("equals", "not_equal", "in")
_BOOL_OPS = ("equals", "not_equal")
_LIST_OPS = ("in", "between")


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    values: tuple[str, ...]  # unescaped; one item unless the operator takes a list


@dataclass(frozen=True)
class Group:
    operator: str  # "and" | "or"
    children: tuple[Condition | Group, ...]


Node = Condition | Group


def _malformed(reason: str, api_name: str = "criteria") -> EmulatorError:
    return EmulatorError("INVALID_QUERY", INVALID_QUERY_MESSAGE, {"reason": reason, "api_name": api_name})


class _Reader:
    """Recursive descent over the criteria text; ``and`` binds tighter than ``or`` at one level."""

    _CONJ = re.compile(r"(and|or)(?=[\s(])", re.IGNORECASE)

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0

    def parse(self) -> Node:
        self._skip()
        if not self.text.strip():
            raise _malformed("criteria is empty")
        node = self._expression()
        self._skip()
        if self.pos != len(self.text):
            raise _malformed(f"unexpected text at position {self.pos + 1}")
        return node

    def _skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _expression(self) -> Node:
        terms = [self._group()]
        joins: list[str] = []
        while True:
            self._skip()
            match = self._CONJ.match(self.text, self.pos)
            if not match:
                break
            self.pos = match.end()
            self._skip()
            joins.append(match.group(1).lower())
            terms.append(self._group())
        if not joins:
            return terms[0]
        or_parts: list[list[Node]] = [[terms[0]]]
        for join, term in zip(joins, terms[1:], strict=False):
            if join == "and":
                or_parts[-1].append(term)
            else:
                or_parts.append([term])
        ands = [part[0] if len(part) == 1 else Group("and", tuple(part)) for part in or_parts]
        return ands[0] if len(ands) == 1 else Group("or", tuple(ands))

    def _group(self) -> Node:
        if self.pos >= len(self.text) or self.text[self.pos] != "(":
            raise _malformed(f"expected '(' at position {self.pos + 1}")
        self.pos += 1
        self._skip()
        if self.pos < len(self.text) and self.text[self.pos] == "(":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise _malformed(f"brackets nested deeper than {MAX_NESTING} levels")
            node = self._expression()
            self.depth -= 1
            self._skip()
            if self.pos >= len(self.text) or self.text[self.pos] != ")":
                raise _malformed(f"expected ')' at position {self.pos + 1}")
            self.pos += 1
            return node
        return self._condition()

    def _condition(self) -> Condition:
        """``Field:operator:value)`` (the opening bracket is already read; consumes the closing one)."""
        field = self._until_colon("field")
        operator = self._until_colon("operator").lower()
        parts: list[str] = []
        current: list[str] = []
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == "\\" and self.pos + 1 < len(text):
                current.append(text[self.pos + 1])  # \( \) \, (and any other escaped char) are literal
                self.pos += 2
                continue
            if char == ")":
                self.pos += 1
                parts.append("".join(current))
                return Condition(field, operator, tuple(part.strip() for part in parts))
            if char == "," and operator in _LIST_OPS:
                parts.append("".join(current))
                current = []
            elif char == "(":
                raise _malformed(f"unescaped '(' in the value of {field}", field)
            else:
                current.append(char)
            self.pos += 1
        raise _malformed(f"missing ')' after the condition on {field}", field)

    def _until_colon(self, what: str) -> str:
        end = self.text.find(":", self.pos)
        stop = self.text.find(")", self.pos)
        if end < 0 or (0 <= stop < end):
            raise _malformed(f"expected Field:operator:value, the {what} is missing")
        token = self.text[self.pos : end].strip()
        if not token or "(" in token:
            raise _malformed(f"expected Field:operator:value, the {what} is missing")
        self.pos = end + 1
        return token


def parse_criteria(text: str) -> Node:
    """The criteria text as a tree of Group/Condition (raises INVALID_QUERY if malformed)."""
    return _Reader(text).parse()


def _conditions(node: Node) -> Iterable[Condition]:
    if isinstance(node, Condition):
        yield node
    else:
        for child in node.children:
            yield from _conditions(child)


def compile_criteria(text: str, fields: dict[str, dict]) -> Predicate:
    """Compile ``criteria`` for a module whose /settings/fields items are ``fields`` (by API name)."""
    tree = parse_criteria(text)
    count = sum(1 for _ in _conditions(tree))
    if count > MAX_CONDITIONS:
        raise EmulatorError(
            "CRITERIA_LIMIT_EXCEEDED",
            f"no of criterium that can be given exceed the limit {MAX_CONDITIONS}",
            {"limit": MAX_CONDITIONS, "given": count},
        )
    return _compile(tree, fields)


def _compile(node: Node, fields: dict[str, dict]) -> Predicate:
    if isinstance(node, Condition):
        return _compile_condition(node, fields)
    parts = tuple(_compile(child, fields) for child in node.children)
    if node.operator == "and":
        return lambda record: all(part(record) for part in parts)
    return lambda record: any(part(record) for part in parts)


def _resolve_field(name: str, fields: dict[str, dict]) -> dict[str, Any]:
    field = V.find_field(fields, name)
    if field is None:
        raise EmulatorError(
            "INVALID_QUERY", INVALID_QUERY_MESSAGE, {"reason": "invalid field api name", "api_name": name}
        )
    return field


def _allowed_operators(data_type: str) -> tuple[str, ...]:
    if data_type in V.NUMERIC or data_type in V.DATE or data_type in V.DATETIME or data_type == "id":
        return _COMPARE_OPS
    if data_type in V.TEXT:
        return _TEXT_OPS
    if data_type in V.PICKLIST or data_type in V.MULTI_PICKLIST or data_type in V.USER_LOOKUP or data_type in V.LOOKUP:
        return _CHOICE_OPS
    if data_type in V.BOOLEAN:
        return _BOOL_OPS
    return ()


def _compile_condition(cond: Condition, fields: dict[str, dict]) -> Predicate:
    field = _resolve_field(cond.field, fields)
    api = str(field.get("api_name") or cond.field)
    data_type = V.effective_type(field)
    op = cond.operator
    if op not in _allowed_operators(data_type):
        raise EmulatorError(
            "INVALID_QUERY",
            INVALID_QUERY_MESSAGE,
            {"operator": op, "reason": "invalid operator found", "api_name": api},
        )
    values = cond.values
    if op == "in" and len(values) > MAX_IN_VALUES:
        raise EmulatorError(
            "INVALID_QUERY",
            f'Only {MAX_IN_VALUES} values are allowed in "IN" criteria',
            {"api_name": api, "param_name": "criteria"},
        )
    if op == "between" and len(values) != 2:
        raise EmulatorError(
            "INVALID_QUERY",
            INVALID_QUERY_MESSAGE,
            {"reason": "between needs two values", "api_name": api, "value": ",".join(values)},
        )
    if any(value == "" for value in values):
        raise EmulatorError(
            "INVALID_QUERY", INVALID_QUERY_MESSAGE, {"reason": "value is empty", "api_name": api, "value": ""}
        )
    if data_type in V.TEXT:
        return _text_predicate(api, data_type, op, values)
    if data_type in V.BOOLEAN:
        return _bool_predicate(api, op, values[0], data_type)
    if data_type in V.PICKLIST or data_type in V.MULTI_PICKLIST:
        return _choice_predicate(api, op, values, multi=data_type in V.MULTI_PICKLIST)
    if data_type in V.USER_LOOKUP or data_type in V.LOOKUP:
        return _lookup_predicate(api, op, values)
    return _ordered_predicate(api, data_type, op, values)


def _negate(op: str, predicate: Predicate) -> Predicate:
    return (lambda record: not predicate(record)) if op == "not_equal" else predicate


def _text_predicate(api: str, data_type: str, op: str, values: tuple[str, ...]) -> Predicate:
    for value in values:
        if len(value) < MIN_VALUE_CHARS:
            raise EmulatorError(
                "INVALID_DATA",
                f"the value should have at least {MIN_VALUE_CHARS} characters",
                {"api_name": api, "value": value},
            )
    lowered = tuple(value.casefold() for value in values)
    if op == "starts_with":
        prefix = lowered[0]
        return lambda record: isinstance(x := record.get(api), str) and x.casefold().startswith(prefix)
    if data_type in ("text", "textarea", "autonumber"):
        # Search is index based: on free text, equals means "contains this word/phrase".
        pattern = re.compile("|".join(rf"(?<!\w){re.escape(v)}(?!\w)" for v in values), re.IGNORECASE)
        matches: Predicate = lambda record: isinstance(x := record.get(api), str) and pattern.search(x) is not None
    else:  # email / phone / website: the whole value, ignoring case
        wanted = frozenset(lowered)
        matches = lambda record: isinstance(x := record.get(api), str) and x.casefold() in wanted
    return _negate(op, matches)


def _bool_predicate(api: str, op: str, raw: str, data_type: str) -> Predicate:
    value = V.parse_boolean(raw)
    if value is None:
        raise _bad_value(api, data_type, raw)
    matches: Predicate = lambda record: record.get(api) is value
    return _negate(op, matches)


def _choice_predicate(api: str, op: str, values: tuple[str, ...], multi: bool) -> Predicate:
    wanted = frozenset(value.casefold() for value in values)
    if multi:
        matches: Predicate = lambda record: any(
            isinstance(item, str) and item.casefold() in wanted for item in (record.get(api) or ())
        )
    else:
        matches = lambda record: isinstance(x := record.get(api), str) and x.casefold() in wanted
    return _negate(op, matches)


def _lookup_predicate(api: str, op: str, values: tuple[str, ...]) -> Predicate:
    """Lookups and owners match by record/user id, or by name or email (ignoring case)."""
    ids = frozenset(values)
    texts = frozenset(value.casefold() for value in values)

    def matches(record: Record) -> bool:
        ref = record.get(api)
        if not isinstance(ref, dict):
            return False
        if ref.get("id") in ids:
            return True
        name, email = ref.get("name"), ref.get("email")
        return (isinstance(name, str) and name.casefold() in texts) or (
            isinstance(email, str) and email.casefold() in texts
        )

    return _negate(op, matches)


def _bad_value(api: str, data_type: str, raw: str) -> EmulatorError:
    return EmulatorError(
        "INVALID_QUERY",
        INVALID_QUERY_MESSAGE,
        {
            "expected_data_type": data_type,
            "reason": "invalid value for the field's data type",
            "api_name": api,
            "value": raw,
        },
    )


def _typed(api: str, data_type: str, raw: str) -> Any:
    parsed: Any
    if data_type in V.DATE:
        parsed = V.parse_date(raw)
    elif data_type in V.DATETIME:
        parsed = V.parse_datetime(raw)
    elif data_type == "id":
        parsed = V.parse_id(raw)
    else:
        parsed = V.parse_number(raw, data_type)
    if parsed is None:
        raise _bad_value(api, data_type, raw)
    return parsed


def _ordered_predicate(api: str, data_type: str, op: str, values: tuple[str, ...]) -> Predicate:
    """Numbers, dates, datetimes and ids: dates/datetimes compare as normalised strings."""
    typed = [_typed(api, data_type, raw) for raw in values]
    if data_type == "id":
        get: Callable[[Record], Any] = lambda record: (
            V.id_key(record.get("id")) if record.get("id") is not None else None
        )
    elif data_type in V.DATE or data_type in V.DATETIME:
        get = lambda record: x if isinstance(x := record.get(api), str) else None
    else:
        get = lambda record: x if isinstance(x := record.get(api), (int, float)) and not isinstance(x, bool) else None
    if op in ("equals", "not_equal", "in"):
        wanted = frozenset(typed)
        matches: Predicate = lambda record: (x := get(record)) is not None and x in wanted
        return _negate(op, matches)
    if op == "between":
        low, high = typed
        return lambda record: (x := get(record)) is not None and low <= x <= high
    value = typed[0]
    return V.ordered(get, _ORDER_OP[op], value)


_ORDER_OP = {"greater_than": ">", "greater_equal": ">=", "less_than": "<", "less_equal": "<="}


# --- the other three search parameters -------------------------------------------------------

_WORD_TYPES = V.TEXT | V.PICKLIST | V.MULTI_PICKLIST


def _check_length(param: str, value: str) -> str:
    value = value.strip()
    if len(value) < MIN_VALUE_CHARS:
        raise EmulatorError(
            "INVALID_DATA",
            f"the value should have at least {MIN_VALUE_CHARS} characters",
            {"param_name": param, "value": value},
        )
    return value


def _names_of(fields: dict[str, dict], types: frozenset[str]) -> tuple[str, ...]:
    return tuple(name for name, field in fields.items() if V.effective_type(field) in types)


def word_matcher(word: str, fields: dict[str, dict]) -> Predicate:
    """``word=``: the word (or phrase) appears as a whole word in any text, picklist or lookup name."""
    word = _check_length("word", word)
    pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)
    plain = _names_of(fields, _WORD_TYPES)
    refs = _names_of(fields, V.LOOKUP | V.USER_LOOKUP)

    def matches(record: Record) -> bool:
        for name in plain:
            value = record.get(name)
            if isinstance(value, str):
                if pattern.search(value):
                    return True
            elif isinstance(value, list) and any(isinstance(item, str) and pattern.search(item) for item in value):
                return True
        for name in refs:
            ref = record.get(name)
            if isinstance(ref, dict) and isinstance(ref.get("name"), str) and pattern.search(ref["name"]):
                return True
        return False

    return matches


def email_matcher(email: str, fields: dict[str, dict]) -> Predicate:
    """``email=``: exact match (ignoring case) against every email field of the module."""
    wanted = _check_length("email", email).casefold()
    names = _names_of(fields, frozenset({"email"}))
    return lambda record: any(isinstance(x := record.get(n), str) and x.casefold() == wanted for n in names)


def phone_matcher(phone: str, fields: dict[str, dict]) -> Predicate:
    """``phone=``: the digits given appear in a phone field's digits (formatting is ignored)."""
    raw = _check_length("phone", phone)
    digits = re.sub(r"\D", "", raw)
    if len(digits) < MIN_VALUE_CHARS:
        # Only the digits count: fewer than two is the reference's "value under 2 characters".
        raise EmulatorError(
            "INVALID_DATA",
            f"the value should have at least {MIN_VALUE_CHARS} characters",
            {"param_name": "phone", "value": digits},
        )
    names = _names_of(fields, frozenset({"phone"}))
    strip = re.compile(r"\D").sub
    return lambda record: any(isinstance(x := record.get(n), str) and digits in strip("", x) for n in names)
