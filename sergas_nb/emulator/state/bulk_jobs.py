"""Bulk Read and Bulk Write jobs of the emulator (Zoho's asynchronous export and import).

Shapes from ../shared/reference/zoho-crm-v8.md and Zoho's bulk_read.json / bulk_write.json:

- A read job goes ADDED -> QUEUED -> IN PROGRESS -> COMPLETED as time passes (``step`` seconds a
  state); its result is one page of at most 200,000 records as a zipped CSV (header: ``id`` and
  the fields asked for, lookups as the linked id, dotted ``X.sub`` for a lookup's own fields,
  multi-select values joined by ``;``, datetimes ISO 8601 as the API answers them).
- Result downloads: at most 10 a rolling minute per org (429 past that).
- A write job takes an uploaded zip (one CSV), maps CSV columns to fields by index, and is
  applied to the store in one pass when it first shows COMPLETED, through the store's own
  ``insert`` / ``update`` / ``upsert`` (each row validated exactly as an API write is). Its
  result CSV holds the first three mapped columns and STATUS (ADDED, UPDATED, SKIPPED),
  RECORD_ID and ERRORS (``CODE-api_name``), one row per input row, in input order.
"""

from __future__ import annotations

import csv
import io
import itertools
import threading
import time
import zipfile
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sergas_nb.emulator.errors import EmulatorError
from sergas_nb.emulator.state import metadata as md

READ_PAGE = 200_000
DOWNLOADS_PER_MINUTE = 10
WRITE_LIMIT = 25_000  # rows per Bulk Write file
STATES = ("ADDED", "QUEUED", "IN PROGRESS", "COMPLETED")
_USER_INLINE = {"id": "id", "email": "email", "name": "name", "full_name": "name"}


@dataclass
class ReadJob:
    id: str
    module: str
    fields: list[str]
    criteria: dict[str, Any] | None
    page: int
    created_by: dict[str, Any]
    created_time: str
    started: float
    query: dict[str, Any]
    result: bytes | None = None
    count: int = 0
    more: bool = False
    failure: str | None = None


@dataclass
class WriteJob:
    id: str
    operation: str
    module: str
    file_id: str
    mappings: list[dict[str, Any]]
    find_by: str | None
    ignore_empty: bool
    created_by: dict[str, Any]
    created_time: str
    started: float
    resource: dict[str, Any]
    result: bytes | None = None
    counts: dict[str, int] = field(default_factory=dict)
    failure: str | None = None


class BulkJobs:
    """Every bulk job and uploaded file of one emulator."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, step: float = 0.2) -> None:
        self.clock, self.step = clock, step
        self._lock = threading.Lock()
        self._ids = itertools.count(6250853000000700001, 7)
        self.reads: dict[str, ReadJob] = {}
        self.writes: dict[str, WriteJob] = {}
        self.files: dict[str, bytes] = {}
        self._downloads: deque[float] = deque()
        self.epoch = -1  # the store's data these jobs were made from (Store.epoch)

    def new_id(self) -> str:
        with self._lock:
            return str(next(self._ids))

    def state(self, started: float) -> str:
        """ADDED, QUEUED, IN PROGRESS, then COMPLETED, ``step`` seconds each."""
        elapsed = self.clock() - started
        return STATES[min(len(STATES) - 1, int(elapsed / self.step)) if self.step > 0 else -1]

    def take_download(self) -> None:
        """Count one result download; 429 past 10 in a rolling minute."""
        with self._lock:
            now = self.clock()
            while self._downloads and now - self._downloads[0] >= 60.0:
                self._downloads.popleft()
            if len(self._downloads) >= DOWNLOADS_PER_MINUTE:
                raise EmulatorError(
                    "TOO_MANY_REQUESTS", "You have made too many requests. Please try again later.", status=429
                )
            self._downloads.append(now)

    # -- bulk read --------------------------------------------------------------------------------
    def export(self, job: ReadJob, store: Any) -> None:
        """Build the job's zipped CSV (once, when it completes): its page of matching records."""
        if job.result is not None or job.failure is not None:
            return
        fmap = md.field_map(job.module)
        readers = [(name, _reader(store, job.module, fmap, name)) for name in job.fields]
        match = criteria_predicate(job.criteria, fmap) if job.criteria else None
        recs = store.select(job.module, match)  # records are replaced, never mutated: a stable view
        start = (job.page - 1) * READ_PAGE
        page = recs[start : start + READ_PAGE]
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["id", *job.fields])
        for r in page:
            w.writerow([r["id"], *(read(r) for _, read in readers)])
        job.count, job.more = len(page), len(recs) > start + READ_PAGE
        job.result = _zip(f"{job.id}.csv", buf.getvalue().encode("utf-8"))

    # -- bulk write -------------------------------------------------------------------------------
    def apply(self, job: WriteJob, store: Any, user_email: str | None) -> None:
        """Apply the uploaded rows to the store (once) and build the per-row result CSV."""
        if job.result is not None or job.failure is not None:
            return
        header, rows = _csv_rows(self.files.get(job.file_id))
        fmap = md.field_map(job.module)
        items: list[dict[str, Any]] = []
        for row in rows:
            item: dict[str, Any] = {}
            for m in job.mappings:
                idx = int(m["index"])
                raw = row[idx] if idx < len(row) else ""
                name = str(m["api_name"])
                if raw == "" and job.ignore_empty:
                    continue
                item[name] = _typed(fmap.get(name), raw, m.get("find_by"))
            items.append(item)
        if job.operation == "insert":
            results = store.insert(job.module, items, user_email)
        elif job.operation == "update":
            results = store.update(job.module, items, user_email)
        else:
            dup = [job.find_by] if job.find_by and job.find_by != "id" else [md.DUPLICATE_FIELDS[job.module]]
            results = store.upsert(job.module, items, dup, user_email)
        first = job.mappings[:3]
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(
            [
                *(header[int(m["index"])] if int(m["index"]) < len(header) else m["api_name"] for m in first),
                "STATUS",
                "RECORD_ID",
                "ERRORS",
            ]
        )
        added = updated = skipped = 0
        for row, res in zip(rows, results, strict=False):
            shown = [row[int(m["index"])] if int(m["index"]) < len(row) else "" for m in first]
            if res.get("status") == "success":
                action = res.get("action") or ("insert" if job.operation == "insert" else "update")
                status = "ADDED" if action == "insert" else "UPDATED"
                added += status == "ADDED"
                updated += status == "UPDATED"
                w.writerow([*shown, status, res["details"]["id"], ""])
            else:
                skipped += 1
                api = (res.get("details") or {}).get("api_name") or ""
                w.writerow([*shown, "SKIPPED", "", f"{res.get('code')}-{api}"])
        job.counts = {
            "added_count": added,
            "updated_count": updated,
            "skipped_count": skipped,
            "total_count": len(rows),
        }
        job.result = _zip(f"{job.module}-bulkwrite.csv", out.getvalue().encode("utf-8"))


# ---------------------------------------------------------------------------------------- helpers


def _zip(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, data)
    return buf.getvalue()


def read_zip_csv(data: bytes | None) -> bytes:
    """The one CSV inside an uploaded zip (INVALID_DATA otherwise)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data or b"")) as z:
            names = [n for n in z.namelist() if n.lower().endswith(".csv")]
            if len(names) != 1:
                raise ValueError
            return z.read(names[0])
    except (zipfile.BadZipFile, ValueError, KeyError):
        raise EmulatorError("INVALID_FILE", "the file must be a zip holding one CSV file", {}) from None


def _csv_rows(data: bytes | None) -> tuple[list[str], list[list[str]]]:
    text = read_zip_csv(data).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise EmulatorError("INVALID_FILE", "the CSV file is empty", {})
    return rows[0], rows[1:]


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return str(v.get("id") or "")
    if isinstance(v, list):
        return ";".join(str(x.get("name") if isinstance(x, dict) else x) for x in v)
    return str(v)


def _reader(store: Any, module: str, fmap: dict[str, dict[str, Any]], name: str) -> Callable[[dict[str, Any]], str]:
    """How one requested column reads from a record: a field, or ``lookup.sub``."""
    if name in fmap or (name == "$se_module" and any(f.get("multi_module_lookup") for f in fmap.values())):
        return lambda r: _cell(r.get(name))  # $se_module: the module a polymorphic What_Id / Parent_Id names
    base, _, sub = name.partition(".")
    field = fmap.get(base)
    if field is None or not sub:
        raise EmulatorError("INVALID_DATA", "invalid data", {"api_name": name})
    dt = field["data_type"]
    if dt in ("ownerlookup", "userlookup"):
        key = _USER_INLINE.get(sub.lower())
        if key is None:
            raise EmulatorError("INVALID_DATA", "invalid data", {"api_name": name})
        return lambda r: _cell((r.get(base) or {}).get(key))
    if dt == "lookup":
        target = field["lookup"]["module"]["api_name"]
        if sub == "id":
            return lambda r: _cell((r.get(base) or {}).get("id"))
        if sub not in md.field_map(target):
            raise EmulatorError("INVALID_DATA", "invalid data", {"api_name": name})

        def through(r: dict[str, Any]) -> str:
            link = r.get(base)
            linked = store.get(target, str(link["id"])) if isinstance(link, dict) else None
            return _cell(linked.get(sub)) if linked else ""

        return through
    raise EmulatorError("INVALID_DATA", "invalid data", {"api_name": name})


def _typed(field: dict[str, Any] | None, raw: str, find_by: Any) -> Any:
    """A CSV cell as the JSON value the store validates (bad text stays text: the store rejects it)."""
    if raw == "":
        return [] if field and field["data_type"] == "multiselectpicklist" else None
    if field is None:
        return raw
    dt = field["data_type"]
    try:
        if dt in ("integer", "bigint"):
            return int(raw)
        if dt in ("currency", "double", "percent"):
            return float(raw)
    except ValueError:
        return raw
    if dt == "boolean":
        return {"true": True, "false": False}.get(raw.strip().lower(), raw)
    if dt == "multiselectpicklist":
        return raw.split(";")
    if dt in ("lookup", "ownerlookup", "userlookup"):
        return {"id": raw}
    return raw


# ---------------------------------------------------------------------------------------- criteria

_COMPARATORS = {
    "equal",
    "not_equal",
    "in",
    "not_in",
    "greater_than",
    "greater_equal",
    "less_than",
    "less_equal",
    "between",
    "not_between",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
}


def criteria_predicate(c: dict[str, Any], fmap: dict[str, dict[str, Any]]) -> Callable[[dict[str, Any]], bool]:
    """Bulk Read criteria (``{group_operator, group}`` or ``{field, comparator, value}``) as a predicate."""
    if not isinstance(c, dict):
        raise EmulatorError("INVALID_DATA", "invalid data", {"param_name": "criteria"})
    if "group" in c:
        op = str(c.get("group_operator", "and")).lower()
        if op not in ("and", "or") or not isinstance(c["group"], list) or not c["group"]:
            raise EmulatorError("INVALID_DATA", "invalid data", {"param_name": "group_operator"})
        preds = [criteria_predicate(g, fmap) for g in c["group"]]
        if op == "and":
            return lambda r: all(p(r) for p in preds)
        return lambda r: any(p(r) for p in preds)
    name = ((c.get("field") or {}).get("api_name")) or c.get("api_name")
    comp = str(c.get("comparator", ""))
    if name not in fmap and name != "id":
        raise EmulatorError("INVALID_DATA", "invalid data", {"api_name": str(name), "param_name": "criteria"})
    if comp not in _COMPARATORS:
        raise EmulatorError("INVALID_DATA", "invalid data", {"param_name": "comparator", "value": comp})
    value = c.get("value")

    def norm(v: Any) -> Any:
        if isinstance(v, dict):
            v = v.get("id")
        if isinstance(v, str):
            try:
                return (
                    float(v)
                    if name != "id"
                    and fmap.get(str(name), {}).get("data_type")
                    in (
                        "integer",
                        "bigint",
                        "currency",
                        "double",
                        "percent",
                    )
                    else (int(v) if name == "id" else v.casefold())
                )
            except ValueError:
                return v.casefold()
        if isinstance(v, bool):
            return v
        if isinstance(v, (int, float)):
            return v
        return v

    want = [norm(v) for v in value] if isinstance(value, list) else norm(value)

    def pred(r: dict[str, Any]) -> bool:
        x = norm(r.get(str(name)))
        if x is None:
            return comp in ("not_equal", "not_in", "not_contains")
        try:
            if comp == "equal":
                return bool(x == want)
            if comp == "not_equal":
                return bool(x != want)
            if comp == "in":
                return x in want
            if comp == "not_in":
                return x not in want
            if comp == "greater_than":
                return bool(x > want)
            if comp == "greater_equal":
                return bool(x >= want)
            if comp == "less_than":
                return bool(x < want)
            if comp == "less_equal":
                return bool(x <= want)
            if comp in ("between", "not_between"):
                inside = bool(want[0] <= x <= want[1])
                return inside if comp == "between" else not inside
            text, sub = str(x), str(want)
            if comp == "contains":
                return sub in text
            if comp == "not_contains":
                return sub not in text
            if comp == "starts_with":
                return text.startswith(sub)
            return text.endswith(sub)
        except TypeError:
            return False

    return pred
