"""Safe bulk edits: plan → diff → validate → apply in journaled batches → undo.

    plan = EditPlan.build(client, "Rating", "Active", criteria="(Industry:equals:Technology)")
    plan.diff(); plan.summary(); plan.validate(client)
    result = plan.apply(client, journal=database_url)        # ApplyResult, one row per record
    undo(client, plan.plan_id, journal=database_url)

Plan ids are ``<Module>-<Field>-<12 hex of a content hash>`` over the (id, old, new) rows. Why a
content hash rather than a random uuid: rerunning the same notebook cell against the same CRM state
rebuilds the *same* plan id, so the journal groups the runs and a re-apply finds what already
succeeded instead of starting a second, unrelated plan; the module and field prefix keeps ids
readable in the journal. Two different edits never share an id (different rows, different hash).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, Literal

import pandas as pd

from sergas_nb.config import load_settings
from sergas_nb.edits import checks
from sergas_nb.edits.journal import Entry, Journal, Outcome
from sergas_nb.errors import Problem, ZohoError, ZohoValidationError

MAX_BATCH = 100  # Zoho's limit for one update call
COQL_IN_LIMIT = 50  # values in one COQL "in (...)"
PLAN_COLUMNS = ["id", "field", "old", "new"]
RESULT_COLUMNS = ["id", "field", "old", "new", "status", "code", "message"]
NewValue = Any  # a constant, or a Callable[[pd.Series], Any] computed per selected row
OnConflict = Literal["skip", "overwrite"]


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
def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """Rows as a frame: old/new stay JSON-native objects (None stays None, not NaN); text as string."""
    index = pd.RangeIndex(len(rows))
    return pd.DataFrame(
        {
            c: pd.Series([r.get(c) for r in rows], index=index, dtype=object if c in ("old", "new") else "string")
            for c in columns
        },
        index=index,
    )


def _plan_id(module: str, field: str, rows: pd.DataFrame) -> str:
    body = json.dumps(
        {
            "module": module,
            "field": field,
            "rows": sorted([r["id"], r["old"], r["new"]] for r in rows.to_dict("records")),
        },
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
    """Which records get which new value for one field; built before anything is sent."""

    module: str
    field: str
    rows: pd.DataFrame  # id, field, old, new (JSON-native values), only rows where old != new
    selected: int
    selection: str = "DataFrame"
    rule: str = ""
    data_type: str | None = None
    plan_id: str = dc_field(init=False)

    def __post_init__(self) -> None:
        self.plan_id = _plan_id(self.module, self.field, self.rows)

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
        for idx, rec in frame.iterrows():
            record_id = str(rec["id"])
            old = checks.to_json_value(current.loc[idx], data_type)
            if callable(new):
                try:
                    row = rec.copy()
                    row["__value__"] = current.loc[idx]
                    value = new(row)
                except Exception as exc:  # a rule bug must name the record it failed on
                    problems.append(Problem(field, f"rule failed: {type(exc).__name__}: {exc}", row=record_id))
                    continue
            else:
                value = new
            value = checks.to_json_value(value, data_type)
            if not checks.same_value(old, value):
                rows.append({"id": record_id, "field": field, "old": old, "new": value})
        if problems:
            raise ZohoValidationError(problems)
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
    def build(
        cls,
        client: Any,
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
            module = _coql_module(coql)
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

    def summary(self) -> dict[str, Any]:
        """Counts: selected, to change, unchanged (old == new, skipped), and records per new value."""
        by_new = self.rows["new"].map(lambda v: json.dumps(v, default=str) if not isinstance(v, str) else v)
        return {
            "plan_id": self.plan_id,
            "module": self.module,
            "field": self.field,
            "selected": self.selected,
            "to_change": self.to_change,
            "unchanged": self.selected - self.to_change,
            "by_new_value": {str(k): int(v) for k, v in by_new.value_counts().items()},
        }

    def __repr__(self) -> str:
        return (
            f"EditPlan({self.plan_id}: {self.to_change} of {self.selected} {self.module} records,"
            f" {self.field} {self.rule})"
        )

    # -- checking and sending
    def validate(self, client_or_fields: Any) -> EditPlan:
        """Check every new value against the field's metadata; raise ZohoValidationError, send nothing."""
        fields = checks.field_map(
            client_or_fields.fields(self.module) if hasattr(client_or_fields, "fields") else client_or_fields
        )
        problems = checks.field_problems(self.module, self.field, fields)
        if not problems:
            self.data_type = self.data_type or str(fields[self.field].get("data_type"))
            pairs = list(zip(self.rows["id"].astype(str), self.rows["new"], strict=True))
            problems = checks.value_problems(self.field, fields[self.field], pairs)
        if problems:
            raise ZohoValidationError(problems)
        return self

    def apply(
        self,
        client: Any,
        *,
        journal: Journal | str | None = None,
        batch_size: int = MAX_BATCH,
        progress: bool | Callable[[int, int], None] = True,
        on_conflict: OnConflict = "skip",
    ) -> ApplyResult:
        """Send the plan; see :func:`apply`."""
        return apply(self, client, journal=journal, batch_size=batch_size, progress=progress, on_conflict=on_conflict)


def _coql_module(query: str) -> str:
    match = re.search(r"\bfrom\s+([A-Za-z_][A-Za-z0-9_]*)", query, re.IGNORECASE)
    if not match:
        raise ValueError("the COQL query has no 'from <Module>'")
    return match.group(1)


# --------------------------------------------------------------------------------------- results
@dataclass
class ApplyResult:
    """Every record's outcome of an apply or undo: status success | error | skipped, with Zoho's code."""

    plan_id: str
    action: str
    records: pd.DataFrame
    sent: int = 0  # records actually sent to the CRM (0 on an idempotent re-apply)
    stopped: str | None = None  # why the run stopped early (a whole batch failed), if it did

    def _count(self, status: str) -> int:
        return int((self.records["status"] == status).sum())

    @property
    def total(self) -> int:
        return len(self.records)

    @property
    def succeeded(self) -> int:
        return self._count("success")

    @property
    def failed(self) -> int:
        return self._count("error")

    @property
    def skipped(self) -> int:
        return self._count("skipped")

    def summary(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "action": self.action,
            "total": self.total,
            "sent": self.sent,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "skipped": self.skipped,
            "stopped": self.stopped,
        }

    def _repr_html_(self) -> str:
        return f"<p><b>{self!r}</b></p>" + self.records.to_html(max_rows=20)

    def __repr__(self) -> str:
        return (
            f"ApplyResult({self.action} {self.plan_id}: {self.succeeded} succeeded, {self.failed} failed,"
            f" {self.skipped} skipped of {self.total}; {self.sent} sent)"
        )


# -------------------------------------------------------------------------------------- progress
def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class _Progress:
    """An ipywidgets IntProgress in a notebook, a callback(done, total) if given, else silent."""

    def __init__(self, progress: bool | Callable[[int, int], None], total: int, label: str) -> None:
        self.total, self.done = total, 0
        self.callback = progress if callable(progress) else None
        self.bar = None
        if progress is True and _in_notebook() and total:
            import ipywidgets
            from IPython.display import display

            self.bar = ipywidgets.IntProgress(value=0, min=0, max=total, description=label)
            self.text = ipywidgets.Label(f"0 / {total}")
            display(ipywidgets.HBox([self.bar, self.text]))

    def advance(self, n: int) -> None:
        if not n:
            return
        self.done += n
        if self.bar is not None:
            self.bar.value = self.done
            self.text.value = f"{self.done} / {self.total}"
        if self.callback is not None:
            self.callback(self.done, self.total)


# ----------------------------------------------------------------------------------------- client
_MISSING = object()
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def current_values(
    client: Any, module: str, field: str, ids: Sequence[str], data_type: str | None = None
) -> dict[str, Any]:
    """What the CRM holds now for ``field`` of these records (deleted records are absent)."""
    bad = [x for x in (module, field) if not _NAME_RE.match(x)] + [i for i in ids if not str(i).isdigit()]
    if bad:  # names and ids go into a COQL string: refuse anything that is not one
        raise ValueError(f"not a module/field name or record id: {bad[:5]}")
    out: dict[str, Any] = {}
    for start in range(0, len(ids), COQL_IN_LIMIT):
        chunk = ids[start : start + COQL_IN_LIMIT]
        quoted = ", ".join(f"'{i}'" for i in chunk)
        frame = client.coql(f"select {field} from {module} where id in ({quoted}) limit {len(chunk)}")
        if not len(frame):
            continue
        column = _column_of(frame, field)
        for record_id, value in zip(frame["id"].astype(str), column, strict=True):
            out[record_id] = checks.to_json_value(value, data_type)
    return out


def _send(
    client: Any, module: str, field: str, rows: Sequence[Mapping[str, Any]], data_type: str | None
) -> list[tuple[str, str | None, str | None]]:
    """Update one batch; (status, code, message) per row in order."""

    def wire(value: Any) -> Any:  # the client writes lookups from their id
        return value["id"] if data_type in checks.LOOKUP_TYPES and isinstance(value, dict) else value

    result = client.update(module, [{"id": r["id"], field: wire(r["new"])} for r in rows])
    outcomes = result.records
    by_id = {str(o["id"]): o for o in outcomes.to_dict("records") if not checks.is_missing(o.get("id"))}
    ordered = (
        outcomes.to_dict("records")
        if len(outcomes) == len(rows) and [str(x) for x in outcomes["id"]] == [r["id"] for r in rows]
        else None
    )
    out: list[tuple[str, str | None, str | None]] = []
    for pos, r in enumerate(rows):
        o = ordered[pos] if ordered is not None else by_id.get(r["id"])
        if o is None and len(outcomes) == len(rows):
            o = outcomes.iloc[pos].to_dict()  # failures may come back without the id, in input order
        if o is None:
            out.append(("error", "NO_RESULT", "the CRM returned no outcome for this record"))
            continue
        status = "success" if str(o.get("status", "")).lower() == "success" else "error"
        code = None if checks.is_missing(o.get("code")) else str(o.get("code"))
        message = None if checks.is_missing(o.get("message")) else str(o.get("message"))
        out.append((status, code, message))
    return out


def _journal(journal: Journal | str | None, client: Any) -> Journal:
    if isinstance(journal, Journal):
        return journal
    if isinstance(journal, str):
        return Journal(journal)
    return Journal(_database_url(client))


def _database_url(client: Any) -> str:
    """The client's configured database, else DATABASE_URL / DATABASE_HOST... (ZohoConfigError if none)."""
    settings = getattr(client, "settings", None)
    if settings is not None and (getattr(settings, "database_url", None) or getattr(settings, "database_host", None)):
        return settings.database_dsn()
    return load_settings(require=("database",)).database_dsn()


# ------------------------------------------------------------------------------------ apply/undo
def _run(
    client: Any,
    journal: Journal,
    *,
    plan_id: str,
    action: str,
    module: str,
    field: str,
    data_type: str | None,
    rows: list[dict[str, Any]],
    preset: list[dict[str, Any]],
    batch_size: int,
    progress: bool | Callable[[int, int], None],
    decide: Callable[[dict[str, Any], Any], tuple[str, str] | None],
) -> ApplyResult:
    """Shared batch loop: per batch read current values, decide, journal, send, record outcomes.

    ``rows`` carry id/old/new; ``decide(row, current)`` returns (code, message) to skip a row or None
    to send it. ``preset`` are outcomes decided before the loop (e.g. already applied).
    """
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}")
    results = list(preset)
    bar = _Progress(progress, len(rows) + len(preset), action)
    bar.advance(len(preset))
    sent, stopped = 0, None
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        if stopped:
            results += [{**r, "status": "skipped", "code": "NOT_SENT", "message": stopped} for r in batch]
            bar.advance(len(batch))
            continue
        now = current_values(client, module, field, [r["id"] for r in batch], data_type)
        to_send = []
        for r in batch:
            current = now.get(r["id"], _MISSING)
            skip = decide(r, current)
            if skip is not None:
                results.append({**r, "status": "skipped", "code": skip[0], "message": skip[1]})
            else:
                # journal what the CRM holds right now (falls back to the plan's view if unreadable)
                to_send.append({**r, "before": r["old"] if current is _MISSING else current})
        entry_ids = journal.begin(
            plan_id, action, module, field, [Entry(r["id"], r["before"], r["new"]) for r in to_send]
        )
        if to_send:
            try:
                outcomes = _send(client, module, field, to_send, data_type)
            except ZohoValidationError:
                journal.finish(Outcome(e, "error", "NOT_SENT", "rejected by client-side validation") for e in entry_ids)
                raise
            except ZohoError as exc:  # the whole batch failed (rate limit, transport, ...): stop here
                code = getattr(exc, "code", None) or type(exc).__name__
                outcomes = [("error", code, str(exc))] * len(to_send)
                stopped = f"stopped after a failed batch: {exc}"
            sent += len(to_send)
            journal.finish(Outcome(e, *o) for e, o in zip(entry_ids, outcomes, strict=True))
            for r, (status, code, message) in zip(to_send, outcomes, strict=True):
                results.append(
                    {
                        "id": r["id"],
                        "field": field,
                        "old": r["before"],
                        "new": r["new"],
                        "status": status,
                        "code": code,
                        "message": message,
                    }
                )
        bar.advance(len(batch))
    return ApplyResult(
        plan_id=plan_id, action=action, records=_frame(results, RESULT_COLUMNS), sent=sent, stopped=stopped
    )


def apply(
    plan: EditPlan,
    client: Any,
    *,
    journal: Journal | str | None = None,
    batch_size: int = MAX_BATCH,
    progress: bool | Callable[[int, int], None] = True,
    on_conflict: OnConflict = "skip",
) -> ApplyResult:
    """Validate, then send the plan in batches, journaling before-values before each batch.

    Idempotent: records the journal shows as applied under this plan id (and not undone), and
    records the CRM already holds at the new value, are skipped, not sent. A record whose CRM
    value changed since the plan was built is skipped (CHANGED_SINCE_PLAN) unless
    ``on_conflict="overwrite"``. ``progress``: True = a progress bar in notebooks, or a callback.
    """
    plan.validate(client)
    j = _journal(journal, client)
    with j.lock(plan.plan_id):
        j.save_plan(plan.plan_id, plan.module, plan.field, plan.selection, plan.rule, plan.to_change)
        done = set(j.applied(plan.plan_id)["record_id"])
        rows = [dict(r) for r in plan.rows.to_dict("records")]
        preset = [
            {**r, "status": "skipped", "code": "ALREADY_APPLIED", "message": "applied under this plan id before"}
            for r in rows
            if r["id"] in done
        ]
        todo = [r for r in rows if r["id"] not in done]

        def decide(r: dict[str, Any], current: Any) -> tuple[str, str] | None:
            if current is _MISSING:
                return None  # unreadable or deleted: the CRM gives the per-record verdict
            if checks.same_value(current, r["new"]):
                return ("ALREADY_AT_NEW_VALUE", "the CRM already holds the new value")
            if not checks.same_value(current, r["old"]) and on_conflict == "skip":
                return ("CHANGED_SINCE_PLAN", f"the CRM now holds {current!r}, the plan expected {r['old']!r}")
            return None

        return _run(
            client,
            j,
            plan_id=plan.plan_id,
            action="apply",
            module=plan.module,
            field=plan.field,
            data_type=plan.data_type,
            rows=todo,
            preset=preset,
            batch_size=batch_size,
            progress=progress,
            decide=decide,
        )


def undo(
    client: Any,
    plan_id: str,
    *,
    journal: Journal | str | None = None,
    batch_size: int = MAX_BATCH,
    progress: bool | Callable[[int, int], None] = True,
    on_conflict: OnConflict = "skip",
) -> ApplyResult:
    """Restore the before-values of every record the plan changed successfully (journaled as 'undo').

    A record changed again since the apply is skipped (CHANGED_SINCE_APPLY) unless
    ``on_conflict="overwrite"``; one already back at its old value is just marked undone.
    Undoing twice sends nothing the second time.
    """
    j = _journal(journal, client)
    with j.lock(plan_id):
        plan = j.plan(plan_id)
        if plan is None:
            raise ZohoError(f"no plan {plan_id} in the journal", {"plan_id": plan_id})
        applied = j.applied(plan_id)
        module, field = plan["module"], plan["field"]
        data_type = checks.field_map(client.fields(module)).get(field, {}).get("data_type")
        # undo sends each record's journaled old value back: "old" is now the applied value.
        rows = [
            {"id": r["record_id"], "field": field, "old": r["new_value"], "new": r["old_value"]}
            for r in applied.to_dict("records")
        ]
        restored_already: list[str] = []

        def decide(r: dict[str, Any], current: Any) -> tuple[str, str] | None:
            if current is _MISSING:
                return None
            if checks.same_value(current, r["new"]):
                restored_already.append(r["id"])
                return ("ALREADY_AT_OLD_VALUE", "the CRM already holds the value from before the plan")
            if not checks.same_value(current, r["old"]) and on_conflict == "skip":
                return ("CHANGED_SINCE_APPLY", f"the CRM now holds {current!r}, not the applied {r['old']!r}")
            return None

        result = _run(
            client,
            j,
            plan_id=plan_id,
            action="undo",
            module=module,
            field=field,
            data_type=data_type,
            rows=rows,
            preset=[],
            batch_size=batch_size,
            progress=progress,
            decide=decide,
        )
        ok = result.records.loc[result.records["status"] == "success", "id"].tolist()
        j.mark_undone(plan_id, [*ok, *restored_already])
        return result


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
]
