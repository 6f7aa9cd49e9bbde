"""Writes in batches, and what happened to every record, even when an answer is lost.

``send_batch`` sends one batch (at most 100 records) and classifies its outcome; ``dispatch`` sends
batches serially or through a thread pool bounded by ``max_in_flight``; ``write_all`` runs rounds
until every record's fate is known (or provably cannot be):

- ``ok``: Zoho answered per record (success or error).
- ``rejected``: Zoho refused the whole call (a 4xx, an auth failure): nothing was applied; every
  record of the batch fails with that code. An auth failure stops further batches.
- ``not_sent``: surely not applied (rate limited past the retry budget, connection refused, DNS):
  the batch is sent again in the next round.
- ``unknown``: sent, but the answer was lost (reset, read timeout, 5xx, an unreadable answer). The
  records are read back (``resolve``): applied ones are successes, the others are sent again.
  Inserts are read back by a caller-visible ``key`` (a unique field) or, without one, by the
  module's duplicate-check field when the rows carry it; their ids are recovered from it. What
  cannot be read back stays ``unknown``, and the result says so.

A transient failure never ends the run: the other batches go on, and each record ends up in the
result as success, error, or unknown.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import pandas as pd

from sergas_nb import _checks, _record_json, frames
from sergas_nb._coql import quote
from sergas_nb._fields import FieldMeta
from sergas_nb._gc import gc_paused
from sergas_nb._metrics import ContextExecutor
from sergas_nb._outcomes import WriteResult, result_frame
from sergas_nb._pipeline import Pipeline
from sergas_nb._reads import Reader
from sergas_nb._sdk import BATCH, RecordOutcome
from sergas_nb.errors import (
    Problem,
    ZohoAPIError,
    ZohoAuthError,
    ZohoConfigError,
    ZohoError,
    ZohoNotSentError,
    ZohoOutcomeUnknownError,
    ZohoRateLimitError,
    ZohoValidationError,
)

log = logging.getLogger("sergas_nb.writes")
client_log = logging.getLogger("sergas_nb.client")

Kind = Literal["ok", "rejected", "not_sent", "unknown"]
MAX_IN_FLIGHT = 10
MAX_ROUND_WAIT = 8.0  # seconds between rounds at most
COQL_IN = 50  # values in one COQL "in (...)"


@dataclass
class Batch:
    positions: list[int]  # positions of these items in the caller's input
    items: list[Any]


@dataclass
class BatchOutcome:
    batch: Batch
    kind: Kind
    outcomes: list[RecordOutcome] = field(default_factory=list)  # kind == "ok": one per item, in order
    error: ZohoError | None = None


@dataclass
class Verdict:
    """What reading a record back said about a lost write: applied (with the id found) or not."""

    applied: bool
    id: str | None = None


# ``resolve(items)`` reads the records of a lost batch back: one Verdict per item, or None where
# the CRM cannot tell (then the record stays unknown).
Resolver = Callable[[list[Any]], list[Verdict | None]]


def classify(exc: ZohoError) -> Kind:
    """Which of the four outcomes a whole-call failure means."""
    if isinstance(exc, ZohoRateLimitError | ZohoNotSentError):
        return "not_sent"
    if isinstance(exc, ZohoOutcomeUnknownError):
        return "unknown"
    if isinstance(exc, ZohoAPIError) and (exc.status is None or exc.status >= 500):
        return "unknown"  # a 5xx (or an SDK failure we cannot place) may follow an applied write
    return "rejected"


def send_batch(send: Callable[[list[Any]], list[RecordOutcome]], batch: Batch) -> BatchOutcome:
    """Send one batch (``send`` retries what is surely safe) and classify what came back."""
    try:
        return BatchOutcome(batch, "ok", outcomes=send(batch.items))
    except ZohoValidationError:
        raise
    except ZohoError as exc:
        return BatchOutcome(batch, classify(exc), error=exc)


def dispatch(
    batches: Sequence[Batch],
    send: Callable[[list[Any]], list[RecordOutcome]],
    *,
    max_in_flight: int = 1,
    on_done: Callable[[BatchOutcome], None] | None = None,
    pool: ThreadPoolExecutor | None = None,
) -> list[BatchOutcome]:
    """Send every batch (at most ``max_in_flight`` at a time); outcomes in batch order.
    ``pool``: long-lived threads to send from (else a pool is started for this call).

    After an auth failure no further batch is sent: they are 'rejected' with that error.
    """
    stop: list[ZohoError] = []
    lock = threading.Lock()

    def one(batch: Batch) -> BatchOutcome:
        with lock:
            stopped = stop[0] if stop else None
        if stopped is not None:
            out = BatchOutcome(batch, "rejected", error=stopped)
        else:
            out = send_batch(send, batch)
            if isinstance(out.error, ZohoAuthError):
                with lock:
                    stop.append(out.error)
        if on_done is not None:
            on_done(out)
        return out

    if max_in_flight <= 1 or len(batches) <= 1:
        return [one(b) for b in batches]
    if pool is None:
        with ContextExecutor(min(max_in_flight, len(batches)), thread_name_prefix="sergas-write") as own:
            return list(own.map(one, batches))
    # A shared pool may be larger than this call's limit, or busy with another write: a window
    # of max_in_flight keeps exactly that many of this call's batches going, the next one
    # submitted as soon as one ends.
    window = threading.BoundedSemaphore(max_in_flight)
    futures = []
    for b in batches:
        window.acquire()
        future = pool.submit(one, b)
        future.add_done_callback(lambda _: window.release())
        futures.append(future)
    wait(futures)  # every batch ends before an error (a bug: validation is done) is raised
    return [f.result() for f in futures]


def _split(positions: Sequence[int], items: Sequence[Any], size: int) -> list[Batch]:
    return [
        Batch(list(positions[i : i + size]), [items[p] for p in positions[i : i + size]])
        for i in range(0, len(positions), size)
    ]


def fate(
    status: str,
    id: str | None = None,
    code: str | None = None,
    message: str | None = None,
    field: str | None = None,
    action: str | None = None,
    resolution: str | None = None,
) -> dict[str, Any]:
    return {
        "id": id,
        "status": status,
        "code": code,
        "message": message,
        "field": field,
        "action": action,
        "resolution": resolution,
    }


def _describe(exc: ZohoError | None) -> str:
    return str(exc) if exc is not None else "no answer"


def write_all(
    items: Sequence[Any],
    send: Callable[[list[Any]], list[RecordOutcome]],
    *,
    resolve: Resolver | None,
    ids: Sequence[str | None] | None = None,
    batch_size: int = BATCH,
    max_in_flight: int = 1,
    rounds: int = 3,
    wait: float = 1.0,
    progress: bool = True,
    label: str = "write",
    wording: LostWording | None = None,
    pool: ThreadPoolExecutor | None = None,
) -> list[dict[str, Any]]:
    """Every item's fate (id, status success/error/unknown, code, message, field, action,
    resolution), in input order. ``ids``: the record id each item targets (None for inserts).
    ``pool``: long-lived threads to send from (the pipeline's ``writers``)."""
    if not 1 <= batch_size <= BATCH:
        raise ValueError(f"batch_size must be between 1 and {BATCH}")
    if max_in_flight < 1:
        raise ValueError("max_in_flight must be at least 1")
    known_ids = list(ids) if ids is not None else [None] * len(items)
    fates: list[dict[str, Any] | None] = [None] * len(items)
    notes: dict[int, str] = {}  # how a record got its fate, when it took more than one answer
    pending = list(range(len(items)))
    bar = _bar(progress, len(items), label)
    last_error: dict[int, ZohoError | None] = {}
    try:
        for round_no in range(rounds + 1):

            def answered(out: BatchOutcome, first: bool = round_no == 0) -> None:
                # Zoho's per-record answers become fates as each batch ends, while the others are
                # in flight, not all after the last one (a 4,999-record write's tail waited on it).
                # Positions are distinct per batch; ``notes`` is only written between rounds.
                if out.kind == "ok":
                    for p, o in zip(out.batch.positions, out.outcomes, strict=True):
                        fates[p] = fate(
                            o.status, o.id or known_ids[p], o.code, o.message, o.field, o.action, notes.get(p)
                        )
                if bar is not None and first:
                    bar.update(len(out.batch.positions))

            outcomes = dispatch(
                _split(pending, items, batch_size), send, max_in_flight=max_in_flight, on_done=answered, pool=pool
            )
            again: list[int] = []
            lost: list[int] = []
            refused = False
            for out in outcomes:
                pos = out.batch.positions
                if out.kind == "ok":
                    continue  # settled as it ended (``answered``)
                elif out.kind == "rejected":
                    code = getattr(out.error, "code", None) or type(out.error).__name__
                    for p in pos:
                        fates[p] = fate("error", known_ids[p], code, _describe(out.error), resolution=notes.get(p))
                elif out.kind == "not_sent":
                    refused = True
                    again += pos
                    for p in pos:
                        last_error[p] = out.error
                else:
                    lost += pos
                    for p in pos:
                        last_error[p] = out.error
            if lost:
                log.warning("%s: the answer for %d record(s) was lost; reading them back", label, len(lost))
                settled = settle_lost(
                    [items[p] for p in lost],
                    resolve,
                    [known_ids[p] for p in lost],
                    [last_error[p] for p in lost],
                    wording or BATCH_LOST,
                )
                for p, settled_fate in zip(lost, settled, strict=True):
                    if settled_fate is not None:
                        fates[p] = settled_fate
                    else:
                        notes[p] = (wording or BATCH_LOST).not_applied
                        again.append(p)
            pending = sorted(again)
            if not pending:
                break
            if round_no < rounds:
                log.warning("%s: sending %d record(s) again (round %d)", label, len(pending), round_no + 2)
                if refused:
                    # refused, not lost (rate limits, token throttling): give the cause time to pass
                    time.sleep(min(MAX_ROUND_WAIT, wait * 2**round_no))
        for p in pending:  # still not sent (or not applied) after every round
            fates[p] = fate(
                "error",
                known_ids[p],
                "NOT_SENT",
                f"not written after {rounds + 1} attempts: {_describe(last_error.get(p))}",
                resolution=notes.get(p),
            )
    finally:
        if bar is not None:
            bar.close()
    assert all(f is not None for f in fates)
    return [f for f in fates if f is not None]


@dataclass(frozen=True)
class LostWording:
    """How a settled lost write reads in the outcome table (batches and Bulk Write word it apart)."""

    unknown: Callable[[ZohoError | None], str]  # the message of a record that could not be read back
    applied: str  # the message of a record read back as applied
    applied_resolution: str
    not_applied: str = "read back: not applied; sent again"


BATCH_LOST = LostWording(
    lambda exc: (
        "the answer was lost and the record could not be read back; it may or may not "
        f"have been written ({_describe(exc)})"
    ),
    "the answer was lost; read back: applied",
    "read back: applied",
)


def settle_lost(
    items: Sequence[Any],
    resolve: Resolver | None,
    ids: Sequence[str | None],
    errors: Sequence[ZohoError | None],
    wording: LostWording,
) -> list[dict[str, Any] | None]:
    """The one lost-answer resolver (batches and Bulk Write): the records are read back, never
    blindly resent. One fate per item: success (read back as applied), unknown (the CRM could not
    say), or None: not applied, so the caller sends it again. ``errors``: what lost each answer."""
    out: list[dict[str, Any] | None] = []
    for k, verdict in enumerate(_resolve(resolve, list(items))):
        if verdict is None:
            out.append(
                fate(
                    "unknown",
                    ids[k],
                    getattr(errors[k], "code", None) or "UNKNOWN",
                    wording.unknown(errors[k]),
                    resolution="unresolved",
                )
            )
        elif verdict.applied:
            out.append(
                fate("success", verdict.id or ids[k], "SUCCESS", wording.applied, resolution=wording.applied_resolution)
            )
        else:
            out.append(None)
    return out


def _resolve(resolve: Resolver | None, items: list[Any]) -> list[Verdict | None]:
    if resolve is None:
        return [None] * len(items)
    try:
        verdicts = resolve(items)
    except ZohoValidationError:  # our own read-back query is wrong: a bug to see, not an unknown
        raise
    except ZohoError as exc:  # the read-back failed too: these stay unknown
        log.warning("reading lost writes back failed: %s", exc)
        return [None] * len(items)
    if len(verdicts) != len(items):
        raise AssertionError("a resolver returns one verdict per item")
    return verdicts


def _bar(progress: bool, total: int, label: str) -> Any:
    """A tqdm.auto bar for long writes (10 batches or more) unless ``progress`` is False."""
    if not progress or total < 10 * BATCH:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=label, unit="rec", leave=False)


# ---------------------------------------------------------------------------------- read back


class RecordSource(Protocol):
    """What reading lost writes back needs: typed records by condition and the fields frame (a
    ``ZohoClient`` is one; inside the client, :class:`ReadBack` over its reader)."""

    def records(self, module: str, fields: Any = None, where: str | None = None) -> Any: ...

    def records_by_ids(self, module: str, ids: Any, fields: Any = None) -> pd.DataFrame: ...

    def fields(self, module: str) -> pd.DataFrame: ...


class ReadBack:
    """A :class:`RecordSource` over a pipeline's reader (the client's own writes read back here)."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    def records(self, module: str, fields: Any = None, where: str | None = None) -> Any:
        return self.reader.records(module, fields=fields, where=where)

    def records_by_ids(self, module: str, ids: Any, fields: Any = None) -> pd.DataFrame:
        return self.reader.by_ids(module, [str(i) for i in ids], fields)

    def fields(self, module: str) -> pd.DataFrame:
        return self.reader.fields.frame(module)


def records_where_in(
    client: RecordSource, module: str, column: str, values: Sequence[Any], fields: Sequence[str]
) -> list[dict[str, Any]]:
    """Rows (as dicts of the client's typed frame) whose ``column`` is one of ``values``, read with
    ``client.records(where=...)`` 50 values a query."""
    rows: list[dict[str, Any]] = []
    wanted = list(dict.fromkeys(str(v) for v in values))
    for start in range(0, len(wanted), COQL_IN):
        chunk = wanted[start : start + COQL_IN]
        frame = client.records(module, fields=list(fields), where=f"{column} in ({', '.join(quote(v) for v in chunk)})")
        rows.extend(frame.to_dict("records"))
    return rows


def values_by_id(
    client: RecordSource, module: str, ids: Sequence[str], fields: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """What the CRM holds now for ``fields`` of these records, as JSON-native values by id
    (records that do not exist are absent). Read by id (100 a call, the calls in parallel: the
    reader's ``by_ids``), not by COQL ``id in (...)``, 50 a query, one query after another."""
    if not ids:
        return {}
    meta = _checks.field_map(client.fields(module))
    out: dict[str, dict[str, Any]] = {}
    for row in frames.frame_rows(client.records_by_ids(module, list(ids), list(fields))):
        values = {}
        for f in fields:
            data_type = meta.get(f, {}).get("data_type")
            raw = row.get(f) if f in row else row.get(f"{f}.id")
            values[f] = _checks.to_json_value(raw, data_type)
        out[str(row["id"])] = values
    return out


def resolve_updates(client: RecordSource, module: str) -> Resolver:
    """An update was applied when the CRM holds every value it sent."""

    def resolve(items: list[dict[str, Any]]) -> list[Verdict | None]:
        meta = _checks.field_map(client.fields(module))
        fields = sorted({k for item in items for k in item if k != "id"})
        now = values_by_id(client, module, [str(i["id"]) for i in items], fields)
        out: list[Verdict | None] = []
        for item in items:
            held = now.get(str(item["id"]))
            if held is None:
                out.append(Verdict(False))  # gone: sending again gets Zoho's own per-record verdict
                continue
            same = all(
                _checks.same_value(_checks.to_json_value(v, meta.get(k, {}).get("data_type")), held.get(k))
                for k, v in item.items()
                if k != "id"
            )
            out.append(Verdict(same, str(item["id"])))
        return out

    return resolve


def resolve_inserts(client: RecordSource, module: str, key: str) -> Resolver:
    """An insert was applied when a record with its ``key`` value exists; its id is recovered."""

    def resolve(items: list[dict[str, Any]]) -> list[Verdict | None]:
        found: dict[str, str] = {}
        for row in records_where_in(client, module, key, [i[key] for i in items], [key]):
            found.setdefault(str(row[key]), str(row["id"]))
        return [Verdict(True, found[str(i[key])]) if str(i[key]) in found else Verdict(False) for i in items]

    return resolve


def duplicate_check_field(fmap: Mapping[str, Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]) -> str | None:
    """The module's duplicate-check field when these rows carry it, else None.

    Zoho's field metadata marks it with a non-empty ``unique`` object (``{"casesensitive":
    "false"}``; crm-oas v8.0 fields.json, schema ``fields.unique``, and
    https://www.zoho.com/crm/developer/docs/api/v8/field-meta.html); an insert repeating its value
    is refused with DUPLICATE_DATA, so a record found by it is the one the insert made, and
    sending again can never make a twin."""
    carried = {k for r in rows for k, v in r.items() if v is not None}
    for name, f in fmap.items():
        if (
            f.get("unique")
            and name in carried
            and not frames.is_read_only(f)
            and frames.kind_of(f) in (frames.TEXT, frames.INT, frames.PICK)
        ):
            return name
    return None


CREATED_SKEW = pd.Timedelta(minutes=5)  # clocks of client and CRM may differ this much


def resolve_inserts_by_duplicate_check(client: RecordSource, module: str, key: str, since: pd.Timestamp) -> Resolver:
    """Inserts read back by the module's duplicate-check field. A row whose value is missing or
    repeated in the input cannot be told apart: it stays unknown. A record found with the value
    that existed before this write (created before ``since``) means the insert was refused as a
    duplicate: it is sent again, and Zoho's own DUPLICATE_DATA answer names the record."""

    def resolve(items: list[dict[str, Any]]) -> list[Verdict | None]:
        values = [i.get(key) for i in items]
        counts: dict[str, int] = {}
        for v in values:
            if v is not None and str(v).strip():
                counts[str(v)] = counts.get(str(v), 0) + 1
        wanted = [str(v) for v in values if v is not None and counts.get(str(v)) == 1]
        found: dict[str, tuple[str, Any]] = {}
        if wanted:
            has_created = "Created_Time" in _checks.field_map(client.fields(module))
            cols = [key, "Created_Time"] if has_created else [key]
            for row in records_where_in(client, module, key, wanted, cols):
                found.setdefault(str(row[key]), (str(row["id"]), row.get("Created_Time")))
        out: list[Verdict | None] = []
        for v in values:
            if v is None or counts.get(str(v)) != 1:
                out.append(None)
            elif str(v) not in found:
                out.append(Verdict(False))
            else:
                rid, created = found[str(v)]
                old = created is not None and not pd.isna(created) and pd.Timestamp(created) < since - CREATED_SKEW
                out.append(Verdict(False) if old else Verdict(True, rid))
        return out

    return resolve


def insert_wording(module: str, key: str | None) -> LostWording:
    """How lost inserts read without ``key=``: by the duplicate-check field, or with no key at all."""
    if key is None:
        return LostWording(
            lambda exc: (
                "the answer was lost and the record could not be read back: these rows carry no "
                f"duplicate-check field of {module} to find it by; it may or may not have been written "
                f"({_describe(exc)}). Give key= a field unique per row (an external id) to make inserts recoverable"
            ),
            BATCH_LOST.applied,
            BATCH_LOST.applied_resolution,
        )
    return LostWording(
        lambda exc: (
            f"the answer was lost and the record could not be read back by {key} (missing or repeated in the "
            f"input); it may or may not have been written ({_describe(exc)}). Give key= a field unique per row"
        ),
        f"the answer was lost; read back by {key} (duplicate-check field): applied",
        f"read back by {key}: applied",
        f"read back by {key}: not applied; sent again",
    )


def resolve_deletes(client: RecordSource, module: str) -> Resolver:
    """A delete was applied when the record is gone."""

    def resolve(items: list[str]) -> list[Verdict | None]:
        present = {str(r["id"]) for r in records_where_in(client, module, "id", items, ["id"])}
        return [Verdict(str(i) not in present, str(i)) for i in items]

    return resolve


def resolve_by_resending(items: list[Any]) -> list[Verdict | None]:
    """Upserts match on their duplicate-check fields: sending again cannot create a twin."""
    return [Verdict(False) for _ in items]


# ---------------------------------------------------------------------------------- the writer

BULK_WRITE_LOST = LostWording(
    lambda exc: (
        f"the Bulk Write job may or may not have applied this record ({getattr(exc, 'message', exc)});"
        " it could not be read back"
    ),
    "record updated",
    "applied by the Bulk Write job (read back)",
)


@dataclass
class Prepared:
    """A write's records checked and in the API's shape, before anything is sent."""

    payload: list[dict[str, Any]]
    fmap: dict[str, dict[str, Any]]
    labels: list[Any]  # the outcome table's ``row``: index labels of a frame, else positions


def prepare(
    fields: FieldMeta,
    module: str,
    data: Any,
    operation: Literal["insert", "update", "upsert"],
    *,
    na: Literal["clear", "skip"],
) -> Prepared:
    """The one write preparation (batches and Bulk Write): field metadata, the payload (raises
    before anything is sent) and the row labels."""
    meta = fields.meta(module)
    payload = frames.to_payload(data, meta, operation, na=na)
    labels = list(data.index) if isinstance(data, pd.DataFrame) else list(range(len(payload)))
    return Prepared(payload, frames.field_map(meta), labels)


def check_write_input(data: Any, operation: str) -> pd.DataFrame | list[Mapping[str, Any]]:
    """The records of a write, or a clear error for input that is not records."""
    if data is None:
        raise ZohoValidationError([Problem(None, f"{operation}: give a DataFrame or a list of dicts, not None")])
    if isinstance(data, Mapping):
        return [data]
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise ZohoValidationError(
            [Problem(None, f"{operation}: give a DataFrame or a list of dicts, not {type(data).__name__}")]
        )
    return list(data)


def check_in_flight(max_in_flight: int) -> None:
    if not isinstance(max_in_flight, int) or isinstance(max_in_flight, bool) or not 1 <= max_in_flight <= MAX_IN_FLIGHT:
        raise ZohoValidationError(
            [Problem("max_in_flight", f"must be an integer from 1 to {MAX_IN_FLIGHT}", None, max_in_flight)]
        )


class Writer:
    """Every write of one client: batches (JSON built in _record_json.py, sent through the
    pipeline), or Bulk Write jobs; lost answers read
    back through ``source`` (the client's reader). Takes the pipeline, never the client."""

    def __init__(self, pipeline: Pipeline, fields: FieldMeta, source: RecordSource) -> None:
        self.p, self.fields, self.source = pipeline, fields, source

    def write(
        self,
        module: str,
        operation: Literal["insert", "update", "upsert"],
        data: Any,
        *,
        na: Literal["clear", "skip"],
        trigger: list[str] | None,
        duplicate_check_fields: list[str] | None = None,
        key: str | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
        progress: bool = True,
        method: Literal["auto", "batches", "bulk_write"] = "batches",
        bulk_write_min: int | None = None,
    ) -> WriteResult:
        data = check_write_input(data, operation)
        check_in_flight(max_in_flight)
        # Cyclic GC off for the write, as for reads (sergas_nb._gc): the payload, JSON and
        # outcomes are thousands of containers that die by reference counting, and the collector
        # walked them again and again: 40-odd collections and up to a quarter second of pauses
        # in a 4,999-record update, against 3 collections for the floor client's.
        with gc_paused():
            prep = prepare(self.fields, module, data, operation, na=na)
            frames.check_write_payload(
                prep.payload, prep.fmap, operation, key=key, duplicate_check_fields=duplicate_check_fields
            )
            if operation == "update" and self._by_bulk_write(method, prep.payload, trigger, bulk_write_min):
                return self.result(operation, module, prep.labels, self._update_by_bulk_write(module, prep))
            fates = self._batches(
                module,
                operation,
                prep.payload,
                prep.fmap,
                trigger,
                duplicate_check_fields,
                key,
                max_in_flight,
                progress,
            )
            return self.result(operation, module, prep.labels, fates)

    def update_fates(self, module: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """What ``write(module, "update", rows, na="clear", method="batches", max_in_flight=1)``
        reports, as one dict per row (id, status, code, message, ...) instead of the table: a
        plan journals each batch's outcomes, and a frame per batch, read back into dicts, cost more
        client CPU than the batch's JSON. The same checks run first."""
        prep = prepare(self.fields, module, rows, "update", na="clear")
        frames.check_write_payload(prep.payload, prep.fmap, "update")
        return self._batches(module, "update", prep.payload, prep.fmap, None, None, None, 1, False)

    def delete(self, module: str, ids: Any, *, max_in_flight: int, progress: bool) -> WriteResult:
        if ids is None:
            raise ZohoValidationError([Problem("ids", "give the ids to delete, not None")])
        if isinstance(ids, (str, int)):
            ids = [ids]
        clean = _checks.check_ids(list(ids), unique=True)
        check_in_flight(max_in_flight)
        fates = write_all(
            clean,
            self._sender("delete", module, lambda part: self.p.sdk.delete(module, part)),
            resolve=resolve_deletes(self.source, module),
            ids=clean,
            max_in_flight=max_in_flight,
            wait=max(1.0, self.p.retry.base),
            progress=progress,
            label=f"delete {module}",
            pool=self.p.writers(MAX_IN_FLIGHT),
        )
        return self.result("delete", module, list(range(len(clean))), fates)

    def bulk_write(
        self,
        module: str,
        data: Any,
        operation: Literal["insert", "update", "upsert"],
        *,
        find_by: str | None,
        na: Literal["clear", "skip"],
    ) -> WriteResult:
        """Write ``data`` through Bulk Write jobs (25,000 rows a file); one outcome row per input
        row, the same table ``update()`` returns."""
        from sergas_nb._bulk_api import unsuitable, write_payload

        prep = prepare(self.fields, module, data, operation, na=na)
        blocker = unsuitable(prep.payload)
        if blocker:
            raise ZohoValidationError([Problem(None, blocker)])
        rows = write_payload(self.p, module, operation, prep.payload, prep.fmap, prep.labels, find_by=find_by)
        return WriteResult(operation, module, result_frame(rows))

    def _by_bulk_write(
        self, method: str, payload: Sequence[Mapping[str, Any]], trigger: list[str] | None, bulk_write_min: int | None
    ) -> bool:
        from sergas_nb._bulk_api import unsuitable

        if method == "batches":
            return False  # the payload's fitness for a job (a pass over every record) is not asked
        if method == "bulk_write":
            blocker = unsuitable(payload)
            if blocker:
                raise ZohoValidationError([Problem("method", blocker)])
            if trigger is not None:
                raise ZohoValidationError([Problem("trigger", "Bulk Write jobs take no trigger: use method='batches'")])
            return bool(payload)
        if (
            method == "auto"
            and bulk_write_min is not None
            and len(payload) >= bulk_write_min
            and trigger is None
            and not unsuitable(payload)
        ):
            client_log.info("update of %d records: one Bulk Write job (from %d records)", len(payload), bulk_write_min)
            return True
        return False

    def _update_by_bulk_write(self, module: str, prep: Prepared) -> list[dict[str, Any]]:
        """Updates through Bulk Write; when the job's outcome is lost, the CRM decides what was applied."""
        from sergas_nb._bulk_api import JobNotCreated, write_payload

        payload = prep.payload
        start = time.perf_counter()

        def in_batches(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return self._batches(module, "update", rows, prep.fmap, None, None, None, MAX_IN_FLIGHT, False)

        def method_event(detail: str | None = None) -> None:
            self.p.event(
                "write_method", "update", "bulk_write", start, records=len(payload), module=module, detail=detail
            )

        try:
            rows = write_payload(self.p, module, "update", payload, prep.fmap, prep.labels)
        except (ZohoValidationError, ZohoConfigError):  # nothing was sent: no outcome to resolve
            raise
        except JobNotCreated as exc:  # no job exists: nothing to read back, every record in batches
            client_log.warning(
                "Bulk Write of %d %s records: no job was created (%s); sending them in batches",
                len(payload),
                module,
                exc.message,
            )
            batched = in_batches(payload)
            method_event(f"no job created; {len(payload)} sent in batches")
            return batched
        except ZohoError as exc:
            client_log.warning(
                "Bulk Write of %d %s records did not finish (%s): reading them back", len(payload), module, exc.message
            )
            ids = [str(row["id"]) for row in payload]
            resolve = resolve_updates(self.source, module)
            fates = settle_lost(payload, resolve, ids, [exc] * len(payload), BULK_WRITE_LOST)
            rest = [pos for pos, f in enumerate(fates) if f is None]
            if rest:
                again = in_batches([payload[p] for p in rest])
                for pos, sent in zip(rest, again, strict=True):
                    # the table says these took more than one answer, as a batch's resent records do
                    fates[pos] = {**sent, "resolution": sent.get("resolution") or BULK_WRITE_LOST.not_applied}
            method_event(
                f"job unfinished; {len(payload) - len(rest)} read back as applied, {len(rest)} sent in batches"
            )
            return [f for f in fates if f is not None]
        method_event()
        return [{**{k: v for k, v in row.items() if k != "row"}, "resolution": None} for row in rows]

    def _batches(
        self,
        module: str,
        operation: Literal["insert", "update", "upsert"],
        payload: list[dict[str, Any]],
        fmap: Mapping[str, Mapping[str, Any]],
        trigger: list[str] | None,
        duplicate_check_fields: list[str] | None,
        key: str | None,
        max_in_flight: int,
        progress: bool,
    ) -> list[dict[str, Any]]:
        resolve: Resolver | None
        wording: LostWording | None = None
        if operation == "update":
            resolve = resolve_updates(self.source, module)
        elif operation == "upsert":
            resolve = resolve_by_resending
        elif key:
            resolve = resolve_inserts(self.source, module, key)
        else:
            # No key= given: the module's duplicate-check field, when the rows carry it.
            dup = duplicate_check_field(fmap, payload)
            since = pd.Timestamp.now(tz="UTC")
            resolve = resolve_inserts_by_duplicate_check(self.source, module, dup, since) if dup else None
            wording = insert_wording(module, dup)
        return write_all(
            payload,
            self._json_sender(operation, module, fmap, trigger, duplicate_check_fields),
            resolve=resolve,
            ids=[r.get("id") for r in payload],
            max_in_flight=max_in_flight,
            wait=max(1.0, self.p.retry.base),
            progress=progress,
            label=f"{operation} {module}",
            wording=wording,
            pool=self.p.writers(MAX_IN_FLIGHT),
        )

    def _json_sender(
        self,
        operation: Literal["insert", "update", "upsert"],
        module: str,
        fmap: Mapping[str, Mapping[str, Any]],
        trigger: list[str] | None,
        duplicate_check_fields: list[str] | None,
    ) -> Callable[[list[Any]], list[RecordOutcome]]:
        """One batch as JSON built from the payload (_record_json.py), through the pipeline: the
        governor's slots (writes of more than 10 records count against the sub-concurrency),
        the token and its refresh, retries only where surely not applied (429, not sent)."""
        method, suffix = _record_json.ROUTES[operation]
        path = f"/crm/v8/{module}{suffix}"

        def send(part: list[dict[str, Any]]) -> list[RecordOutcome]:
            raw = _record_json.body(part, fmap, trigger=trigger, duplicate_check_fields=duplicate_check_fields)
            resp, token = self.p.send_json(method, path, raw, sub=len(part) > 10)
            ids = [str(r["id"]) if r.get("id") else None for r in part]
            return _record_json.outcomes(resp, f"{operation} {module}", token, ids)

        return lambda part: self.p.call(operation, lambda: send(part), idempotent=False, module=module, count=len)

    def _sender(
        self, operation: str, module: str, send: Callable[[Sequence[Any]], list[RecordOutcome]]
    ) -> Callable[[list[Any]], list[RecordOutcome]]:
        """One batch through the call wrapper: retried only where surely not applied (429, not sent).
        Each attempt holds one of the governor's slots (Zoho counts writes of more than 10 records
        against the sub-concurrency), so parallel batches share the org's limits with reads."""

        def governed(part: Sequence[Any]) -> list[RecordOutcome]:
            governor = self.p.governor
            with governor.slot(sub=len(part) > 10):
                try:
                    outcomes = send(part)
                except ZohoRateLimitError:
                    governor.throttled()
                    raise
            governor.succeeded()
            return outcomes

        return lambda part: self.p.call(operation, lambda: governed(part), idempotent=False, module=module, count=len)

    def result(self, operation: str, module: str, labels: Sequence[Any], fates: list[dict[str, Any]]) -> WriteResult:
        if len(labels) != len(fates):
            raise AssertionError("one fate per input row")
        result = WriteResult.of_fates(operation, module, list(labels), fates)
        # counted on the fates, not the frame: two comparisons over a string column cost more
        # than the rest of a 200-record write's bookkeeping
        failed = sum(1 for f in fates if f["status"] == "error")
        unknown = sum(1 for f in fates if f["status"] == "unknown")
        if failed or unknown:
            client_log.warning(
                "%s %s: %d of %d records failed, %d unknown", operation, module, failed, len(fates), unknown
            )
        return result
