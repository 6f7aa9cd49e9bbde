"""Account 360 reads: related lists, the three activity modules as one frame, dotted lookup columns,
subforms as child frames. ``ZohoClient`` delegates to one :class:`Related` per client, built on
the same pipeline, field metadata and reader as its other reads (it holds only the related-list
metadata it has fetched).

- ``related``: ``GET /crm/v8/{module}/{id}/{related_list}`` page by page (``_paging.Walk``:
  page numbers, then page tokens), typed by the child module's field metadata. The child module
  comes from ``/settings/related_lists`` (cached per client); Activities / Activities_History mix
  Tasks, Events and Calls and are typed as ``activities`` types them.
- ``activities``: the Tasks, Events and Calls related lists of one record, one frame, a ``type``
  column (the module), and ``subject`` / ``when`` columns common to the three.
- ``lookup_columns``: ``records(fields=["Account_Name.Industry"])`` reads the lookup's ids with the
  base records and the looked-up fields from the target module, one flat typed column each.
- ``subform``: a subform field's rows as a frame keyed by ``parent_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from sergas_nb import frames
from sergas_nb._checks import check_ids
from sergas_nb._fields import FieldMeta
from sergas_nb._paging import PER_PAGE, PageCursor, Walk
from sergas_nb._pipeline import Pipeline
from sergas_nb._reads import Reader
from sergas_nb.errors import Problem, ZohoValidationError

ACTIVITY_MODULES = ("Tasks", "Events", "Calls")
MIXED_LISTS = ("Activities", "Activities_History")
# The subject and the moment of each activity module (a task's moment: when it closed, else its due date).
SUBJECT = {"Tasks": "Subject", "Events": "Event_Title", "Calls": "Subject"}
MAX_FIELDS = 50  # fields per related-records call, as for lists
BY_IDS_MAX = 2000  # more distinct looked-up ids than this: read the target module whole instead


def parts_col(rows: Sequence[dict[str, Any]], key: str) -> list[Any]:
    return [r.get(key) for r in rows]


def _when(module: str, rows: Sequence[dict[str, Any]]) -> Any:
    """The moment an activity happened or is due: a call's start, a meeting's start, a task's close
    (or its due date, midnight UTC, while open)."""
    if module == "Calls":
        vals = parts_col(rows, "Call_Start_Time")
    elif module == "Events":
        vals = parts_col(rows, "Start_DateTime")
    else:
        vals = [
            r.get("Closed_Time") or (f"{r['Due_Date']}T00:00:00+00:00" if r.get("Due_Date") else None) for r in rows
        ]
    return pd.Series(pd.to_datetime(vals, utc=True, format="ISO8601"), dtype="datetime64[us, UTC]").array


def concat_aligned(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Frames with different columns in one, every column keeping its dtype (missing cells NA)."""
    template: dict[str, pd.Series] = {}
    for df in parts:
        for col in df.columns:
            template.setdefault(col, df[col].iloc[:0])
    aligned = []
    for df in parts:
        cols = {c: (df[c] if c in df else t.reindex(df.index)) for c, t in template.items()}
        aligned.append(pd.DataFrame(cols, index=df.index))
    nonempty = [a for a in aligned if len(a)] or aligned[:1]
    out = pd.concat(nonempty, ignore_index=True)
    for c, t in template.items():  # concat of categoricals with different categories falls back to object
        if isinstance(t.dtype, pd.CategoricalDtype) and not isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype("category")
    return out


# ---------------------------------------------------------------- subforms


def subform(frame: pd.DataFrame, field: str) -> pd.DataFrame:
    """The rows of subform ``field`` of each record in ``frame`` (as ``records()`` read it), one
    row per subform row: ``parent_id``, the row's ``id``, then its fields (lookups flattened to
    X.name / X.id, numbers and text typed)."""
    if field not in frame:
        raise ZohoValidationError([Problem(field, "no such column in the frame (read it with records())", None, None)])
    rows: list[dict[str, Any]] = []
    for pid, items in zip(frame["id"], frame[field], strict=True):
        for item in items if isinstance(items, list) else []:
            row: dict[str, Any] = {"parent_id": pid, "id": item.get("id")}
            for k, v in item.items():
                if k == "id" or k.startswith("$"):
                    continue
                if isinstance(v, dict):
                    row[f"{k}.name"], row[f"{k}.id"] = v.get("name"), v.get("id")
                else:
                    row[k] = v
            rows.append(row)
    df = pd.DataFrame(rows, columns=None if rows else ["parent_id", "id"]).convert_dtypes(
        dtype_backend="numpy_nullable"
    )
    for col in df.columns:
        if col.endswith("_Time"):
            df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601").astype("datetime64[us, UTC]")
    return df


# ---------------------------------------------------------------- one account's surroundings

CONTACT_FIELDS = ["Full_Name", "Title", "Email", "Phone", "Account_Name"]
NOTE_FIELDS = ["Note_Title", "Note_Content", "Parent_Id", "Created_Time"]
DEAL_FIELDS = ["Deal_Name", "Account_Name", "Stage", "Amount", "Closing_Date", "Created_Time"]


def _check_id(rid: Any) -> str:
    return check_ids([rid])[0]


class Related:
    """Related lists, activities, dotted lookups and one account's surroundings for one client."""

    def __init__(self, p: Pipeline, fields: FieldMeta, reader: Reader) -> None:
        self.p, self.fields, self.reader = p, fields, reader
        self._lists: dict[str, list[dict[str, Any]]] = {}  # /settings/related_lists per module

    def related_lists(self, module: str) -> list[dict[str, Any]]:
        """``/settings/related_lists?module=`` items, fetched once per client."""
        if module not in self._lists:
            data = self.p.get("related_lists", "/crm/v8/settings/related_lists", {"module": module}, module) or {}
            self._lists[module] = list(data.get("related_lists") or [])
        return self._lists[module]

    def _child_module(self, module: str, related_list: str) -> str | None:
        for item in self.related_lists(module):
            if str(item.get("api_name", "")).lower() == related_list.lower():
                return ((item.get("module") or {}).get("api_name")) or None
        names = ", ".join(str(i.get("api_name")) for i in self.related_lists(module))
        raise ZohoValidationError(
            [
                Problem(
                    "related_list",
                    f"{module} has no related list {related_list!r} (it has: {names})",
                    None,
                    related_list,
                )
            ]
        )

    def _rows(self, module: str, rid: str, related_list: str, names: list[str]) -> list[dict[str, Any]]:
        """Every related row with these fields (50 a call: wider reads are joined on id), walked with the
        one paging walker (page numbers, then page tokens past record 2,000; a 204 ends the walk)."""
        path = f"/crm/v8/{module}/{rid}/{related_list}"
        rows: list[dict[str, Any]] = []
        by_id: dict[str, dict[str, Any]] = {}
        for start in range(0, max(len(names), 1), MAX_FIELDS):
            params: dict[str, Any] = {
                "fields": ",".join(names[start : start + MAX_FIELDS] or ["id"]),
                "per_page": PER_PAGE,
            }

            def fetch(q: dict[str, Any], params: dict[str, Any] = params) -> Any:
                return self.p.get("related", path, {**params, **q}, module)

            walk = Walk(fetch, PageCursor(what=f"{module} {rid} {related_list}"))
            for r in walk.all_rows():
                if start == 0:
                    rows.append(dict(r))
                    by_id[str(r["id"])] = rows[-1]
                elif str(r.get("id")) in by_id:
                    by_id[str(r["id"])].update(r)
        return rows

    def related(
        self, module: str, rid: str | int, related_list: str, fields: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """The records of one related list of one record, typed by the child module's metadata."""
        rid = _check_id(rid)
        child = self._child_module(module, related_list)
        if child is None:  # Activities / Activities_History: three modules in one list
            rows = self._rows(module, rid, related_list, self._mixed_fields(fields))
            by_type: dict[str, list[dict[str, Any]]] = {m: [] for m in ACTIVITY_MODULES}
            for r in rows:
                by_type.setdefault(str(r.get("Activity_Type")), []).append(r)
            return self._activity_frame({m: v for m, v in by_type.items() if m in ACTIVITY_MODULES}, fields)
        names = self.fields.resolve(child, fields)
        rows = self._rows(module, rid, related_list, names)
        return frames.to_frame(rows, self.fields.meta(child), names)

    def _mixed_fields(self, fields: Iterable[str] | None) -> list[str]:
        if fields is not None:
            return [f for f in dict.fromkeys(fields) if f != "id"]
        names: dict[str, None] = {}
        for m in ACTIVITY_MODULES:
            names.update(dict.fromkeys(self.fields.resolve(m, None)))
        return list(names)

    def activities(self, module: str, rid: str | int, fields: Iterable[str] | None = None) -> pd.DataFrame:
        """Tasks, Events and Calls of one record (three related-list reads), newest first."""
        rid = _check_id(rid)
        parts = {}
        for m in ACTIVITY_MODULES:
            names = self._fields_in(m, fields)
            parts[m] = self._rows(module, rid, m, names)
        return self._activity_frame(parts, fields)

    def _fields_in(self, module: str, fields: Iterable[str] | None) -> list[str]:
        """The asked-for fields this activity module has (all of its fields when None)."""
        if fields is None:
            return self.fields.resolve(module, None)
        own = frames.field_map(self.fields.meta(module))
        return [f for f in dict.fromkeys(fields) if f in own]

    def _activity_frame(self, parts: dict[str, list[dict[str, Any]]], fields: Iterable[str] | None) -> pd.DataFrame:
        typed = []
        for m in ACTIVITY_MODULES:
            meta = self.fields.meta(m)
            df = frames.to_frame(parts.get(m, []), meta, self._fields_in(m, fields))
            df.insert(1, "type", pd.array([m] * len(df), dtype="string"))
            subject = parts_col(parts.get(m, []), SUBJECT[m])
            df.insert(2, "subject", pd.array(subject, dtype="string"))
            df.insert(3, "when", _when(m, parts.get(m, [])))
            typed.append(df)
        out = concat_aligned(typed)
        return out.sort_values("id", key=lambda s: s.astype("Int64"), ascending=False, ignore_index=True)

    def split_dotted(self, module: str, fields: Iterable[str] | None) -> tuple[list[str] | None, list[str]]:
        """(fields to read directly, dotted ``lookup.field`` names to join from the lookup's module).

        ``X.name`` / ``X.id`` / ``X.email`` stay as they were (columns a lookup has anyway)."""
        if fields is None or isinstance(fields, str):
            return (None if fields is None else [fields]), []
        fields = list(fields)
        if not any("." in f for f in fields):  # nothing to join: no metadata call (reads overlap it)
            return list(dict.fromkeys(fields)), []
        fmap = frames.field_map(self.fields.meta(module))
        plain: list[str] = []
        dotted: list[str] = []
        for f in fields:
            base, _, sub = f.partition(".")
            field = fmap.get(base)
            kind = frames.kind_of(field)
            if sub and f not in fmap and kind == frames.LOOKUP and sub not in ("name", "id"):
                dotted.append(f)
                plain.append(base)
            else:
                plain.append(f)
        return list(dict.fromkeys(plain)), dotted

    def lookup_columns(self, module: str, frame: pd.DataFrame, dotted: Sequence[str]) -> pd.DataFrame:
        """``frame`` with one typed column per ``lookup.field``, read from the lookup's own module."""
        fmap = frames.field_map(self.fields.meta(module))
        by_base: dict[str, list[str]] = {}
        for name in dotted:
            base, _, sub = name.partition(".")
            by_base.setdefault(base, []).append(sub)
        out = frame.copy()
        for base, subs in by_base.items():
            target = str(((fmap[base].get("lookup") or {}).get("module") or {}).get("api_name"))
            target_fields = frames.field_map(self.fields.meta(target))
            unknown = [s for s in subs if s.split(".", 1)[0] not in target_fields]
            if unknown:
                raise ZohoValidationError(
                    [Problem(f"{base}.{s}", f"{target} has no field {s!r}", None, None) for s in unknown]
                )
            ids = list(dict.fromkeys(frame[f"{base}.id"].dropna().astype(str)))
            if not ids:
                linked = self.reader.by_ids(target, [], subs)
            elif len(ids) > BY_IDS_MAX:
                linked = self.reader.records(target, subs)
            else:
                linked = self.reader.by_ids(target, ids, subs)
            linked = linked.drop_duplicates("id").set_index("id")
            keys = frame[f"{base}.id"].astype("string")
            for col in linked.columns:
                values = linked[col].reindex(keys.fillna("").to_numpy())
                out[f"{base}.{col}"] = values.to_numpy() if values.dtype == object else values.array
            # keep the asked-for order: the joined columns right after the lookup's own
        return out

    def account_details(self, account_id: str | int) -> dict[str, pd.DataFrame]:
        """An account's contacts, deals, activities (open and closed, newest first) and notes.

        Activities are those on the account and on each of its deals: the one definition
        ``sergas_nb.health`` counts (days since the last activity, overdue tasks), so the detail
        view, the assistant's overview and the health columns agree. Five related-list reads, and
        two more per deal (in parallel)."""
        rid = _check_id(account_id)
        deals = self.related("Accounts", rid, "Deals", fields=DEAL_FIELDS)
        pool = self.p.workers()
        parents = [("Accounts", rid)] + [("Deals", str(d)) for d in deals["id"]]
        futures = [pool.submit(self.related, m, pid, n) for m, pid in parents for n in MIXED_LISTS]
        acts = concat_aligned([f.result() for f in futures])
        acts = acts.drop_duplicates("id", ignore_index=True) if len(acts) else acts
        return {
            "contacts": self.related("Accounts", rid, "Contacts", fields=CONTACT_FIELDS),
            "deals": deals,
            "activities": acts.sort_values("when", ascending=False, na_position="last", ignore_index=True),
            "notes": self.related("Accounts", rid, "Notes", fields=NOTE_FIELDS),
        }
