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
  Inserts can only be read back by a caller-visible ``key`` (a unique field); their ids are
  recovered from it. What cannot be read back stays ``unknown``, and the result says so.

A transient failure never ends the run: the other batches go on, and each record ends up in the
result as success, error, or unknown.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sergas_nb._sdk import BATCH, Outcome
from sergas_nb.errors import (
    ZohoAPIError,
    ZohoAuthError,
    ZohoError,
    ZohoNotSentError,
    ZohoOutcomeUnknownError,
    ZohoRateLimitError,
    ZohoValidationError,
)

if TYPE_CHECKING:
    from sergas_nb.client import ZohoClient

log = logging.getLogger("sergas_nb.writes")

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
    outcomes: list[Outcome] = field(default_factory=list)  # kind == "ok": one per item, in order
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


def send_batch(send: Callable[[list[Any]], list[Outcome]], batch: Batch) -> BatchOutcome:
    """Send one batch (``send`` retries what is surely safe) and classify what came back."""
    try:
        return BatchOutcome(batch, "ok", outcomes=send(batch.items))
    except ZohoValidationError:
        raise
    except ZohoError as exc:
        return BatchOutcome(batch, classify(exc), error=exc)


def dispatch(
    batches: Sequence[Batch],
    send: Callable[[list[Any]], list[Outcome]],
    *,
    max_in_flight: int = 1,
    on_done: Callable[[BatchOutcome], None] | None = None,
) -> list[BatchOutcome]:
    """Send every batch (at most ``max_in_flight`` at a time); outcomes in batch order.

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
    with ThreadPoolExecutor(max_workers=min(max_in_flight, len(batches)), thread_name_prefix="sergas-write") as pool:
        return list(pool.map(one, batches))


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
    send: Callable[[list[Any]], list[Outcome]],
    *,
    resolve: Resolver | None,
    ids: Sequence[str | None] | None = None,
    batch_size: int = BATCH,
    max_in_flight: int = 1,
    rounds: int = 3,
    wait: float = 1.0,
    progress: bool = True,
    label: str = "write",
) -> list[dict[str, Any]]:
    """Every item's fate (id, status success/error/unknown, code, message, field, action,
    resolution), in input order. ``ids``: the record id each item targets (None for inserts)."""
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
            outcomes = dispatch(
                _split(pending, items, batch_size),
                send,
                max_in_flight=max_in_flight,
                on_done=(lambda o: bar.update(len(o.batch.positions))) if bar is not None and round_no == 0 else None,
            )
            again: list[int] = []
            lost: list[int] = []
            refused = False
            for out in outcomes:
                pos = out.batch.positions
                if out.kind == "ok":
                    for p, o in zip(pos, out.outcomes, strict=True):
                        fates[p] = fate(
                            o.status, o.id or known_ids[p], o.code, o.message, o.field, o.action, notes.get(p)
                        )
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
                verdicts = _resolve(resolve, [items[p] for p in lost])
                for p, v in zip(lost, verdicts, strict=True):
                    if v is None:
                        fates[p] = fate(
                            "unknown",
                            known_ids[p],
                            getattr(last_error[p], "code", None) or "UNKNOWN",
                            f"the answer was lost and the record could not be read back; it may or may not "
                            f"have been written ({_describe(last_error[p])})",
                            resolution="unresolved",
                        )
                    elif v.applied:
                        fates[p] = fate(
                            "success",
                            v.id or known_ids[p],
                            "SUCCESS",
                            "the answer was lost; read back: applied",
                            resolution="read back: applied",
                        )
                    else:
                        notes[p] = "read back: not applied; sent again"
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


def _resolve(resolve: Resolver | None, items: list[Any]) -> list[Verdict | None]:
    if resolve is None:
        return [None] * len(items)
    try:
        verdicts = resolve(items)
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


def quote(value: Any) -> str:
    """A COQL string literal."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def records_where_in(
    client: ZohoClient, module: str, column: str, values: Sequence[Any], fields: Sequence[str]
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
    client: ZohoClient, module: str, ids: Sequence[str], fields: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """What the CRM holds now for ``fields`` of these records, as JSON-native values by id
    (records that do not exist are absent)."""
    from sergas_nb.edits import checks

    meta = checks.field_map(client.fields(module))
    out: dict[str, dict[str, Any]] = {}
    for row in records_where_in(client, module, "id", ids, fields):
        values = {}
        for f in fields:
            data_type = meta.get(f, {}).get("data_type")
            raw = row.get(f) if f in row else row.get(f"{f}.id")
            values[f] = checks.to_json_value(raw, data_type)
        out[str(row["id"])] = values
    return out


def resolve_updates(client: ZohoClient, module: str) -> Resolver:
    """An update was applied when the CRM holds every value it sent."""
    from sergas_nb.edits import checks

    def resolve(items: list[dict[str, Any]]) -> list[Verdict | None]:
        meta = checks.field_map(client.fields(module))
        fields = sorted({k for item in items for k in item if k != "id"})
        now = values_by_id(client, module, [str(i["id"]) for i in items], fields)
        out: list[Verdict | None] = []
        for item in items:
            held = now.get(str(item["id"]))
            if held is None:
                out.append(Verdict(False))  # gone: sending again gets Zoho's own per-record verdict
                continue
            same = all(
                checks.same_value(checks.to_json_value(v, meta.get(k, {}).get("data_type")), held.get(k))
                for k, v in item.items()
                if k != "id"
            )
            out.append(Verdict(same, str(item["id"])))
        return out

    return resolve


def resolve_inserts(client: ZohoClient, module: str, key: str) -> Resolver:
    """An insert was applied when a record with its ``key`` value exists; its id is recovered."""

    def resolve(items: list[dict[str, Any]]) -> list[Verdict | None]:
        found: dict[str, str] = {}
        for row in records_where_in(client, module, key, [i[key] for i in items], [key]):
            found.setdefault(str(row[key]), str(row["id"]))
        return [Verdict(True, found[str(i[key])]) if str(i[key]) in found else Verdict(False) for i in items]

    return resolve


def resolve_deletes(client: ZohoClient, module: str) -> Resolver:
    """A delete was applied when the record is gone."""

    def resolve(items: list[str]) -> list[Verdict | None]:
        present = {str(r["id"]) for r in records_where_in(client, module, "id", items, ["id"])}
        return [Verdict(str(i) not in present, str(i)) for i in items]

    return resolve


def resolve_by_resending(items: list[Any]) -> list[Verdict | None]:
    """Upserts match on their duplicate-check fields: sending again cannot create a twin."""
    return [Verdict(False) for _ in items]
