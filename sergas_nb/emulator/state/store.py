"""The emulator's in-memory org: records per module, validation of writes, users and org.

Records are kept exactly in API JSON shape so reads are a projection and a serialisation, nothing
more. Routes reach the org only through the public methods below (a small query and command API);
each takes the one lock itself and hands back copies, so no route holds the lock or sees the dicts.
uvicorn runs handlers on one event loop, but tests and LocalZoho users may call from other threads.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson

from sergas_nb.emulator.query.values import utc_text
from sergas_nb.emulator.state import metadata as md
from sergas_nb.emulator.state.activities import LinkError, derive_activity, poly_link, with_activities
from sergas_nb.emulator.state.index import IdIndex
from sergas_nb.emulator.state.modified_index import ModifiedIndex
from sergas_nb.emulator.state.seed import SeedData, generate, iso, user_ref
from sergas_nb.emulator.state.subforms import RowError, attach, merge_rows

Record = dict[str, Any]
Result = dict[str, Any]
Predicate = Callable[[Record], bool]

# Fields a lookup shows as its "name", per target module.
_NAME_FIELD = {
    "Accounts": "Account_Name",
    "Contacts": "Full_Name",
    "Leads": "Full_Name",
    "Deals": "Deal_Name",
    "Tasks": "Subject",
    "Events": "Event_Title",
    "Calls": "Subject",
    "Notes": "Note_Title",
}
SORTABLE = ("id", "Created_Time", "Modified_Time")


@dataclass(frozen=True)
class ListPage:
    """One page of a list: the whole ordered id list it was cut from, where it starts and ends, its rows."""

    ordered: list[str]
    offset: int
    end: int
    page_ids: list[str]
    rows: list[bytes]


class _Catalog:
    """The COQL engine's view of the records (its ``Catalog`` protocol); used under the store lock."""

    def __init__(
        self,
        records: dict[str, dict[str, Record]],
        index: Callable[[str], IdIndex],
        modified: Callable[[str], ModifiedIndex],
    ) -> None:
        self._records = records
        self._index = index
        self._modified = modified

    def fields(self, module: str) -> dict[str, dict] | None:
        canon = md.canonical_module(module)
        return md.field_map(canon) if canon else None

    def records(self, module: str) -> Iterable[dict]:
        canon = md.canonical_module(module) or module
        return self._records.get(canon, {}).values()

    def get(self, module: str, id: str) -> dict | None:
        canon = md.canonical_module(module) or module
        return self._records.get(canon, {}).get(str(id))

    def records_between(self, module: str, low: int | None, high: int | None) -> Iterable[dict]:
        canon = md.canonical_module(module) or module
        recs = self._records.get(canon)
        if recs is None:
            return ()
        return [recs[k] for k in self._index(canon).between(low, high)]

    def modified_from_size(self, module: str, low: str) -> int:
        canon = md.canonical_module(module) or module
        return self._modified(canon).size_from(low) if canon in self._records else 0

    def records_modified_from(self, module: str, low: str) -> Iterable[dict]:
        canon = md.canonical_module(module) or module
        recs = self._records.get(canon)
        if recs is None:
            return ()
        return [recs[k] for k in self._modified(canon).at_least(recs, low)]


class ItemError(Exception):
    """One record of a batch failed; becomes that record's entry in the answer's ``data`` array."""

    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(code)
        self.code, self.message, self.details = code, message, details

    def result(self) -> Result:
        return {"code": self.code, "details": self.details, "message": self.message, "status": "error"}


def _invalid(
    api_name: str, path: str, expected: str | None = None, message: str = "invalid data", **extra: Any
) -> ItemError:
    details: dict[str, Any] = {"api_name": api_name, "json_path": path}
    if expected:
        details["expected_data_type"] = expected
    details.update(extra)
    return ItemError("INVALID_DATA", message, details)


def _parse_datetime(value: str) -> str | None:
    """ISO 8601 with an offset (or Z) -> canonical UTC string; None if not such a string."""
    if len(value) < 19 or value[10] != "T":
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        return None  # Zoho requires the offset
    return utc_text(dt)


class Store:
    """The whole emulated org. ``reseed`` rebuilds it; ``reset`` rebuilds it from the last seed."""

    def __init__(
        self,
        seed: int = 42,
        accounts: int = 2000,
        *,
        user_email: str = "admin@sergas-demo.example",
        clock: Any = time.time,
    ) -> None:
        self._lock = threading.RLock()
        self.epoch = 0
        self.clock = clock
        self.user_email = user_email
        self.initial = (int(seed), int(accounts))  # what reset() returns to, whatever reseeds came since
        self.seed, self.accounts = self.initial
        self.reseed(seed, accounts)

    # ----- lifecycle ----------------------------------------------------------------------------

    def reseed(self, seed: int | None = None, accounts: int | None = None) -> None:
        with self._lock:
            self.seed = self.seed if seed is None else int(seed)
            self.accounts = self.accounts if accounts is None else int(accounts)
            self._load(with_activities(generate(self.seed, self.accounts, user_email=self.user_email), self.seed))

    def reset(self) -> None:
        md.reset_custom_fields()  # fields an admin added through the control API go too
        self.reseed(*self.initial)

    def _load(self, data: SeedData) -> None:
        self._users = data.users
        self._users_by_id = {u["id"]: u for u in data.users}
        self._users_by_email = {u["email"].lower(): u for u in data.users}
        self._org = data.org
        self._records: dict[str, dict[str, Record]] = data.records
        self._next_id = data.next_id
        self._version = dict.fromkeys(md.MODULES, 0)
        self._order_cache: dict[tuple[str, str, str], tuple[int, list[str]]] = {}
        self._id_indexes: dict[str, IdIndex] = {}
        # Built with the data, not on the first incremental read (a sort of 100,000 records, 0.1 s, would
        # land on the re-sync that finds nothing changed); kept current by _index.
        self._modified_indexes = {m: ModifiedIndex(recs) for m, recs in self._records.items() if recs}
        self.epoch += 1  # a reseed or reset replaces the data: what was made from the old data is stale
        # Serialised rows per (module, projected keys): id -> (record object, JSON bytes). Records are
        # replaced, never mutated, on write, so an identity check tells a stale entry from a good one.
        self._row_cache: dict[tuple[str, tuple[str, ...]], dict[str, tuple[Record, bytes]]] = {}
        self.last_modified = dict.fromkeys(md.MODULES, 0.0)  # wall time of the last write, per module
        # What Get Deleted Records lists, oldest first: records deleted through the API land in the recycle bin.
        self._deleted: dict[str, list[dict[str, Any]]] = {m: [] for m in md.MODULES}
        # Each module's default duplicate-check field (lower-cased value -> id), kept current by _index.
        self._unique = {m: self._value_index(m, f) for m, f in md.DUPLICATE_FIELDS.items()}
        # Deleted records as they were, so an admin can restore them from the recycle bin.
        self._bin: dict[str, dict[str, Record]] = {m: {} for m in md.MODULES}
        for rec in self._records["Accounts"].values():
            self._derive("Accounts", rec)
        self._rollup(None)

    def snapshot(self) -> dict[str, list[Record]]:
        """A deep copy of every module's records, for tests and debugging."""
        with self._lock:
            return {m: copy.deepcopy(list(recs.values())) for m, recs in self._records.items()}

    # ----- reads (each takes the lock; answers are copies or immutable snapshots) -------------

    def current_user(self, email: str | None) -> dict[str, Any]:
        with self._lock:
            return self._current_user(email)

    def _current_user(self, email: str | None) -> dict[str, Any]:
        return self._users_by_email.get((email or "").lower(), self._users[0])

    def mini_user(self, email: str | None) -> dict[str, Any]:
        return user_ref(self.current_user(email))

    def list_page(
        self,
        module: str,
        keys: tuple[str, ...],
        *,
        sort_by: str = "id",
        sort_order: str = "desc",
        ids: list[str] | None = None,
        modified_after: str | None = None,
        start: Callable[[list[str]], int] = lambda ordered: 0,
        size: int = 200,
        reach: int | None = None,
    ) -> ListPage:
        """One page of a module's list, its rows serialised to JSON bytes.

        ``ids`` keeps only those records (in the order given), ``modified_after`` only records modified
        after that UTC text; ``start`` picks the offset from the whole ordered id list (page tokens
        need it), and no row at or past ``reach`` is served.
        """
        with self._lock:
            recs = self._records[module]
            if ids is not None:
                ordered = [i for i in dict.fromkeys(ids) if i in recs]
            else:
                ordered = self._ordered_ids(module, sort_by, sort_order)
            if modified_after is not None and ids is None and sort_by in SORTABLE:
                # The few records modified since, from the Modified_Time index, in the list's order
                # (insertion order is id order, and _ordered_ids' key for the other sorts): the same
                # list as filtering the ordered ids, without a pass over every record.
                found = [
                    i
                    for i in self._modified_index(module).at_least(recs, modified_after)
                    if (recs[i].get("Modified_Time") or "") > modified_after
                ]
                if sort_by == "id":
                    found.sort(key=int, reverse=sort_order == "desc")
                else:
                    found.sort(key=lambda r: (recs[r][sort_by] or "", int(r)), reverse=sort_order == "desc")
                ordered = found
            elif modified_after is not None:
                ordered = [i for i in ordered if (recs[i].get("Modified_Time") or "") > modified_after]
            offset = start(ordered)
            end = offset + size if reach is None else min(offset + size, reach)
            page_ids = ordered[offset:end]
            return ListPage(ordered, offset, end, page_ids, self._rows_json(module, page_ids, keys))

    def _rows_json(self, module: str, ids: list[str], keys: tuple[str, ...]) -> list[bytes]:
        """Each record projected to ``keys`` as JSON bytes; cached, since list pages are re-read a lot."""
        cache = self._row_cache.get((module, keys))
        if cache is None:
            if len(self._row_cache) >= 8:  # a few field sets in use at once; forget the oldest
                del self._row_cache[next(iter(self._row_cache))]
            cache = self._row_cache[(module, keys)] = {}
        recs = self._records[module]
        out = []
        for rid in ids:
            r = recs[rid]
            hit = cache.get(rid)
            if hit is None or hit[0] is not r:
                hit = cache[rid] = (r, orjson.dumps({k: r.get(k) for k in keys}))
            out.append(hit[1])
        return out

    def get(self, module: str, rid: str, fields: list[str] | None = None) -> Record | None:
        """A copy of one record (only the id and ``fields`` when given); None when there is none."""
        with self._lock:
            rec = self._records[module].get(rid)
            if rec is None:
                return None
            return dict(rec) if fields is None else {k: rec.get(k) for k in ["id", *fields]}

    def search(
        self, module: str, predicate: Predicate, fields: list[str] | None, start: int, end: int
    ) -> tuple[list[Record], bool]:
        """Matches ``start``..``end`` (newest first, as Zoho's search answers), and whether more match."""
        rows: list[Record] = []
        seen = 0
        with self._lock:
            recs = self._records[module]
            for rid in self._ordered_ids(module, "id", "desc"):
                rec = recs[rid]
                if not predicate(rec):
                    continue
                if seen >= end:
                    return rows, True
                if seen >= start:
                    rows.append(dict(rec) if fields is None else {k: rec.get(k) for k in ["id", *fields]})
                seen += 1
        return rows, False

    def count(self, module: str, predicate: Predicate | None = None) -> int:
        with self._lock:
            recs = self._records[module]
            return len(recs) if predicate is None else sum(1 for r in recs.values() if predicate(r))

    def coql(self, select_query: str) -> tuple[list[Record], bool]:
        """Run one COQL select over the org: (rows, more_records); EmulatorError as Zoho answers."""
        from sergas_nb.emulator.query.coql import run_coql

        with self._lock:
            return run_coql(select_query, _Catalog(self._records, self._id_index, self._modified_index))

    def deleted(self, module: str, kind: str = "all", modified_after: str | None = None) -> list[dict[str, Any]]:
        """Deleted-record entries, newest first: ``kind`` is all, recycle or permanent."""
        with self._lock:
            entries = self._deleted[module]
            out = [
                dict(e)
                for e in reversed(entries)
                if (kind == "all" or e["type"] == kind)
                and (modified_after is None or e["deleted_time"] > modified_after)
            ]
        return out

    def users(self, kind: str = "AllUsers", email: str | None = None) -> list[dict[str, Any]]:
        """Users of a ``type`` as Zoho's Get Users filters them (copies)."""
        with self._lock:
            if kind == "CurrentUser":
                chosen = [self._current_user(email)]
            elif kind in ("AdminUsers", "ActiveConfirmedAdmins"):
                chosen = [u for u in self._users if u["profile"]["name"] == "Administrator"]
            elif kind in ("DeactiveUsers", "NotConfirmedUsers", "DeletedUsers"):
                chosen = []  # every seeded user is active and confirmed
            else:
                chosen = list(self._users)
            return copy.deepcopy(chosen)

    def user(self, user_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._users_by_id.get(user_id)
            return copy.deepcopy(found) if found is not None else None

    def org(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._org)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {m: len(recs) for m, recs in self._records.items()}

    def _modified_index(self, module: str) -> ModifiedIndex:
        """The module's Modified_Time index (caller holds the lock); rebuilt once many ids moved."""
        idx = self._modified_indexes.get(module)
        if idx is None or idx.stale():
            idx = self._modified_indexes[module] = ModifiedIndex(self._records[module])
        return idx

    def _id_index(self, module: str) -> IdIndex:
        """The module's sorted id index, rebuilt after a write (caller holds the lock)."""
        idx = self._id_indexes.get(module)
        if idx is None or idx.version != self._version[module]:
            idx = self._id_indexes[module] = IdIndex(self._records[module], self._version[module])
        return idx

    def select(self, module: str, predicate: Predicate | None = None) -> list[Record]:
        """Every record of ``module`` matching ``predicate``, ascending id. Records are replaced,
        never mutated, on write, so the caller may read them after the lock is released."""
        with self._lock:
            recs = self._records[module]
            return [recs[k] for k in self._ordered_ids(module, "id", "asc") if predicate is None or predicate(recs[k])]

    def _ordered_ids(self, module: str, sort_by: str = "id", sort_order: str = "desc") -> list[str]:
        """Ids in the requested order; cached until the module's next write (lists are hot)."""
        key = (module, sort_by, sort_order)
        version = self._version[module]
        hit = self._order_cache.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        recs = self._records[module]
        if sort_by == "id":
            ids = list(recs)  # insertion order is id order: ids only ever grow
        else:
            ids = sorted(recs, key=lambda r: (recs[r][sort_by] or "", int(r)))
        if sort_order == "desc":
            ids.reverse()
        self._order_cache[key] = (version, ids)
        return ids

    # ----- writes -------------------------------------------------------------------------------

    def _new_id(self) -> str:
        self._next_id += 7
        return str(self._next_id)

    def _touch(self, module: str) -> None:
        self._version[module] += 1
        self.last_modified[module] = self.clock()

    def _coerce(self, module: str, field: dict[str, Any], value: Any, path: str) -> Any:
        """Check one value against its field; return it in stored (API) shape or raise ItemError."""
        api, dt = field["api_name"], field["data_type"]
        if value is None:
            return None
        if dt in ("text", "textarea", "email", "phone", "website"):
            if not isinstance(value, str):
                raise _invalid(api, path, dt if dt != "textarea" else "textarea")
            if len(value) > field["length"]:
                raise _invalid(api, path, dt, maximum_length=str(field["length"]))
            if dt == "email" and value and ("@" not in value or "." not in value.rpartition("@")[2]):
                raise _invalid(api, path, "email")
            return value
        if dt in ("integer", "bigint"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise _invalid(api, path, dt)
            if len(str(abs(value))) > field["length"]:
                raise _invalid(api, path, dt, maximum_length=str(field["length"]))
            return value
        if dt in ("currency", "double", "percent"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _invalid(api, path, dt)
            return float(value)
        if dt == "boolean":
            if not isinstance(value, bool):
                raise _invalid(api, path, "boolean")
            return value
        if dt == "date":
            if not isinstance(value, str) or len(value) != 10 or value[4] != "-":
                raise _invalid(api, path, "date")
            try:
                date.fromisoformat(value)
            except ValueError:
                raise _invalid(api, path, "date") from None
            return value
        if dt == "datetime":
            canon = _parse_datetime(value) if isinstance(value, str) else None
            if canon is None:
                raise _invalid(api, path, "datetime")
            return canon
        if dt == "picklist":
            if not isinstance(value, str):
                raise _invalid(api, path, "picklist")
            if value == "-None-":
                return None
            if value not in _allowed(module, api):
                raise _invalid(api, path, "picklist")
            return value
        if dt == "multiselectpicklist":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise _invalid(api, path, "multiselectpicklist")
            allowed = _allowed(module, api)
            for v in value:
                if v not in allowed:
                    raise _invalid(api, path, "multiselectpicklist")
            return list(value)
        if dt == "lookup":
            rid = _ref_id(value)
            if rid is None:
                raise _invalid(api, path, "jsonobject")
            target = field["lookup"]["module"]["api_name"]
            rec = self._records[target].get(rid)
            if rec is None:
                raise _invalid(api, path + ".id", message="the id given seems to be invalid")
            return {"name": rec.get(_NAME_FIELD[target]), "id": rid}
        if dt in ("ownerlookup", "userlookup"):
            rid = _ref_id(value)
            if rid is None:
                raise _invalid(api, path, "jsonobject")
            user = self._users_by_id.get(rid)
            if user is None:
                raise _invalid(api, path + ".id", message="the id given seems to be invalid")
            return user_ref(user)
        raise _invalid(api, path, dt)  # field types we do not model are not writable

    def _check(self, module: str, item: Any, i: int, existing: Record | None) -> dict[str, Any]:
        """Validate one input record; return the changes in stored shape (raises ItemError)."""
        if not isinstance(item, dict):
            raise ItemError(
                "INVALID_DATA", "invalid data", {"json_path": f"$.data[{i}]", "expected_data_type": "jsonobject"}
            )
        fmap = md.field_map(module)
        changes: dict[str, Any] = {}
        for key, value in item.items():
            field = fmap.get(key)
            if field is None:
                continue  # Zoho ignores keys that are not fields ("id", "$approval", typos)
            path = f"$.data[{i}].{key}"
            if field["read_only"]:
                raise _invalid(key, path, message="invalid data", reason="read only field")
            if field["system_mandatory"] and (value is None or value == ""):
                raise ItemError("MANDATORY_NOT_FOUND", "required field not found", {"api_name": key, "json_path": path})
            if field.get("multi_module_lookup"):  # What_Id / a note's Parent_Id: the module comes along
                try:
                    changes.update(poly_link(self._records, field, value, item.get("$se_module")))
                except LinkError as bad:
                    raise _invalid(key, path + bad.where, message=str(bad)) from None
                continue
            if field["data_type"] == "subform":  # rows on the parent: subforms.py says how Zoho merges them
                changes[key] = self._subform_rows(field, (existing or {}).get(key), value, path)
                continue
            changes[key] = self._coerce(module, field, value, path)
        if existing is None:
            for field in md.fields_for(module):
                if field["system_mandatory"] and changes.get(field["api_name"]) in (None, ""):
                    raise ItemError(
                        "MANDATORY_NOT_FOUND",
                        "required field not found",
                        {"api_name": field["api_name"], "json_path": f"$.data[{i}].{field['api_name']}"},
                    )
        dup_field = md.DUPLICATE_FIELDS.get(module, "")
        value = changes.get(dup_field) if dup_field else None
        if isinstance(value, str) and value:
            other = self._unique[module].get(value.lower())
            if other is not None and (existing is None or other != existing["id"]):
                owner = self._records[module][other].get("Owner")
                raise ItemError(
                    "DUPLICATE_DATA",
                    "duplicate data",
                    {
                        "api_name": dup_field,
                        "json_path": f"$.data[{i}].{dup_field}",
                        "duplicate_record": {
                            "module": {"api_name": module, "id": md.module_id(module)},
                            "id": other,
                            "Owner": owner,
                        },
                    },
                )
        return changes

    def _subform_rows(self, field: dict[str, Any], existing: Any, value: Any, path: str) -> list[Record]:
        sub = field["subform"]["module"]["api_name"]
        own = {f["api_name"]: f for f in md.subform_fields(sub) if not f["read_only"]}
        try:
            return merge_rows(
                existing if isinstance(existing, list) else None,
                value,
                own,
                lambda f, v, where: self._coerce(sub, f, v, path + where),
                self._new_id,
                self._now(),
            )
        except RowError as bad:
            details = {"api_name": field["api_name"], "json_path": path + bad.where, **bad.details}
            raise ItemError(bad.code, str(bad), details) from None

    def _attach_rows(self, module: str, rec: Record) -> None:
        """Subform rows name their parent (its id and display name) in Parent_Id."""
        for f in md.fields_for(module):
            if f["data_type"] == "subform" and isinstance(rec.get(f["api_name"]), list):
                rec[f["api_name"]] = attach(rec[f["api_name"]], rec["id"], rec.get(_NAME_FIELD.get(module, "")))

    def _derive(self, module: str, rec: Record) -> None:
        """Values Zoho computes itself."""
        if module in ("Leads", "Contacts"):
            rec["Full_Name"] = " ".join(p for p in (rec.get("First_Name"), rec.get("Last_Name")) if p) or None
        elif module == "Deals":
            amount, prob = rec.get("Amount"), rec.get("Probability")
            rec["Expected_Revenue"] = round(amount * prob / 100, 2) if amount is not None and prob is not None else None
        elif module == "Accounts":  # the formula field: Zoho recomputes it when the record is saved
            revenue, staff = rec.get("Annual_Revenue"), rec.get("Employees")
            rec["Revenue_Per_Employee"] = round(revenue / staff, 2) if revenue is not None and staff else None
        else:
            derive_activity(module, rec, self._now())

    def _rollup(self, account_ids: set[str] | None) -> None:
        """Recompute the Open_Deals_Amount rollup of these accounts (all when None) from their open
        deals. The account is replaced with the new value and its Modified_Time left alone: Zoho's
        rollup summary follows the child records without touching the parent's Modified_Time
        (../shared/reference/zoho-crm-v8.md, "Incremental reads")."""
        accounts = self._records["Accounts"]
        wanted = set(accounts) if account_ids is None else {a for a in account_ids if a in accounts}
        if not wanted:
            return
        sums: dict[str, float] = {}
        for deal in self._records["Deals"].values():
            link = deal.get("Account_Name")
            aid = link.get("id") if isinstance(link, dict) else None
            if aid in wanted and deal.get("Stage") not in md.CLOSED_STAGES and deal.get("Amount") is not None:
                sums[aid] = sums.get(aid, 0.0) + float(deal["Amount"])
        changed = False
        for aid in wanted:
            value = round(sums[aid], 2) if aid in sums else None
            rec = accounts[aid]
            if rec.get("Open_Deals_Amount") != value or "Open_Deals_Amount" not in rec:
                if account_ids is None:
                    rec["Open_Deals_Amount"] = value  # at load: nothing has read these dicts yet
                else:
                    accounts[aid] = {**rec, "Open_Deals_Amount": value}  # replace: readers may hold the old
                    changed = True
        if changed:
            self._version["Accounts"] += 1  # cached rows and orders are stale; last_modified is not moved

    def _deal_accounts(self, *records: Record | None) -> set[str]:
        out = set()
        for rec in records:
            link = (rec or {}).get("Account_Name")
            if isinstance(link, dict) and link.get("id"):
                out.add(str(link["id"]))
        return out

    def _index(self, module: str, rid: str, old: Record | None, new: Record | None) -> None:
        mod_idx = self._modified_indexes.get(module)
        if mod_idx is not None:
            mod_idx.touch(rid)
        field = md.DUPLICATE_FIELDS.get(module)
        if field is None:  # activities and notes have no default duplicate check
            return
        idx = self._unique[module]
        ov = old.get(field) if old else None
        nv = new.get(field) if new else None
        if isinstance(ov, str) and idx.get(ov.lower()) == rid:
            del idx[ov.lower()]
        if isinstance(nv, str) and nv:
            idx[nv.lower()] = rid

    def _success(self, rec: Record, message: str) -> Result:
        return {
            "code": "SUCCESS",
            "details": {
                "Modified_Time": rec["Modified_Time"],
                "Modified_By": _minified(rec["Modified_By"]),
                "Created_Time": rec["Created_Time"],
                "id": rec["id"],
                "Created_By": _minified(rec["Created_By"]),
            },
            "message": message,
            "status": "success",
        }

    def _insert_one(self, module: str, item: Any, i: int, user: dict[str, Any], now: str) -> Result:
        changes = self._check(module, item, i, None)
        rid = self._new_id()
        rec: Record = {"id": rid}  # first, as in Zoho's answers and the seeded records
        rec.update((f["api_name"], None) for f in md.fields_for(module))
        rec["Tag"] = []
        rec["Owner"] = user
        rec.update(changes)
        rec["Created_By"] = rec["Modified_By"] = user
        rec["Created_Time"] = rec["Modified_Time"] = now
        self._derive(module, rec)
        self._attach_rows(module, rec)
        self._records[module][rid] = rec
        self._index(module, rid, None, rec)
        if module == "Deals":
            self._rollup(self._deal_accounts(rec))
        return self._success(rec, "record added")

    def _update_one(self, module: str, rid: str, item: Any, i: int, user: dict[str, Any], now: str) -> Result:
        existing = self._records[module][rid]
        changes = self._check(module, item, i, existing)
        new = dict(existing)
        new.update(changes)
        new["Modified_By"] = user
        new["Modified_Time"] = now
        self._derive(module, new)
        self._attach_rows(module, new)
        self._records[module][rid] = new  # replace, never mutate: readers may hold the old dict
        self._index(module, rid, existing, new)
        if module == "Deals":
            self._rollup(self._deal_accounts(existing, new))
        return self._success(new, "record updated")

    def _now(self) -> str:
        return iso(self.clock())

    def insert(self, module: str, items: list[Any], user_email: str | None = None) -> list[Result]:
        with self._lock:
            user, now, out = self.mini_user(user_email), self._now(), []
            for i, item in enumerate(items):
                try:
                    out.append(self._insert_one(module, item, i, user, now))
                except ItemError as e:
                    out.append(e.result())
            self._touch(module)
            return out

    def update(
        self, module: str, items: list[Any], user_email: str | None = None, path_id: str | None = None
    ) -> list[Result]:
        """Update by each item's ``id`` (or ``path_id`` for PUT /{module}/{id})."""
        with self._lock:
            user, now, out = self.mini_user(user_email), self._now(), []
            for i, item in enumerate(items):
                try:
                    rid = (
                        path_id
                        if path_id is not None
                        else (_ref_id(item.get("id")) if isinstance(item, dict) else None)
                    )
                    if rid is None or rid not in self._records[module]:
                        if rid is None and path_id is None and isinstance(item, dict) and "id" not in item:
                            raise ItemError(
                                "MANDATORY_NOT_FOUND",
                                "required field not found",
                                {"api_name": "id", "json_path": f"$.data[{i}].id"},
                            )
                        raise _invalid("id", f"$.data[{i}].id", message="the id given seems to be invalid")
                    out.append(self._update_one(module, rid, item, i, user, now))
                except ItemError as e:
                    out.append(e.result())
            self._touch(module)
            return out

    def upsert(
        self, module: str, items: list[Any], duplicate_check_fields: list[str], user_email: str | None = None
    ) -> list[Result]:
        """Update the first record matching a duplicate-check field (in order), else insert."""
        with self._lock:
            user, now, out = self.mini_user(user_email), self._now(), []
            # The default field's index is maintained already; others are built once per call.
            default = md.DUPLICATE_FIELDS.get(module)
            indexes: dict[str, dict[Any, str]] = {default: self._unique[module]} if default else {}
            for i, item in enumerate(items):
                try:
                    match_id, match_field = None, None
                    if isinstance(item, dict):
                        for fname in duplicate_check_fields:
                            value = item.get(fname)
                            if value is None or value == "":
                                continue
                            if fname not in indexes:
                                indexes[fname] = self._value_index(module, fname)
                            match_id = indexes[fname].get(_key(value))
                            if match_id is not None and match_id in self._records[module]:
                                match_field = fname
                                break
                            match_id = None
                    if match_id is not None:
                        res = self._update_one(module, match_id, item, i, user, now)
                        res.update(action="update", duplicate_field=match_field)
                    else:
                        res = self._insert_one(module, item, i, user, now)
                        # Zoho's upsert sample always has "duplicate_field", null on an insert (the OpenAPI
                        # file types it as a string; the sample wins, see tests/fixtures/emulator.py).
                        # https://www.zoho.com/crm/developer/docs/api/v7/upsert-records.html
                        res.update(action="insert", duplicate_field=None)
                        rec = self._records[module][res["details"]["id"]]
                        for fname, idx in indexes.items():
                            if rec.get(fname) is not None:
                                idx.setdefault(_key(rec[fname]), rec["id"])
                    out.append(res)
                except ItemError as e:
                    out.append(e.result())
            self._touch(module)
            return out

    def _value_index(self, module: str, fname: str) -> dict[Any, str]:
        idx: dict[Any, str] = {}
        for rid, rec in self._records[module].items():
            v = rec.get(fname)
            if v is not None:
                idx.setdefault(_key(v), rid)
        return idx

    def delete(self, module: str, ids: Iterable[str], user_email: str | None = None) -> list[Result]:
        with self._lock:
            user, now, out = self.mini_user(user_email), self._now(), []
            for rid in ids:
                rec = self._records[module].pop(rid, None)
                if rec is None:
                    # Zoho's delete-records page (v7): a record already deleted is INVALID_DATA
                    # "record not deleted"; an id that never was one stays "the id given seems to be invalid".
                    # https://www.zoho.com/crm/developer/docs/api/v7/delete-records.html
                    gone = any(e["id"] == rid for e in self._deleted[module])
                    out.append(
                        {
                            "code": "INVALID_DATA",
                            "details": {"id": rid},
                            "message": "record not deleted" if gone else "the id given seems to be invalid",
                            "status": "error",
                        }
                    )
                    continue
                self._index(module, rid, rec, None)
                self._bin[module][rid] = rec
                if module == "Deals":
                    self._rollup(self._deal_accounts(rec))
                self._deleted[module].append(
                    {
                        "deleted_by": _minified(user),
                        "id": rid,
                        "display_name": rec.get(_NAME_FIELD.get(module, "id")),
                        "type": "recycle",
                        "created_by": _minified(rec.get("Created_By")),
                        "deleted_time": now,
                    }
                )
                out.append(
                    {"code": "SUCCESS", "details": {"id": rid}, "message": "record deleted", "status": "success"}
                )
            self._touch(module)
            return out

    def restore(self, module: str, ids: Iterable[str]) -> list[str]:
        """Restore records from the recycle bin, with their ids and values (Modified_Time included),
        as Zoho's Restore Recycle Bin Records does
        (https://www.zoho.com/crm/developer/docs/api/v8/restore-recycle-bin-records.html:
        POST /settings/recycle_bin/{record_ID}/actions/restore). They leave Get Deleted Records.
        Returns the ids restored (ids not in the bin are skipped)."""
        with self._lock:
            done = [rid for rid in dict.fromkeys(str(i) for i in ids) if rid in self._bin[module]]
            if not done:
                return []
            recs = self._records[module]
            for rid in done:
                rec = self._bin[module].pop(rid)
                recs[rid] = rec
                self._index(module, rid, None, rec)
            # Lists rely on insertion order being id order (ids only grow); a restored id is older.
            self._records[module] = dict(sorted(recs.items(), key=lambda kv: int(kv[0])))
            gone = set(done)
            self._deleted[module] = [e for e in self._deleted[module] if e["id"] not in gone]
            if module == "Deals":
                self._rollup(self._deal_accounts(*(self._records[module][r] for r in done)))
            self._touch(module)
            return done


def _allowed(module: str, api: str) -> frozenset[str]:
    return _ALLOWED.setdefault(
        (module, api), frozenset(p["actual_value"] for p in md.field_map(module)[api]["pick_list_values"])
    )


_ALLOWED: dict[tuple[str, str], frozenset[str]] = {}


def _ref_id(value: Any) -> str | None:
    """A record id as Zoho accepts it: "123", 123 (the SDK sends numbers) or {"id": ...}."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.isdigit():
        return value
    return None


def _key(value: Any) -> Any:
    """Duplicate checks ignore case for text; lookups compare by id."""
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, dict):
        return _ref_id(value)
    if isinstance(value, list):
        return tuple(value)
    return value


def _minified(user: dict[str, Any] | None) -> dict[str, Any] | None:
    return {"name": user["name"], "id": user["id"]} if user else None
