"""Applying and undoing plans, with the CRM as the journal's truth.

Before every apply, resume, re-apply or undo, the plan's records are read back from the CRM
(``client.records(where=...)``) and each (record, field) is judged by what the CRM holds, whatever
the journal's last word was:

- apply sends every record not at the new value (still at the planned old value; any value with
  ``on_conflict="overwrite"``); one at the new value is done (ALREADY_APPLIED when this plan wrote
  it, ALREADY_AT_NEW_VALUE otherwise).
- undo restores every record the plan may have written (any apply entry: success, error,
  pending or unknown) that holds the plan's new value; one back at its old value is done.

Where the journal and the CRM disagree (an answer lost, a process killed after sending, an undo
interrupted) the finding is recorded (``Journal.reconcile``) and the journal's open rows settled.
Each batch is journaled ('pending', with the value the CRM held) before it is sent and completed
with every record's outcome after; the client resolves lost answers by reading back, so a
transient failure never ends the run. Up to 10 batches are in flight at once (``max_in_flight``,
through the client's governor like ``crm.update``): each worker thread journals, sends and
completes whole batches on its own PostgreSQL connection, so a run killed at any point leaves at
most the batches in flight 'pending', and the next run's read of the CRM settles them.
"""

from __future__ import annotations

import queue
import re
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pandas as pd

from sergas_nb import frames
from sergas_nb._writes import MAX_IN_FLIGHT, check_in_flight
from sergas_nb.config import load_settings
from sergas_nb.edits import checks
from sergas_nb.edits.journal import Entry, Journal, Outcome, Reconciled
from sergas_nb.edits.results import MAX_BATCH, RESULT_COLUMNS, ApplyResult, OnConflict, _frame
from sergas_nb.errors import ZohoError, ZohoValidationError

if TYPE_CHECKING:
    from sergas_nb.client import ZohoClient


@runtime_checkable
class Plan(Protocol):
    """What a run needs of a plan (``edits.plans.EditPlan`` is one; runs does not import plans,
    which sends its plans through here)."""

    plan_id: str
    module: str
    field: str
    rows: pd.DataFrame

    def validate(self, client_or_fields: Any) -> Any: ...


_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_MISSING = object()


@dataclass
class _Target:
    """One (record, field) a run may write: ``expect`` is what the write replaces, ``value`` what it sends."""

    id: str
    field: str
    expect: Any
    value: Any
    data_type: str | None
    journal_status: str | None = None  # the journal's last word on this (record, field) for the run's action


# ----------------------------------------------------------------------------------------- reads
def current_values(
    client: ZohoClient, module: str, field: str, ids: Sequence[str], data_type: str | None = None
) -> dict[str, Any]:
    """What the CRM holds now for ``field`` of these records (deleted records are absent)."""
    bad = [x for x in (module, field) if not _NAME_RE.match(x)] + [i for i in ids if not str(i).isdigit()]
    if bad:  # names and ids go into a COQL string: refuse anything that is not one
        raise ValueError(f"not a module/field name or record id: {bad[:5]}")
    types: dict[str, str | None] | None = {field: data_type} if data_type is not None else None
    now = _values_by_id(client, module, [str(i) for i in ids], [field], types)
    return {rid: values[field] for rid, values in now.items()}


def _field_meta(client: ZohoClient, module: str) -> dict[str, dict[str, Any]]:
    """{api_name: field} of the module from the client's cache (its fields() frame, rebuilt on
    every call, cost a run a third of a second twice over)."""
    return checks.field_map(client.field_metadata(module))


def _values_by_id(
    client: ZohoClient,
    module: str,
    ids: Sequence[str],
    fields: Sequence[str],
    types: dict[str, str | None] | None = None,
) -> dict[str, dict[str, Any]]:
    """What the CRM holds now for ``fields`` of these records, JSON-native, by id (absent: gone).

    Read with ``records_by_ids`` (100 ids a call, the calls in parallel): the run's reconciling
    read of 2,000 records is one round of calls, where COQL (50 ids a query, one query after
    another) took forty. ``types``: each field's data type, when the caller knows them."""
    if not ids:
        return {}
    if types is None:
        meta = _field_meta(client, module)
        types = {f: meta.get(f, {}).get("data_type") for f in fields}
    frame = client.records_by_ids(module, list(ids), list(fields))
    out: dict[str, dict[str, Any]] = {}
    for row in frames.frame_rows(frame):
        values = {}
        for f in fields:
            raw = row.get(f) if f in row else row.get(f"{f}.id")
            values[f] = checks.to_json_value(raw, types.get(f))
        out[str(row["id"])] = values
    return out


class _Background:
    """``fn()`` in a thread of its own; ``result()`` waits for it and returns or raises what it did."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._out: list[Any] = []
        self._err: list[BaseException] = []

        def run() -> None:
            try:
                self._out.append(fn())
            except BaseException as exc:  # raised on the caller's thread by result()
                self._err.append(exc)

        self._thread = threading.Thread(target=run, name="sergas-plan-read", daemon=True)
        self._thread.start()

    def result(self) -> Any:
        self._thread.join()
        if self._err:
            raise self._err[0]
        return self._out[0]


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


def _journal(journal: Journal | str | None, client: ZohoClient) -> Journal:
    if isinstance(journal, Journal):
        return journal
    if isinstance(journal, str):
        return Journal(journal)
    return Journal(_database_url(client))


def _database_url(client: ZohoClient) -> str:
    """The client's configured database, else DATABASE_URL / DATABASE_HOST... (ZohoConfigError if none)."""
    settings = getattr(client, "settings", None)
    if settings is not None and (getattr(settings, "database_url", None) or getattr(settings, "database_host", None)):
        return str(settings.database_dsn())
    return str(load_settings(require=("database",)).database_dsn())


# ------------------------------------------------------------------------------------- the loop
def _crm_state(current: Any, target: _Target) -> str:
    """new: the CRM holds what this run would send; old: what it would replace; other; missing."""
    if current is _MISSING:
        return "missing"
    if checks.same_value(current, target.value):
        return "new"
    if checks.same_value(current, target.expect):
        return "old"
    return "other"


def _read(client: ZohoClient, module: str, targets: Sequence[_Target]) -> dict[tuple[str, str], Any]:
    ids = list(dict.fromkeys(t.id for t in targets))
    fields = list(dict.fromkeys(t.field for t in targets))
    types = {t.field: t.data_type for t in targets}
    now = _values_by_id(client, module, ids, fields, types)
    return {(t.id, t.field): now[t.id][t.field] if t.id in now else _MISSING for t in targets}


def _send_all(
    client: ZohoClient,
    journal: Journal,
    *,
    plan_id: str,
    action: str,
    module: str,
    to_send: list[tuple[_Target, Any]],
    batch_size: int,
    workers: _Workers | None,
    bar: _Progress,
) -> list[dict[str, Any]]:
    """Journal then send, ``batch_size`` records a call, by ``workers`` (several batches at once)
    or one batch after another; one result row per (record, field). Progress advances in batch
    order, on the caller's thread."""
    by_record: dict[str, list[tuple[_Target, Any]]] = {}
    for t, before in to_send:
        by_record.setdefault(t.id, []).append((t, before))
    records = list(by_record)
    batches = [records[start : start + batch_size] for start in range(0, len(records), batch_size)]

    def send(batch: list[str], finish: Callable[[list[Outcome]], None] | None = None) -> list[dict[str, Any]]:
        return _send_batch(client, journal, plan_id, action, module, [(rid, by_record[rid]) for rid in batch], finish)

    if workers is not None and len(batches) > 1:
        return workers.run(batches, send, bar)
    if workers is not None:
        workers.close()
    results: list[dict[str, Any]] = []
    with journal.held():
        for batch in batches:
            rows = send(batch)
            results += rows
            bar.advance(len(rows))
    return results


class _Finisher:
    """Writes batches' outcomes to the journal on a connection of its own, off the workers' path:
    a worker hands its batch's outcomes here and takes its next batch at once, and outcomes that
    arrive together go in one statement. A batch stays 'pending' until its outcomes are written,
    as it would if the process were killed while its answer was on the way: the next run's read
    of the CRM settles it. A failure stops the run (``failed``) and is raised by the caller."""

    def __init__(self, journal: Journal, stop: threading.Event) -> None:
        self.journal, self.stop = journal, stop
        self.queue: queue.SimpleQueue[list[Outcome] | None] = queue.SimpleQueue()
        self.failed: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="sergas-plan-journal", daemon=True)
        self.thread.start()

    def put(self, outcomes: list[Outcome]) -> None:
        self.queue.put(outcomes)

    def close(self) -> None:
        """Wait until every outcome handed over is written (or the writing failed)."""
        self.queue.put(None)
        self.thread.join()

    def _run(self) -> None:
        try:
            with self.journal.held():
                closing = False
                while not closing:
                    items = [self.queue.get()]
                    while True:  # what else is waiting goes in the same statement
                        try:
                            items.append(self.queue.get_nowait())
                        except queue.Empty:
                            break
                    closing = any(i is None for i in items)
                    outcomes = [o for i in items if i is not None for o in i]
                    if outcomes and self.failed is None:
                        self.journal.finish(outcomes)
        except BaseException as exc:  # the journal is unreachable: no new batch is taken
            self.failed = exc
            self.stop.set()
            while self.queue.get() is not None:  # let close() return
                pass


class _Workers:
    """The threads of a parallel run, started before the run's CRM read so that their journal
    connections (a PostgreSQL backend start each) open while the CRM is read. Each takes batches
    in order from ``run``; each batch is journaled and sent by one worker, as the serial loop
    does it, and its outcomes are written by the run's :class:`_Finisher` while the worker sends
    its next batch. A worker takes a batch only once ``run`` hands them over, so a run killed at
    any point leaves at most the batches in flight 'pending'.

    After a failure that ends the run (client-side validation, the journal unreachable) no new
    batch is taken; the ones in flight finish and are journaled, then the first failure is raised.
    An interrupt of the caller's thread does the same."""

    def __init__(self, journal: Journal, workers: int) -> None:
        self.jobs: queue.SimpleQueue[tuple[int, list[str]] | None] = queue.SimpleQueue()
        self.done: queue.SimpleQueue[tuple[int, list[dict[str, Any]] | None, BaseException | None]] = (
            queue.SimpleQueue()
        )
        self.stop = threading.Event()
        self.journal = journal
        self.send: Callable[[list[str], Callable[[list[Outcome]], None] | None], list[dict[str, Any]]] | None = None
        self.finisher = _Finisher(journal, self.stop)
        self.threads = [
            threading.Thread(target=self._work, name=f"sergas-plan-{k}", daemon=True) for k in range(workers)
        ]
        for th in self.threads:
            th.start()
        self.closed = False

    def _work(self) -> None:
        try:
            with self.journal.held():
                while True:
                    job = self.jobs.get()
                    if job is None or self.stop.is_set():
                        return
                    n, batch = job
                    assert self.send is not None
                    try:
                        self.done.put((n, self.send(batch, self.finisher.put), None))
                    except BaseException as exc:  # handed to the caller's thread, which raises it
                        self.stop.set()
                        self.done.put((n, None, exc))
        except BaseException as exc:  # the worker's journal connection could not be opened
            self.stop.set()
            self.done.put((-1, None, exc))

    def run(
        self,
        batches: list[list[str]],
        send: Callable[[list[str], Callable[[list[Outcome]], None] | None], list[dict[str, Any]]],
        bar: _Progress,
    ) -> list[dict[str, Any]]:
        self.send = send
        for n, batch in enumerate(batches):
            self.jobs.put((n, batch))
        finished: dict[int, list[dict[str, Any]]] = {}
        failures: list[tuple[int, BaseException]] = []
        next_batch = 0
        try:
            for _ in self.threads:  # each worker ends when it reaches one of these
                self.jobs.put(None)
            while len(finished) + len(failures) < len(batches) and (
                any(th.is_alive() for th in self.threads) or not self.done.empty()
            ):
                try:
                    n, rows, exc = self.done.get(timeout=0.5)
                except queue.Empty:
                    continue
                if exc is not None:
                    failures.append((n, exc))
                    continue
                assert rows is not None
                finished[n] = rows
                while next_batch in finished:  # the bar and the callback see batches in their order
                    bar.advance(len(finished[next_batch]))
                    next_batch += 1
        except BaseException:
            self.stop.set()
            raise
        finally:
            self.close()
        if failures:
            raise min(failures, key=lambda f: f[0])[1]
        if self.finisher.failed is not None:
            raise self.finisher.failed
        return [row for n in sorted(finished) for row in finished[n]]

    def close(self) -> None:
        """End the workers (those given no batch end at once) and wait for every outcome to be written."""
        if self.closed:
            return
        self.closed = True
        for _ in self.threads:
            self.jobs.put(None)
        for th in self.threads:
            th.join()
        self.finisher.close()


def _workers(journal: Journal, in_flight: int, records: int, batch_size: int) -> _Workers | None:
    """The run's workers when it may send more than one batch at once (else None: the serial loop)."""
    n = min(in_flight, -(-records // batch_size))
    return _Workers(journal, n) if n > 1 else None


def _send_batch(
    client: ZohoClient,
    journal: Journal,
    plan_id: str,
    action: str,
    module: str,
    batch: list[tuple[str, list[tuple[_Target, Any]]]],
    finish: Callable[[list[Outcome]], None] | None = None,
) -> list[dict[str, Any]]:
    """One batch: journaled 'pending' before it is sent, completed with each record's outcome after
    (``finish``: who writes the outcomes; by default this thread, before returning)."""
    finish = finish or (lambda outcomes: journal.finish(outcomes))
    items = [pair for _, pairs in batch for pair in pairs]
    entry_ids = journal.begin(
        plan_id, action, module, items[0][0].field, [Entry(t.id, before, t.value, t.field) for t, before in items]
    )
    rows = [{"id": rid, **{t.field: _wire(t) for t, _ in pairs}} for rid, pairs in batch]
    try:
        writer = getattr(client, "_writer", None)
        if writer is not None:  # the client's own writer: its outcome rows, without the table
            positional = writer.update_fates(module, rows)
        else:
            outcome = client.update(module, rows, progress=False, max_in_flight=1, method="batches").records
            positional = frames.frame_rows(outcome)
    except ZohoValidationError:
        journal.finish(Outcome(e, "error", "NOT_SENT", "rejected by client-side validation") for e in entry_ids)
        raise
    by_id = {str(r["id"]): r for r in positional if not checks.is_missing(r.get("id"))}
    finished = []
    for pos, (rid, pairs) in enumerate(batch):
        o = by_id.get(rid) or (positional[pos] if pos < len(positional) else None)
        status = str(o["status"]) if o is not None else "unknown"
        code = None if o is None or checks.is_missing(o.get("code")) else str(o["code"])
        message = None if o is None or checks.is_missing(o.get("message")) else str(o["message"])
        for t, before in pairs:
            finished.append((t, before, status, code, message))
    finish(
        [
            Outcome(e, status, code, message)
            for e, (_, _, status, code, message) in zip(entry_ids, finished, strict=True)
        ]
    )
    return [_row(t, before, status, code, message) for t, before, status, code, message in finished]


def _wire(t: _Target) -> Any:
    """The value as the client writes it (lookups by id)."""
    if t.data_type in checks.LOOKUP_TYPES and isinstance(t.value, dict):
        return t.value["id"]
    return t.value


def _row(t: _Target, before: Any, status: str, code: str | None, message: str | None) -> dict[str, Any]:
    return {
        "id": t.id,
        "field": t.field,
        "old": before,
        "new": t.value,
        "status": status,
        "code": code,
        "message": message,
    }


# ------------------------------------------------------------------------------------ apply/undo
def apply(
    plan: Any,
    client: Any,
    *,
    journal: Journal | str | None = None,
    batch_size: int = MAX_BATCH,
    progress: bool | Callable[[int, int], None] = True,
    on_conflict: OnConflict = "skip",
    max_in_flight: int | None = None,
) -> ApplyResult:
    """Validate, reconcile with the CRM, then send what is not yet at the new value, journaled.

    Safe to run again after anything (a failure, a killed kernel, an undo): the CRM decides what
    is done. A record changed by someone else since the plan was built is skipped
    (CHANGED_SINCE_PLAN) unless ``on_conflict="overwrite"``.
    ``progress``: True = a progress bar in notebooks, or a callback(done, total).
    ``max_in_flight``: batches sent at once (1 to 10), each journaled before it is sent and
    completed after, as ``crm.update`` sends them. By default 10; with a progress callback, 1
    (the callback runs after each batch and before the next is sent, so it can act between batches).
    """
    if isinstance(client, Plan) and not isinstance(plan, Plan):  # the old order apply(client, plan)
        warnings.warn(
            "apply(client, plan) is deprecated: give the plan first, apply(plan, client)",
            DeprecationWarning,
            stacklevel=2,
        )
        client, plan = plan, client
    _check_batch(batch_size)
    _check_conflict(on_conflict)
    in_flight = _in_flight(max_in_flight, progress)
    plan.validate(_field_meta(client, plan.module))
    j = _journal(journal, client)
    # One connection for this thread's journal calls (the lock's session included): a connection
    # per call cost a PostgreSQL backend start each.
    with j.held(), j.lock(plan.plan_id):
        targets = [
            _Target(r["id"], r["field"], r["old"], r["new"], plan.data_types.get(r["field"]))
            for r in frames.frame_rows(plan.rows)
        ]
        # The CRM is read while the plan is saved, its journal read and the workers' journal
        # connections opened: the read is taken under the lock, like the journal's, and neither
        # depends on the other.
        reading = _Background(lambda: _read(client, plan.module, targets))
        workers = _workers(j, in_flight, len({t.id for t in targets}), batch_size)
        try:
            results, to_send = _apply_decisions(j, plan, targets, reading, on_conflict)
            bar = _Progress(progress, len(targets), "apply")
            bar.advance(len(results))
            results += _send_all(
                client,
                j,
                plan_id=plan.plan_id,
                action="apply",
                module=plan.module,
                to_send=to_send,
                batch_size=batch_size,
                workers=workers,
                bar=bar,
            )
        finally:
            if workers is not None:
                workers.close()
    return ApplyResult(plan.plan_id, "apply", _ordered(results, targets), sent=len(to_send))


def _apply_decisions(
    j: Journal, plan: Any, targets: list[_Target], reading: _Background, on_conflict: OnConflict
) -> tuple[list[dict[str, Any]], list[tuple[_Target, Any]]]:
    """The plan saved, each target judged by what the CRM holds (the findings reconciled):
    the skipped rows, and what to send with the value it replaces."""
    j.save_plan(plan.plan_id, plan.module, plan.field, plan.selection, plan.rule, plan.to_change, plan.fields)
    last = _last_words(j, plan.plan_id)
    now = reading.result()
    results: list[dict[str, Any]] = []
    to_send: list[tuple[_Target, Any]] = []
    found: list[Reconciled] = []
    for t in targets:
        current = now[(t.id, t.field)]
        state = _crm_state(current, t)
        apply_word, undo_word = last.get(("apply", t.id, t.field)), last.get(("undo", t.id, t.field))
        if state == "new" and apply_word not in (None, "success"):
            found.append(Reconciled(t.id, t.field, apply_word, state, "applied"))
        if state in ("old", "missing") and apply_word in ("pending", "unknown"):
            found.append(Reconciled(t.id, t.field, apply_word, state, "not_applied"))
        if state == "old" and undo_word in ("pending", "unknown", "error"):
            found.append(Reconciled(t.id, t.field, undo_word, state, "restored"))
        if state == "new":
            code = "ALREADY_APPLIED" if apply_word is not None else "ALREADY_AT_NEW_VALUE"
            message = (
                "the CRM holds the new value, written by this plan"
                if apply_word is not None
                else "the CRM already holds the new value"
            )
            results.append(_row(t, current, "skipped", code, message))
        elif state == "other" and on_conflict == "skip":
            results.append(
                _row(
                    t,
                    current,
                    "skipped",
                    "CHANGED_SINCE_PLAN",
                    f"the CRM now holds {current!r}, the plan expected {t.expect!r}",
                )
            )
        else:  # old, other (overwrite), or missing (the CRM gives the per-record verdict)
            to_send.append((t, t.expect if state == "missing" else current))
    j.reconcile(plan.plan_id, "apply", found)
    return results, to_send


def undo(
    plan: Any,
    client: Any,
    *,
    journal: Journal | str | None = None,
    batch_size: int = MAX_BATCH,
    progress: bool | Callable[[int, int], None] = True,
    on_conflict: OnConflict = "skip",
    max_in_flight: int | None = None,
) -> ApplyResult:
    """Restore every record the plan may have written and the CRM shows at the plan's new value.

    Records journaled 'pending', 'error' or 'unknown' are included: the CRM, read first, says
    whether the write landed. A record changed again since the apply is skipped
    (CHANGED_SINCE_APPLY) unless ``on_conflict="overwrite"``; one already back at its old value is
    marked undone. Undoing twice sends nothing the second time. ``max_in_flight``: as for
    :func:`apply`.
    ``plan``: the plan or its id. The old order ``undo(client, plan_id)`` still works, with a
    DeprecationWarning.
    """
    if isinstance(client, str | Plan) and not isinstance(plan, str | Plan):  # the old order
        warnings.warn(
            "undo(client, plan_id) is deprecated: give the plan (or its id) first, undo(plan, client)",
            DeprecationWarning,
            stacklevel=2,
        )
        client, plan = plan, client
    plan_id = plan.plan_id if isinstance(plan, Plan) else str(plan)
    _check_batch(batch_size)
    _check_conflict(on_conflict)
    in_flight = _in_flight(max_in_flight, progress)
    j = _journal(journal, client)
    with j.held(), j.lock(plan_id):  # one connection for this thread's journal calls, as in apply
        plan = j.plan(plan_id)
        if plan is None:
            raise ZohoError(f"no plan {plan_id} in the journal", {"plan_id": plan_id})
        module = plan["module"]
        meta = _field_meta(client, module)
        touched = j.touched(plan_id, "apply")
        last = _last_words(j, plan_id, touched)
        # undo sends each record's journaled before-value back: it replaces the applied value.
        targets = [
            _Target(
                r["record_id"],
                r["field"],
                r["new_value"],
                r["old_value"],
                meta.get(r["field"], {}).get("data_type"),
                last.get(("undo", r["record_id"], r["field"])),
            )
            for r in frames.frame_rows(touched)
        ]
        reading = _Background(lambda: _read(client, module, targets))
        workers = _workers(j, in_flight, len({t.id for t in targets}), batch_size)  # connections open meanwhile
        try:
            now = reading.result()
        except BaseException:
            if workers is not None:
                workers.close()
            raise
        results: list[dict[str, Any]] = []
        to_send: list[tuple[_Target, Any]] = []
        found: list[Reconciled] = []
        back: dict[str, list[str]] = {}
        for t in targets:
            current = now[(t.id, t.field)]
            state = _crm_state(current, t)  # "new" here: back at the value from before the plan
            apply_word = last.get(("apply", t.id, t.field))
            if state == "old" and apply_word not in (None, "success"):
                found.append(Reconciled(t.id, t.field, apply_word, "new", "applied"))
            if state == "new" and t.journal_status in ("pending", "unknown", "error"):
                found.append(Reconciled(t.id, t.field, t.journal_status, "old", "restored"))
            if state == "old" and t.journal_status in ("pending", "unknown"):
                found.append(Reconciled(t.id, t.field, t.journal_status, "new", "not_restored"))
            if state == "new":
                back.setdefault(t.field, []).append(t.id)
                results.append(
                    _row(t, current, "skipped", "ALREADY_AT_OLD_VALUE", "the CRM holds the value from before the plan")
                )
            elif state == "missing":
                results.append(_row(t, None, "skipped", "RECORD_GONE", "the record no longer exists in the CRM"))
            elif state == "other" and on_conflict == "skip":
                results.append(
                    _row(
                        t,
                        current,
                        "skipped",
                        "CHANGED_SINCE_APPLY",
                        f"the CRM now holds {current!r}, not the applied {t.expect!r}",
                    )
                )
            else:
                to_send.append((t, current))
        try:
            j.reconcile(plan_id, "undo", found)
            bar = _Progress(progress, len(targets), "undo")
            bar.advance(len(results))
            sent = _send_all(
                client,
                j,
                plan_id=plan_id,
                action="undo",
                module=module,
                to_send=to_send,
                batch_size=batch_size,
                workers=workers,
                bar=bar,
            )
        finally:
            if workers is not None:
                workers.close()
        for r in sent:
            if r["status"] == "success":
                back.setdefault(r["field"], []).append(r["id"])
        for field, ids in back.items():
            j.mark_undone(plan_id, ids, field)
        results += sent
    return ApplyResult(plan_id, "undo", _ordered(results, targets), sent=len(to_send))


def _last_words(j: Journal, plan_id: str, applied: pd.DataFrame | None = None) -> dict[tuple[str, str, str], str]:
    """(action, record, field) -> the status of the latest journal entry (``applied``: the apply
    entries, when the caller has read them already)."""
    out: dict[tuple[str, str, str], str] = {}
    for action in ("apply", "undo"):
        touched = applied if action == "apply" and applied is not None else j.touched(plan_id, action)
        for r in frames.frame_rows(touched):
            out[(action, r["record_id"], r["field"])] = r["status"]
    return out


def _ordered(results: list[dict[str, Any]], targets: list[_Target]) -> Any:
    order = {(t.id, t.field): n for n, t in enumerate(targets)}
    return _frame(sorted(results, key=lambda r: order.get((r["id"], r["field"]), len(order))), RESULT_COLUMNS)


def _check_batch(batch_size: int) -> None:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}")


def _in_flight(max_in_flight: int | None, progress: bool | Callable[[int, int], None]) -> int:
    if max_in_flight is None:
        # A callback sees the run batch by batch (a caller may act between two batches); a bar
        # or nothing lets the batches go as crm.update sends them.
        return 1 if callable(progress) else MAX_IN_FLIGHT
    check_in_flight(max_in_flight)
    return max_in_flight


def _check_conflict(on_conflict: str) -> None:
    if on_conflict not in ("skip", "overwrite"):
        raise ValueError(f"on_conflict must be 'skip' or 'overwrite', not {on_conflict!r}")
