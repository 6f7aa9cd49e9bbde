"""Plans between tool calls, and the one adapter over ``sergas_nb.edits.plans``.

Every call into sergas_nb.edits.plans is in ``build``, ``apply`` and ``undo`` below, so a change of
its API (multi-field plans are coming) is adapted here and nowhere else. Plans made by plan_edit
live in the server's memory (``PlanStore``) until applied; undo needs only the journal, so it
works after a restart.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sergas_nb.assistant import ToolInputError, render
from sergas_nb.client import ZohoClient

KEPT_PLANS = 50
DIFF_SAMPLE = 20


@dataclass
class PlanStore:
    """Plans made by plan_edit, by id, until the server stops (the most recent KEPT_PLANS)."""

    plans: OrderedDict[str, Any] = field(default_factory=OrderedDict)

    def put(self, plan: Any) -> None:
        self.plans[plan.plan_id] = plan
        self.plans.move_to_end(plan.plan_id)
        while len(self.plans) > KEPT_PLANS:
            self.plans.popitem(last=False)

    def get(self, plan_id: str) -> Any:
        plan = self.plans.get(plan_id)
        if plan is None:
            raise ToolInputError(
                f"plan_id: no plan {plan_id!r} in this server (plans live in its memory until it stops;"
                " make it again with plan_edit)"
            )
        return plan


def build(crm: ZohoClient, module: str, selected: pd.DataFrame, changes: dict[str, Any], selection: str) -> Any:
    from sergas_nb.edits import checks
    from sergas_nb.edits.plans import EditPlan

    if not changes:
        raise ToolInputError("changes: name at least one field and its new value")
    if len(changes) == 1:
        ((name, value),) = changes.items()
        plan = EditPlan.from_frame(selected, name, value, module=module, fields=crm.fields(module), selection=selection)
    else:
        # Several fields: the selection as an edited frame (ids x changed columns; lookups by X.id),
        # its old values taken from the frame just read rather than read again.
        meta = checks.field_map(crm.fields(module))
        columns = {
            (f"{name}.id" if meta.get(name, {}).get("data_type") in checks.LOOKUP_TYPES else name): value
            for name, value in changes.items()
        }
        edited = pd.DataFrame(
            {
                "id": selected["id"].astype(str),
                **{c: pd.Series([v] * len(selected), dtype=object) for c, v in columns.items()},
            }
        )
        plan = EditPlan.from_edits(crm, edited, module=module, original=selected, selection=selection)
    return plan.validate(crm)  # every new value checked against the metadata now, not at apply


def apply(crm: ZohoClient, plan: Any, journal: Any) -> Any:
    # the method, not plans.apply: its signature is the one that stays put while the module changes
    return plan.apply(crm, journal=journal, progress=False)


def undo(crm: ZohoClient, plan_id: str, journal: Any) -> Any:
    from sergas_nb.edits.plans import undo as undo_plan

    return undo_plan(plan_id, crm, journal=journal, progress=False)


def fields_of(changes: dict[str, Any]) -> list[str]:
    return list(changes)


def outcomes(result: Any) -> dict[str, Any]:
    records = result.records
    failures = records[records["status"] == "error"]
    others = records[records["status"] != "error"]
    shown = pd.concat([failures.head(render.MAX_ROWS), others.head(DIFF_SAMPLE)])
    rows, cut = render.fit_rows(render.frame_rows(shown))
    out = {k: render.json_value(v) for k, v in result.summary().items()}
    out["records"] = rows
    left = len(records) - len(rows)
    if left:
        out["records_left_out"] = f"{left} more record outcome(s) are in the journal (list_plans, a notebook)"
    return out
