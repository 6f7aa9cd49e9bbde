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
through the client's governor like ``crm.update``), the first ones sent while the CRM read of the
last is still out (``edits.batches``): each worker thread journals, sends and completes whole
batches on its own PostgreSQL connection, so a run killed at any point leaves at most the batches
in flight 'pending', and the next run's read of the CRM settles them.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar, runtime_checkable

import pandas as pd

from sergas_nb import frames
from sergas_nb._gc import gc_paused
from sergas_nb._writes import MAX_IN_FLIGHT, check_in_flight
from sergas_nb.config import load_settings
from sergas_nb.edits import checks
from sergas_nb.edits.batches import MISSING, Run, Target, row, values_by_id
from sergas_nb.edits.journal import Journal, Reconciled
from sergas_nb.edits.results import MAX_BATCH, RESULT_COLUMNS, ApplyResult, OnConflict, _frame
from sergas_nb.errors import ZohoError

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


# ----------------------------------------------------------------------------------------- reads
def current_values(
    client: ZohoClient, module: str, field: str, ids: Sequence[str], data_type: str | None = None
) -> dict[str, Any]:
    """What the CRM holds now for ``field`` of these records (deleted records are absent)."""
    bad = [x for x in (module, field) if not _NAME_RE.match(x)] + [i for i in ids if not str(i).isdigit()]
    if bad:  # names and ids go into a COQL string: refuse anything that is not one
        raise ValueError(f"not a module/field name or record id: {bad[:5]}")
    if data_type is None:
        data_type = _field_meta(client, module).get(field, {}).get("data_type")
    now = values_by_id(client, module, [str(i) for i in ids], [field], {field: data_type})
    return {rid: values[field] for rid, values in now.items()}


def _field_meta(client: ZohoClient, module: str) -> dict[str, dict[str, Any]]:
    """{api_name: field} of the module from the client's cache (its fields() frame, rebuilt on
    every call, cost a run a third of a second twice over)."""
    return checks.field_map(client.field_metadata(module))


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
def _crm_state(current: Any, target: Target) -> str:
    """new: the CRM holds what this run would send; old: what it would replace; other; missing."""
    if current is MISSING:
        return "missing"
    if checks.same_value(current, target.value):
        return "new"
    if checks.same_value(current, target.expect):
        return "old"
    return "other"


# ------------------------------------------------------------------------------------ apply/undo
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _collector_paused(run: Callable[_P, _R]) -> Callable[_P, _R]:
    """The whole run with cyclic GC paused (sergas_nb._gc), as the client's own writes are.

    A run's targets, reads, judged rows, journal documents and outcomes are many short-lived
    containers, none cyclic: a 4,999-record apply set off about 95 collections (against 1 for
    ``crm.update`` of the same records), each walking every live object with the GIL held, so
    every reader and worker thread stood still meanwhile (0.07 to 0.36 s of a run's wall time)."""

    @functools.wraps(run)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with gc_paused():
            return run(*args, **kwargs)

    return paused


@_collector_paused
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
            stacklevel=3,  # past the _collector_paused wrapper: the caller's line
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
            Target(r["id"], r["field"], r["old"], r["new"], plan.data_types.get(r["field"]))
            for r in frames.frame_rows(plan.rows)
        ]
        # The CRM reads leave first, under the lock like the journal's reads, which need nothing
        # from them: the plan is saved and its journal read while they are out.
        with Run(
            client,
            j,
            plan_id=plan.plan_id,
            action="apply",
            module=plan.module,
            targets=targets,
            in_flight=in_flight,
            batch_size=batch_size,
        ) as run:
            j.save_plan(plan.plan_id, plan.module, plan.field, plan.selection, plan.rule, plan.to_change, plan.fields)
            last = j.last_words(plan.plan_id)

            def judge(t: Target, current: Any, found: list[Reconciled]) -> tuple[dict[str, Any] | None, Any]:
                return _judge_apply(t, current, last, on_conflict, found)

            results, sent = run.send(judge, _Progress(progress, len(targets), "apply"))
    return ApplyResult(plan.plan_id, "apply", _ordered(results, targets), sent=sent)


def _judge_apply(
    t: Target, current: Any, last: dict[tuple[str, str, str], str], on_conflict: OnConflict, found: list[Reconciled]
) -> tuple[dict[str, Any] | None, Any]:
    """A skipped row, or None and the value the write replaces; where the journal's last word and
    the CRM disagree, the finding is appended to ``found``."""
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
        return row(t, current, "skipped", code, message), None
    if state == "other" and on_conflict == "skip":
        return (
            row(
                t,
                current,
                "skipped",
                "CHANGED_SINCE_PLAN",
                f"the CRM now holds {current!r}, the plan expected {t.expect!r}",
            ),
            None,
        )
    # old, other (overwrite), or missing (the CRM gives the per-record verdict)
    return None, t.expect if state == "missing" else current


@_collector_paused
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
            stacklevel=3,  # past the _collector_paused wrapper: the caller's line
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
        last = j.last_words(plan_id)
        # undo sends each record's journaled before-value back: it replaces the applied value.
        targets = [
            Target(
                r["record_id"],
                r["field"],
                r["new_value"],
                r["old_value"],
                meta.get(r["field"], {}).get("data_type"),
                last.get(("undo", r["record_id"], r["field"])),
            )
            for r in j.touched_values(plan_id, "apply")
        ]
        with Run(
            client,
            j,
            plan_id=plan_id,
            action="undo",
            module=module,
            targets=targets,
            in_flight=in_flight,
            batch_size=batch_size,
        ) as run:

            def judge(t: Target, current: Any, found: list[Reconciled]) -> tuple[dict[str, Any] | None, Any]:
                return _judge_undo(t, current, last, on_conflict, found)

            results, sent = run.send(judge, _Progress(progress, len(targets), "undo"))
        # Records found back at their old value; those this undo restored were flagged as their
        # batches' outcomes were written.
        back: dict[str, list[str]] = {}
        for r in results:
            if r["code"] == "ALREADY_AT_OLD_VALUE":
                back.setdefault(r["field"], []).append(r["id"])
        for field, ids in back.items():
            j.mark_undone(plan_id, ids, field)
    return ApplyResult(plan_id, "undo", _ordered(results, targets), sent=sent)


def _judge_undo(
    t: Target, current: Any, last: dict[tuple[str, str, str], str], on_conflict: OnConflict, found: list[Reconciled]
) -> tuple[dict[str, Any] | None, Any]:
    """As :func:`_judge_apply`, for an undo write (its ``value`` is the value from before the plan)."""
    state = _crm_state(current, t)  # "new" here: back at the value from before the plan
    apply_word = last.get(("apply", t.id, t.field))
    if state == "old" and apply_word not in (None, "success"):
        found.append(Reconciled(t.id, t.field, apply_word, "new", "applied"))
    if state == "new" and t.journal_status in ("pending", "unknown", "error"):
        found.append(Reconciled(t.id, t.field, t.journal_status, "old", "restored"))
    if state == "old" and t.journal_status in ("pending", "unknown"):
        found.append(Reconciled(t.id, t.field, t.journal_status, "new", "not_restored"))
    if state == "new":
        return row(t, current, "skipped", "ALREADY_AT_OLD_VALUE", "the CRM holds the value from before the plan"), None
    if state == "missing":
        return row(t, None, "skipped", "RECORD_GONE", "the record no longer exists in the CRM"), None
    if state == "other" and on_conflict == "skip":
        return (
            row(
                t,
                current,
                "skipped",
                "CHANGED_SINCE_APPLY",
                f"the CRM now holds {current!r}, not the applied {t.expect!r}",
            ),
            None,
        )
    return None, current


def _ordered(results: list[dict[str, Any]], targets: list[Target]) -> Any:
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
