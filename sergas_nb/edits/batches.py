"""A run's writes: the CRM read in chunks, each target judged as its chunk lands, batches journaled
and sent, outcomes written.

:class:`Run` sends the reads of every chunk (100 ids a ``records_by_ids`` call, up to
``READ_THREADS`` at once) as soon as it is built, before the caller's journal reads, and judges
the targets chunk by chunk, in order, as the reads land. Run in parallel (``in_flight`` > 1), a
batch leaves as soon as the records judged so far fill it: the writes of the first batches overlap
the reads of the last, where a read of the whole plan before the first write cost a plan apply
one round of calls more than ``crm.update`` of the same records. Each record is judged on a read
taken under the plan's lock and before its own write, exactly as strictly as when every read came
first; a chunk's findings are reconciled in the journal before any of its records is sent.

Serial (``in_flight`` 1: a progress callback that may act between batches) every read lands and
is judged before the first batch is sent, as before.

Each batch is journaled 'pending' before it is sent and completed with every record's outcome
after, by the worker that sends it on its own PostgreSQL connection; the outcomes are written by
a :class:`_Finisher` off the workers' path. A run killed at any point leaves at most the batches
in flight 'pending', and the next run's read of the CRM settles them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from sergas_nb import frames
from sergas_nb.edits import checks
from sergas_nb.edits.journal import Entry, Journal, Outcome, Reconciled
from sergas_nb.errors import ZohoValidationError

if TYPE_CHECKING:
    from sergas_nb.client import ZohoClient

# Ids a chunk: what the client's reader sends in one GET /{module}?ids= call (_reads.py), Zoho's
# limit of 100 ids a call (documented for the older API's idlist,
# https://www.zoho.com/developer/help/api/getrecordbyid.html; not re-checked on the v8 page).
READ_IDS = 100
# Reads at once: the governor allows 20 calls and 10 writes of more than 10 records (the
# sub-concurrency pool). The first FIRST_READS chunks' reads all leave at once, before any batch
# can (2,000 records: one round of reads, not two, before the first batch); after them, READ_THREADS
# at a time, so ten reads run beside ten batches without a 429 and no batch waits for a slot.
FIRST_READS = 20
READ_THREADS = 10

MISSING = object()  # the CRM has no such record


@dataclass
class Target:
    """One (record, field) a run may write: ``expect`` is what the write replaces, ``value`` what it sends."""

    id: str
    field: str
    expect: Any
    value: Any
    data_type: str | None
    journal_status: str | None = None  # the journal's last word on this (record, field) for the run's action


# judge(target, what the CRM holds now, findings to append to) -> a skipped result row, or
# None and the value the write replaces (sent).
Judge = Callable[[Target, Any, list[Reconciled]], tuple[dict[str, Any] | None, Any]]
Pairs = list[tuple[Target, Any]]  # a record's targets to send, each with the value its write replaces
Batch = list[tuple[str, Pairs]]


class Bar(Protocol):
    """What a run advances as rows are done (runs.py's progress bar or callback)."""

    def advance(self, n: int) -> None: ...


def row(t: Target, before: Any, status: str, code: str | None, message: str | None) -> dict[str, Any]:
    return {
        "id": t.id,
        "field": t.field,
        "old": before,
        "new": t.value,
        "status": status,
        "code": code,
        "message": message,
    }


def values_by_id(
    client: ZohoClient,
    module: str,
    ids: Sequence[str],
    fields: Sequence[str],
    types: dict[str, str | None],
) -> dict[str, dict[str, Any]]:
    """What the CRM holds now for ``fields`` of these records, JSON-native, by id (absent: gone).

    Taken from the answers' JSON, not a typed frame (which cost a 2,000-record plan apply about
    0.1 s of CPU, most of its pre-read's), made the values the plan's own came from frames
    (``checks.answered_json_value``). ``types``: fields the metadata does not name (none, for a
    validated plan) are judged by their data type alone."""
    if not ids:
        return {}
    fmap = checks.field_map(client.field_metadata(module))
    meta = {f: fmap.get(f) or {"api_name": f, "data_type": types.get(f)} for f in fields}
    out: dict[str, dict[str, Any]] = {}
    for r in client.records_json(module, list(ids), list(fields)):
        out[str(r["id"])] = {f: checks.answered_json_value(r.get(f), meta[f]) for f in fields}
    return out


_readers: ThreadPoolExecutor | None = None
_readers_lock = threading.Lock()


def _read_pool() -> ThreadPoolExecutor:
    """Threads for runs' chunk reads, kept for the process's life (starting them per run cost a
    loaded machine tens of milliseconds). A task waits only on a run's own gate (held by reads
    that need nothing else) and its HTTP call, never on another task of this pool, so runs can share it."""
    global _readers
    with _readers_lock:
        if _readers is None:
            _readers = ThreadPoolExecutor(FIRST_READS, thread_name_prefix="sergas-plan-read")
        return _readers


def _gated(gate: threading.Semaphore, read: Callable[[], dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    with gate:
        return read()


class Run:
    """One apply or undo's reads, judging and writes (see the module docstring).

    Built inside the plan's lock and the caller's ``journal.held()``; the reads start at once and
    the workers' journal connections open while the caller reads the journal; then
    :meth:`send` judges and sends. Leaving the ``with`` block ends the workers (the batches in
    flight finish and are journaled) and drops the reads not yet started."""

    def __init__(
        self,
        client: ZohoClient,
        journal: Journal,
        *,
        plan_id: str,
        action: str,
        module: str,
        targets: list[Target],
        in_flight: int,
        batch_size: int,
    ) -> None:
        self.client, self.journal = client, journal
        self.plan_id, self.action, self.module = plan_id, action, module
        self.targets, self.batch_size = targets, batch_size
        self.by_record: dict[str, list[Target]] = {}
        for t in targets:
            self.by_record.setdefault(t.id, []).append(t)
        ids = list(self.by_record)
        fields = list(dict.fromkeys(t.field for t in targets))
        types = {t.field: t.data_type for t in targets}
        self.chunks = [ids[i : i + READ_IDS] for i in range(0, len(ids), READ_IDS)]
        pool = _read_pool()
        gate = threading.Semaphore(READ_THREADS)  # the reads after the first FIRST_READS
        self.reads: list[Future[dict[str, dict[str, Any]]]] = [
            pool.submit(values_by_id, client, module, chunk, fields, types)
            if k < FIRST_READS
            else pool.submit(_gated, gate, partial(values_by_id, client, module, chunk, fields, types))
            for k, chunk in enumerate(self.chunks)
        ]
        n = min(in_flight, -(-len(ids) // batch_size))
        self.workers = _Workers(journal, n, self._send_one, restored=action == "undo") if n > 1 else None

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for f in self.reads:
            f.cancel()
        if self.workers is not None:
            self.workers.close()

    def _send_one(self, batch: Batch, finish: Callable[[list[Outcome]], None] | None) -> list[dict[str, Any]]:
        return send_batch(self.client, self.journal, self.plan_id, self.action, self.module, batch, finish)

    def _judged(self, k: int, judge: Judge) -> tuple[list[dict[str, Any]], Batch, list[Reconciled]]:
        """Chunk ``k`` judged on its read: the skipped rows, the records to send, the findings."""
        now = self.reads[k].result()
        skipped: list[dict[str, Any]] = []
        sending: Batch = []
        found: list[Reconciled] = []
        for rid in self.chunks[k]:
            values = now.get(rid)
            pairs: Pairs = []
            for t in self.by_record[rid]:
                current = values[t.field] if values is not None else MISSING
                skip, before = judge(t, current, found)
                if skip is not None:
                    skipped.append(skip)
                else:
                    pairs.append((t, before))
            if pairs:
                sending.append((rid, pairs))
        return skipped, sending, found

    def send(self, judge: Judge, bar: Bar) -> tuple[list[dict[str, Any]], int]:
        """Judge every target and send what is to be sent: one result row per target, and how
        many (record, field) writes were sent. ``bar``: advanced in the targets' order."""
        if self.workers is None:
            return self._serial(judge, bar)
        workers = self.workers
        results: list[dict[str, Any]] = []
        pending: Batch = []
        sent = 0
        try:
            for k in range(len(self.chunks)):
                if workers.stop.is_set():  # a batch failed: no new batch is taken
                    break
                skipped, sending, found = self._judged(k, judge)
                self.journal.reconcile(self.plan_id, self.action, found)  # before any of them is sent
                results += skipped
                bar.advance(len(skipped))
                pending += sending
                while len(pending) >= self.batch_size or (pending and k == len(self.chunks) - 1):
                    batch, pending = pending[: self.batch_size], pending[self.batch_size :]
                    if not workers.submit(batch):
                        break
                    sent += sum(len(pairs) for _, pairs in batch)
        except BaseException:
            workers.stop.set()
            workers.close()
            raise
        return results + workers.collect(bar), sent

    def _serial(self, judge: Judge, bar: Bar) -> tuple[list[dict[str, Any]], int]:
        results: list[dict[str, Any]] = []
        sending: Batch = []
        found: list[Reconciled] = []
        for k in range(len(self.chunks)):
            s, b, f = self._judged(k, judge)
            results += s
            sending += b
            found += f
        self.journal.reconcile(self.plan_id, self.action, found)
        bar.advance(len(results))
        for start in range(0, len(sending), self.batch_size):
            rows = self._send_one(sending[start : start + self.batch_size], None)
            results += rows
            bar.advance(len(rows))
        return results, sum(len(pairs) for _, pairs in sending)


class _Finisher:
    """Writes batches' outcomes to the journal on a connection of its own, off the workers' path:
    a worker hands its batch's outcomes here and takes its next batch at once, and outcomes that
    arrive together go in one statement. A batch stays 'pending' until its outcomes are written,
    as it would if the process were killed while its answer was on the way: the next run's read
    of the CRM settles it. A failure stops the run (``failed``) and is raised by the caller."""

    def __init__(self, journal: Journal, stop: threading.Event, restored: bool) -> None:
        self.journal, self.stop, self.restored = journal, stop, restored
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
                        self.journal.finish(outcomes, restored=self.restored)
        except BaseException as exc:  # the journal is unreachable: no new batch is taken
            self.failed = exc
            self.stop.set()
            while self.queue.get() is not None:  # let close() return
                pass


SendFn = Callable[[Batch, Callable[[list[Outcome]], None] | None], list[dict[str, Any]]]


class _Workers:
    """The threads of a parallel run, started before the run's journal reads so that their
    journal connections (a PostgreSQL backend start each) open meanwhile. Each takes batches in
    the order :meth:`submit` hands them over; each batch is journaled and sent by one worker, and
    its outcomes are written by the run's :class:`_Finisher` while the worker sends its next
    batch. A run killed at any point leaves at most the batches in flight 'pending'.

    After a failure that ends the run (client-side validation, the journal unreachable) no new
    batch is taken; the ones in flight finish and are journaled, then the first failure is raised
    by :meth:`collect`. An interrupt of the caller's thread does the same."""

    def __init__(self, journal: Journal, workers: int, send: SendFn, *, restored: bool) -> None:
        self.jobs: queue.SimpleQueue[tuple[int, Batch] | None] = queue.SimpleQueue()
        self.done: queue.SimpleQueue[tuple[int, list[dict[str, Any]] | None, BaseException | None]] = (
            queue.SimpleQueue()
        )
        self.stop = threading.Event()
        self.journal, self.send = journal, send
        self.submitted = 0
        self.finisher = _Finisher(journal, self.stop, restored)
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
                    try:
                        self.done.put((n, self.send(batch, self.finisher.put), None))
                    except BaseException as exc:  # handed to the caller's thread, which raises it
                        self.stop.set()
                        self.done.put((n, None, exc))
        except BaseException as exc:  # the worker's journal connection could not be opened
            self.stop.set()
            self.done.put((-1, None, exc))

    def submit(self, batch: Batch) -> bool:
        """Hand a batch to the next free worker (False, and not handed over, once the run is stopping)."""
        if self.stop.is_set():
            return False
        self.jobs.put((self.submitted, batch))
        self.submitted += 1
        return True

    def collect(self, bar: Bar) -> list[dict[str, Any]]:
        """Every submitted batch's rows in submission order, once all are done (or the run stopped)."""
        finished: dict[int, list[dict[str, Any]]] = {}
        failures: list[tuple[int, BaseException]] = []
        next_batch = 0
        try:
            for _ in self.threads:  # each worker ends when it reaches one of these
                self.jobs.put(None)
            while len(finished) + len(failures) < self.submitted and (
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
        return [r for n in sorted(finished) for r in finished[n]]

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


def send_batch(
    client: ZohoClient,
    journal: Journal,
    plan_id: str,
    action: str,
    module: str,
    batch: Batch,
    finish: Callable[[list[Outcome]], None] | None = None,
) -> list[dict[str, Any]]:
    """One batch: journaled 'pending' before it is sent, completed with each record's outcome after
    (``finish``: who writes the outcomes; by default this thread, before returning)."""
    finish = finish or (lambda outcomes: journal.finish(outcomes, restored=action == "undo"))
    items = [pair for _, pairs in batch for pair in pairs]
    entry_ids = journal.begin(
        plan_id, action, module, items[0][0].field, [Entry(t.id, before, t.value, t.field) for t, before in items]
    )
    rows = [{"id": rid, **{t.field: wire(t) for t, _ in pairs}} for rid, pairs in batch]
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
    return [row(t, before, status, code, message) for t, before, status, code, message in finished]


def wire(t: Target) -> Any:
    """The value as the client writes it (lookups by id)."""
    if t.data_type in checks.LOOKUP_TYPES and isinstance(t.value, dict):
        return t.value["id"]
    return t.value
