"""Safe bulk edits: plan → diff → validate → apply in journaled batches → undo.

    plan = EditPlan.build(client, "Rating", "Active", criteria="(Industry:equals:Technology)")
    plan = EditPlan.from_edits(client, edited[["id", "Rating", "Account_Status"]])  # several fields
    plan.diff(); plan.summary(); plan.validate(client)
    result = plan.apply(client, journal=database_url)        # ApplyResult, one row per record and field
    undo(plan, client, journal=database_url)

This module builds plans; runs.py applies and undoes them, reconciling with the CRM first.

Plan ids are ``<Module>-<Field>-<12 hex of a content hash>`` over the (id, old, new) rows (fields
joined by "+" for a plan over several fields). Why a
content hash rather than a random uuid: rerunning the same notebook cell against the same CRM state
rebuilds the *same* plan id, so the journal groups the runs and a re-apply finds what already
succeeded instead of starting a second, unrelated plan; the module and field prefix keeps ids
readable in the journal. Two different edits never share an id (different rows, different hash).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import TYPE_CHECKING, Any

import pandas as pd

from sergas_nb import frames
from sergas_nb._coql import coql_module
from sergas_nb.edits import checks, runs
from sergas_nb.edits.journal import Journal
from sergas_nb.edits.results import MAX_BATCH, RESULT_COLUMNS, ApplyResult, OnConflict, _frame
from sergas_nb.edits.runs import apply, current_values, undo
from sergas_nb.errors import Problem, ZohoValidationError

if TYPE_CHECKING:
    from sergas_nb.client import ZohoClient

PLAN_COLUMNS = ["id", "field", "old", "new"]
_SUBKEYS = ("name", "email")  # X.name / X.email columns of a lookup describe it; X.id is written
NewValue = Any  # a constant, or a Callable[[pd.Series], Any] computed per selected row


# ----------------------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class Rule:
    """A named row -> new value function; ``needs`` are the other fields it reads from the row."""

    name: str
    fn: Callable[[pd.Series], Any]
    needs: tuple[str, ...] = ()
    doc: str = ""

    def __call__(self, row: pd.Series) -> Any:
        return self.fn(row)


RULES: dict[str, Rule] = {}
EDIT_RULES = RULES  # the root API's name for the registry (sn.EDIT_RULES)


def register_rule(name: str, needs: Sequence[str] = (), doc: str = "") -> Callable[[Callable[[pd.Series], Any]], Rule]:
    """Decorator: make a row function selectable by name (the notebook's ``rule`` parameter)."""

    def wrap(fn: Callable[[pd.Series], Any]) -> Rule:
        RULES[name] = Rule(name, fn, tuple(needs), doc or (fn.__doc__ or "").strip())
        return RULES[name]

    return wrap


def _text(value: Any) -> str | None:
    return None if checks.is_missing(value) else str(value)


@register_rule("strip", doc="Trim and collapse spaces in the text value; leave empty values alone.")
def _strip(row: pd.Series) -> Any:
    value = _text(row["__value__"])
    return None if value is None else " ".join(value.split())


@register_rule("title_case", doc="Title-case the text value (ACME corp -> Acme Corp).")
def _title_case(row: pd.Series) -> Any:
    value = _text(row["__value__"])
    return None if value is None else value.title()


@register_rule(
    "status_from_health",
    needs=("Health_Score",),
    doc="Active accounts whose Health_Score is below 60 become At Risk; At Risk accounts "
    "scoring 70 or more become Active; every other account is left as it is.",
)
def _status_from_health(row: pd.Series) -> Any:
    current, score = row["__value__"], row.get("Health_Score")
    if checks.is_missing(score) or checks.is_missing(current):
        return current
    if str(current) == "Active" and score < 60:
        return "At Risk"
    if str(current) == "At Risk" and score >= 70:
        return "Active"
    return current


def resolve_new(value: Any = None, rule: str | None = None) -> NewValue:
    """The notebook's parameters as a plan's ``new``: a registered rule by name, else the constant."""
    if rule:
        if rule not in RULES:
            raise ValueError(f"unknown rule {rule!r}; known: {', '.join(sorted(RULES))}")
        return RULES[rule]
    return value


# ------------------------------------------------------------------------------------------ plan
def _plan_id(module: str, field: str, rows: pd.DataFrame) -> str:
    records = rows.to_dict("records")
    if "+" in field:  # several rows per id: order by (id, field)
        content = [
            [r["id"], r["field"], r["old"], r["new"]] for r in sorted(records, key=lambda r: (r["id"], r["field"]))
        ]
    else:  # one row per id (unchanged since one-field plans, so their ids stay the same)
        content = [[r["id"], r["old"], r["new"]] for r in sorted(records, key=lambda r: r["id"])]
    body = json.dumps(
        {"module": module, "field": field, "rows": content},
        sort_keys=True,
        default=str,
    )
    return f"{module}-{field}-{hashlib.sha256(body.encode()).hexdigest()[:12]}"


def _describe_new(new: NewValue) -> str:
    if isinstance(new, Rule):
        return f"rule {new.name}: {new.doc}".strip()
    if callable(new):
        return f"rule {getattr(new, '__name__', type(new).__name__)}"
    return f"set to {json.dumps(checks.to_json_value(new), default=str)}"


def _column_of(frame: pd.DataFrame, field: str) -> pd.Series:
    """The field's values in a selected frame; lookups may come flattened as ``Field.id``."""
    if field in frame.columns:
        return frame[field]
    if f"{field}.id" in frame.columns:
        return frame[f"{field}.id"].map(lambda v: None if checks.is_missing(v) else {"id": str(v)})
    raise ValueError(f"the selection has no column {field!r} (columns: {', '.join(map(str, frame.columns))})")


@dataclass
class EditPlan:
    """Which records get which new value, for one field or several; built before anything is sent."""

    module: str
    field: str  # the field, or several joined by "+"
    rows: pd.DataFrame  # id, field, old, new (JSON-native values), only rows where old != new
    selected: int
    selection: str = "DataFrame"
    rule: str = ""
    data_type: str | None = None  # of a one-field plan
    data_types: dict[str, str | None] = dc_field(default_factory=dict)
    plan_id: str = dc_field(init=False)

    def __post_init__(self) -> None:
        self.plan_id = _plan_id(self.module, self.field, self.rows)
        if not self.data_types and "+" not in self.field:
            self.data_types = {self.field: self.data_type}

    @property
    def fields(self) -> list[str]:
        """The fields this plan edits."""
        return self.field.split("+")

    # -- building
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        field: str,
        new: NewValue,
        *,
        module: str = "Accounts",
        fields: Any = None,
        selection: str | None = None,
    ) -> EditPlan:
        """Plan from selected records (an ``id`` column and the field's column).

        ``new`` is a constant or a callable row -> new value (the row also carries the current
        value as ``__value__``). ``fields`` (field metadata) gives exact JSON conversion by type.
        """
        meta = checks.field_map(fields).get(field) if fields is not None else None
        data_type = str(meta["data_type"]) if meta else None
        if "id" not in frame.columns:
            raise ValueError("the selection has no 'id' column")
        missing = [f for f in (new.needs if isinstance(new, Rule) else ()) if f not in frame.columns]
        if missing:
            raise ValueError(f"rule {new.name} reads {', '.join(missing)}: select it too")
        current = _column_of(frame, field)
        problems: list[Problem] = []
        rows = []
        if not callable(new):  # a constant: no row Series to build (iterrows cost 0.3 s for 5,000)
            for rid, cell in zip(frame["id"].tolist(), current.tolist(), strict=True):
                old, value = checks.to_json_value(cell, data_type), checks.to_json_value(new, data_type)
                if not checks.same_value(old, value):
                    rows.append({"id": str(rid), "field": field, "old": old, "new": value})
            return cls._made(module, field, rows, frame, selection, new, data_type)
        for idx, rec in frame.iterrows():
            record_id = str(rec["id"])
            old = checks.to_json_value(current.loc[idx], data_type)
            try:
                # object: a row of string columns cannot take another type (pandas 4 will raise)
                row = rec.astype(object)
                row["__value__"] = current.loc[idx]
                value = new(row)
            except Exception as exc:  # a rule bug must name the record it failed on
                problems.append(Problem(field, f"rule failed: {type(exc).__name__}: {exc}", row=record_id))
                continue
            value = checks.to_json_value(value, data_type)
            if not checks.same_value(old, value):
                rows.append({"id": record_id, "field": field, "old": old, "new": value})
        if problems:
            raise ZohoValidationError(problems)
        return cls._made(module, field, rows, frame, selection, new, data_type)

    @classmethod
    def _made(
        cls,
        module: str,
        field: str,
        rows: list[dict[str, Any]],
        frame: pd.DataFrame,
        selection: str | None,
        new: NewValue,
        data_type: str | None,
    ) -> EditPlan:
        """The plan of ``from_frame``'s rows (a selection that names a record twice is refused)."""
        plan_rows = _frame(rows, PLAN_COLUMNS)
        dupes = plan_rows["id"][plan_rows["id"].duplicated()].unique().tolist()
        if dupes:
            raise ZohoValidationError([Problem("id", "duplicate id in the selection", row=d) for d in dupes])
        return cls(
            module=module,
            field=field,
            rows=plan_rows,
            selected=len(frame),
            selection=selection or f"DataFrame of {len(frame)} rows",
            rule=_describe_new(new),
            data_type=data_type,
        )

    @classmethod
    def from_edits(
        cls,
        client: ZohoClient,
        edited: pd.DataFrame,
        *,
        module: str = "Accounts",
        original: pd.DataFrame | None = None,
        selection: str | None = None,
    ) -> EditPlan:
        """Plan from an edited DataFrame: an ``id`` column and the columns to set (lookups as
        ``X.id``; ``X.name``/``X.email`` are ignored). Old values come from ``original`` (the frame
        before editing) or, without it, from the CRM now. Every changed cell becomes a plan row;
        the same diff, validation, journal, reconciliation and undo then apply per field."""
        if not isinstance(edited, pd.DataFrame):
            raise ZohoValidationError(
                [Problem(None, f"give the edited records as a DataFrame, not {type(edited).__name__}")]
            )
        meta = checks.field_map(client.fields(module))
        fields = _edited_fields(edited, meta)
        ids = _edited_ids(edited)
        data_types = {f: meta[f].get("data_type") for f in fields}
        if original is not None:
            before = _values_from_frame(original, ids, fields, data_types, "original")
        else:
            from sergas_nb._writes import values_by_id

            before = values_by_id(client, module, ids, fields)
            gone = [i for i in ids if i not in before]
            if gone:
                raise ZohoValidationError([Problem("id", f"no such {module} record", row=i) for i in gone])
        after = _values_from_frame(edited, ids, fields, data_types, "edited")
        problems: list[Problem] = []
        rows = []
        for rid in ids:
            for f in fields:
                old, new = before[rid].get(f), after[rid][f]
                if checks.same_value(old, new):
                    continue
                if frames.is_read_only(meta[f]):
                    problems.append(Problem(f, "read-only field cannot be edited", row=rid, value=new))
                    continue
                rows.append({"id": rid, "field": f, "old": old, "new": new})
        if problems:
            raise ZohoValidationError(problems)
        changed = [f for f in fields if any(r["field"] == f for r in rows)] or fields
        return cls(
            module=module,
            field="+".join(changed),
            rows=_frame(rows, PLAN_COLUMNS),
            selected=len(edited),
            selection=selection or f"edited DataFrame of {len(edited)} rows",
            rule=f"edited values of {', '.join(changed)}",
            data_type=data_types[changed[0]] if len(changed) == 1 else None,
            data_types={f: data_types[f] for f in changed},
        )

    @classmethod
    def build(
        cls,
        client: ZohoClient,
        field: str,
        new: NewValue,
        *,
        module: str = "Accounts",
        criteria: str | None = None,
        coql: str | None = None,
        frame: pd.DataFrame | None = None,
        extra_fields: Sequence[str] = (),
    ) -> EditPlan:
        """Select records (search ``criteria``, a ``coql`` query, or a ``frame``) and plan the edit."""
        if sum(x is not None for x in (criteria, coql, frame)) != 1:
            raise ValueError("give exactly one selection: criteria=, coql= or frame=")
        needs = [field, *extra_fields, *(new.needs if isinstance(new, Rule) else ())]
        if coql is not None:
            module = coql_module(coql)
            selected = client.coql(coql)
            missing = [f for f in needs if f not in selected.columns and f"{f}.id" not in selected.columns]
            if len(selected) and missing:
                raise ValueError(f"the COQL query must select {', '.join(missing)}")
            selection = f"COQL: {coql}"
        elif criteria is not None:
            selected = client.search(module, criteria=criteria, fields=list(dict.fromkeys(needs)))
            selection = f"search {module}: {criteria}"
        else:
            selected, selection = frame, None
        return cls.from_frame(selected, field, new, module=module, fields=client.fields(module), selection=selection)

    # -- looking at it
    @property
    def to_change(self) -> int:
        return len(self.rows)

    def diff(self) -> pd.DataFrame:
        """One row per record that will change: id, field, old, new."""
        return self.rows.copy()

    @property
    def records_to_change(self) -> int:
        return int(self.rows["id"].nunique())

    def summary(self) -> dict[str, Any]:
        """Counts: selected, to change, unchanged (old == new, skipped), and records per new value
        (per field, ``field=value``, in a plan over several fields)."""
        many = len(self.fields) > 1
        by_new = [
            (f"{f}=" if many else "") + (v if isinstance(v, str) else json.dumps(v, default=str))
            for f, v in zip(self.rows["field"], self.rows["new"], strict=True)
        ]
        return {
            "plan_id": self.plan_id,
            "module": self.module,
            "field": self.field,
            "fields": self.fields,
            "selected": self.selected,
            "to_change": self.to_change,
            "records_to_change": self.records_to_change,
            "unchanged": self.selected - self.records_to_change,
            "by_new_value": {str(k): int(v) for k, v in pd.Series(by_new, dtype=object).value_counts().items()},
        }

    def __repr__(self) -> str:
        return (
            f"EditPlan({self.plan_id}: {self.to_change} of {self.selected} {self.module} records,"
            f" {self.field} {self.rule})"
        )

    # -- checking and sending
    def validate(self, client_or_fields: Any) -> EditPlan:
        """Check every new value against each field's metadata; raise ZohoValidationError, send nothing."""
        fields = checks.field_map(
            client_or_fields.fields(self.module) if hasattr(client_or_fields, "fields") else client_or_fields
        )
        problems: list[Problem] = []
        for name in self.fields:
            field_problems = checks.field_problems(self.module, name, fields)
            if field_problems:
                problems += field_problems
                continue
            self.data_types[name] = self.data_types.get(name) or str(fields[name].get("data_type"))
            mine = self.rows[self.rows["field"] == name]
            pairs = list(zip(mine["id"].astype(str), mine["new"], strict=True))
            problems += checks.value_problems(name, fields[name], pairs)
        if len(self.fields) == 1:
            self.data_type = self.data_types.get(self.field)
        if problems:
            raise ZohoValidationError(problems)
        return self

    def apply(
        self,
        client: ZohoClient,
        *,
        journal: Journal | str | None = None,
        batch_size: int = MAX_BATCH,
        progress: bool | Callable[[int, int], None] = True,
        on_conflict: OnConflict = "skip",
        max_in_flight: int | None = None,
    ) -> ApplyResult:
        """Send the plan; see :func:`sergas_nb.edits.runs.apply`."""
        return runs.apply(
            self,
            client,
            journal=journal,
            batch_size=batch_size,
            progress=progress,
            on_conflict=on_conflict,
            max_in_flight=max_in_flight,
        )


# ------------------------------------------------------------------------------ edited frames
def _edited_fields(edited: pd.DataFrame, meta: dict[str, dict[str, Any]]) -> list[str]:
    """The fields an edited frame sets (X.id columns name lookup X), or the problems with its columns."""
    problems: list[Problem] = []
    dupes = sorted({str(c) for c in edited.columns[edited.columns.duplicated()]})
    problems += [Problem(c, "duplicate column name") for c in dupes]
    if "id" not in edited.columns:
        problems.append(Problem("id", "the edited frame has no 'id' column"))
    fields: list[str] = []
    for col in dict.fromkeys(str(c) for c in edited.columns):
        if col == "id":
            continue
        base, _, sub = col.partition(".")
        if sub and base in meta and checks.is_lookup(meta[base]):
            if sub in _SUBKEYS:
                continue  # a view of the looked-up record, not written
            if sub != "id":
                problems.append(Problem(col, "unknown field"))
                continue
        elif col not in meta:
            problems.append(Problem(col, "unknown field"))
            continue
        if base in fields:
            problems.append(Problem(col, f"given twice (as {base} and {base}.id)"))
            continue
        fields.append(base)
    if not fields and not problems:
        problems.append(Problem(None, "the edited frame has no column to change besides 'id'"))
    if problems:
        raise ZohoValidationError(problems)
    return fields


def _edited_ids(edited: pd.DataFrame) -> list[str]:
    problems: list[Problem] = []
    ids: list[str] = []
    seen: dict[str, Any] = {}
    for label, value in edited["id"].items():
        try:
            rid = frames._check_id(value)
        except frames._Bad as bad:
            problems.append(Problem("id", str(bad), row=label, value=None if checks.is_missing(value) else value))
            continue
        if rid in seen:
            problems.append(Problem("id", f"duplicate id (also in row {seen[rid]})", row=label, value=rid))
            continue
        seen[rid] = label
        ids.append(rid)
    if problems:
        raise ZohoValidationError(problems)
    return ids


def _values_from_frame(
    frame: pd.DataFrame, ids: list[str], fields: list[str], data_types: dict[str, Any], name: str
) -> dict[str, dict[str, Any]]:
    """{id: {field: JSON-native value}} of a frame (``X.id`` columns for lookups)."""
    if not isinstance(frame, pd.DataFrame) or "id" not in frame.columns:
        raise ZohoValidationError([Problem("id", f"the {name} frame needs an 'id' column")])
    if frame.columns.duplicated().any():
        raise ZohoValidationError([Problem(None, f"the {name} frame has duplicate column names")])
    by_id = frame.assign(id=frame["id"].astype(str)).drop_duplicates("id").set_index("id")
    missing = [i for i in ids if i not in by_id.index]
    absent = [f for f in fields if f not in by_id.columns and f"{f}.id" not in by_id.columns]
    problems = [Problem("id", f"not in the {name} frame", row=i) for i in missing]
    problems += [Problem(f, f"no column for this field in the {name} frame") for f in absent]
    if problems:
        raise ZohoValidationError(problems)
    out: dict[str, dict[str, Any]] = {}
    columns = {f: _column_of(by_id, f) for f in fields}
    for rid in ids:
        out[rid] = {f: checks.to_json_value(columns[f].loc[rid], data_types.get(f)) for f in fields}
    return out


def journal_entries(journal: Journal | str, plan_id: str | None = None) -> pd.DataFrame:
    """The journal rows of one plan (or all): who changed what, when, with which outcome."""
    return (journal if isinstance(journal, Journal) else Journal(journal)).entries(plan_id)


__all__ = [
    "EditPlan",
    "ApplyResult",
    "Rule",
    "RULES",
    "register_rule",
    "resolve_new",
    "apply",
    "undo",
    "current_values",
    "journal_entries",
    "Journal",
    "MAX_BATCH",
    "RESULT_COLUMNS",
    "OnConflict",
]
